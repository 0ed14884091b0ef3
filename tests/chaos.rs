//! Chaos: kill -9 a running sweep at random moments, resume it each time, and check that
//! nothing was lost or redone: finished jobs are never rewritten, every kill loses at most the
//! epoch in progress (jobs resume from their last checkpoint), and the final logs equal an
//! uninterrupted sweep's. `make chaos` runs it with 20 kills (WEIGHTLAB_CHAOS_KILLS=20); the
//! test suite with 4.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::*;
use weightlab::files::TMP_SUFFIX;
use weightlab::report::diff::diff;
use weightlab::rng::Rng;
use weightlab::runlog::read_frame;
use weightlab::train::Checkpoint;

/// Per job, the steps trained in an attempt and the last of them, from the attempt's trace
/// (`step` lines of the tracing sink).
fn last_steps(log: &str) -> BTreeMap<String, (usize, usize)> {
    let mut last = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains(" step run_id=")) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        if let (Some(id), Some(step)) = (field("run_id="), field("step=")) {
            let step: usize = step.parse().unwrap_or(0);
            let e = last.entry(id).or_insert((0, 0));
            *e = (e.0 + 1, step.max(e.1));
        }
    }
    last
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn done_jobs(sweep: &Path) -> Vec<PathBuf> {
    if !sweep.exists() {
        return Vec::new();
    }
    job_dirs(sweep)
        .into_iter()
        .filter(|d| {
            std::fs::read_to_string(d.join("status.json"))
                .unwrap_or_default()
                .contains("\"done\"")
        })
        .collect()
}

type Snapshot = Vec<(PathBuf, Vec<u8>, SystemTime)>;

fn snapshot(dir: &Path) -> Snapshot {
    files(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, bytes, mtime)
        })
        .collect()
}

#[test]
fn killed_at_random_moments_the_sweep_loses_and_redoes_nothing() {
    let kills: usize = std::env::var("WEIGHTLAB_CHAOS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let tmp = tempfile::tempdir().unwrap();
    let strategies = "  - static: { w1: [0.0, 0.25, 0.5, 0.75, 1.0] }\n  - yin: {}\n  - l3: {}\n  - l3: { normalize_logits: true }";
    let exp = write(
        tmp.path(),
        "chaos.yaml",
        &tiny_yaml("chaos", strategies, "").replace("epochs: 2", "epochs: 6"),
    );
    let exp = exp.to_str().unwrap();

    // The uninterrupted reference, timed: kills land within the time the remaining work takes.
    let started = std::time::Instant::now();
    let reference = run(
        tmp.path(),
        &["sweep", "run", exp, "--out", "ref", "--jobs", "2"],
    );
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let total = job_dirs(&tmp.path().join("ref")).len();
    let reference_s = started.elapsed().as_secs_f64();

    let sweep = tmp.path().join("chaos");
    let mut rng = Rng::new(2026);
    let mut finished: BTreeMap<PathBuf, Snapshot> = BTreeMap::new();
    let (mut parquet_checked, mut killed_running) = (0usize, 0usize);
    // Steps per epoch of the tiny experiment: 5 training subjects × 4 expressions × 2 images in
    // batches of 16.
    let per_epoch = 40usize.div_ceil(16);
    let (mut trained, mut worst_loss) = (0usize, 0usize);
    for k in 0..kills {
        let log_path = tmp.path().join(format!("attempt-{k}.log"));
        let mut child = Command::new(bin())
            .args(["sweep", "run", exp, "--out", "chaos", "--jobs", "2"])
            .current_dir(tmp.path())
            .env("RUST_LOG", "weightlab=trace")
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let remaining = (total - done_jobs(&sweep).len()).max(1) as f64 / total as f64;
        std::thread::sleep(Duration::from_secs_f64(
            reference_s * remaining * rng.range(0.05, 0.95),
        ));
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();

        // What the kill cost: the steps a job trained past its last checkpoint.
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        for (run_id, (_, last)) in last_steps(&log) {
            let job = sweep.join(&run_id);
            let done = std::fs::read_to_string(job.join("status.json"))
                .unwrap_or_default()
                .contains("\"done\"");
            let kept = if done {
                last
            } else {
                Checkpoint::read_header(&job.join("checkpoint.bin")).map_or(0, |h| h.step)
            };
            let lost = last.saturating_sub(kept);
            assert!(
                lost <= per_epoch,
                "kill {k}: {run_id} lost {lost} steps, more than the epoch in progress ({per_epoch})"
            );
            worst_loss = worst_loss.max(lost);
        }
        trained += last_steps(&log).values().map(|v| v.0).sum::<usize>();

        // Every parquet file on disk is complete and readable.
        for f in files(&sweep)
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
        {
            read_frame(f).unwrap_or_else(|e| panic!("kill {k}: {e}"));
            parquet_checked += 1;
        }
        // A job seen done is never rewritten.
        for (dir, snap) in &finished {
            assert_eq!(
                &snapshot(dir),
                snap,
                "kill {k}: finished job {} was rewritten",
                dir.display()
            );
        }
        for dir in done_jobs(&sweep) {
            finished
                .entry(dir.clone())
                .or_insert_with(|| snapshot(&dir));
        }
    }
    let last = Command::new(bin())
        .args(["sweep", "run", exp, "--out", "chaos", "--jobs", "2"])
        .current_dir(tmp.path())
        .env("RUST_LOG", "weightlab=trace")
        .output()
        .unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    trained += last_steps(&String::from_utf8_lossy(&last.stderr))
        .values()
        .map(|v| v.0)
        .sum::<usize>();
    for (dir, snap) in &finished {
        assert_eq!(
            &snapshot(dir),
            snap,
            "finished job {} was rewritten by the last resume",
            dir.display()
        );
    }
    assert_eq!(done_jobs(&sweep).len(), total);
    let temporaries = files(&sweep)
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(TMP_SUFFIX))
        .count();
    assert_eq!(temporaries, 0, "temporary files left over");
    let d = diff(&tmp.path().join("ref"), &sweep).unwrap();
    let worst = d.columns.iter().map(|c| c.max_abs).fold(0.0, f64::max);
    assert!(d.within(0.0), "{}", d.render(0.0));
    for dir in job_dirs(&sweep) {
        let twin = tmp.path().join("ref").join(dir.file_name().unwrap());
        assert_eq!(
            std::fs::read(dir.join("steps.parquet")).unwrap(),
            std::fs::read(twin.join("steps.parquet")).unwrap()
        );
    }
    // Steps trained over all attempts, against the sweep's own: what the kills cost.
    let needed = total * 6 * per_epoch;
    let recomputed = trained.saturating_sub(needed);
    // The setup took effect: kills hit a running sweep, files were there to check, and every
    // step was trained at least once (the trace saw it).
    assert!(killed_running > 0, "no kill hit a running sweep");
    assert!(
        parquet_checked > 0,
        "no parquet file was checked after a kill"
    );
    assert!(
        trained >= needed,
        "the trace shows {trained} steps trained, fewer than the sweep's {needed}"
    );
    // Each kill costs each of the two running jobs at most the epoch in progress.
    assert!(
        recomputed <= killed_running * 2 * per_epoch,
        "{recomputed} steps trained twice after {killed_running} kills of 2 jobs with {per_epoch}-step epochs"
    );
    println!(
        "chaos: {kills} kills ({killed_running} while running), {total} jobs done exactly once \
         ({} finished before the last resume, none rewritten), {parquet_checked} parquet reads after kills all \
         complete, {temporaries} temporary files left, largest difference to the uninterrupted sweep {worst:e}; \
         recomputed {recomputed} of {needed} steps ({:.1} %), at most {worst_loss} lost by one job at one kill \
         (an epoch is {per_epoch} steps)",
        finished.len(),
        100.0 * recomputed as f64 / needed as f64
    );
}

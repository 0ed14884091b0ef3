//! The sweep runner: resume after a real kill, failure isolation, `--jobs` independence,
//! `--retry-failed`, `--fresh`, `sweep status` and `sweep job`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use weightlab::runlog::read_frame;

fn statuses(sweep: &Path) -> Vec<String> {
    job_dirs(sweep)
        .iter()
        .map(|d| std::fs::read_to_string(d.join("status.json")).unwrap_or_default())
        .collect()
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
    let mut v = Vec::new();
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        let p = f.path();
        v.push((
            p.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read(&p).unwrap(),
            std::fs::metadata(&p).unwrap().modified().unwrap(),
        ));
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn killed_sweep_resumes_without_redoing_finished_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let strategies = "  - static: { w1: [0.0, 0.25, 0.5, 0.75, 1.0] }\n  - l3: {}";
    let exp = write(tmp.path(), "k.yaml", &tiny_yaml("kill", strategies, ""));
    let mut child = Command::new(bin())
        .args([
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--jobs",
            "1",
        ])
        .current_dir(tmp.path())
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sweep = tmp.path().join("r");
    let start = Instant::now();
    loop {
        let done = if sweep.exists() {
            statuses(&sweep)
                .iter()
                .filter(|s| s.contains("\"done\""))
                .count()
        } else {
            0
        };
        if done >= 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "no job finished in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();

    let finished: Vec<_> = job_dirs(&sweep)
        .into_iter()
        .filter(|d| {
            std::fs::read_to_string(d.join("status.json"))
                .unwrap_or_default()
                .contains("\"done\"")
        })
        .map(|d| (d.clone(), snapshot(&d)))
        .collect();
    assert!(
        finished.len() >= 2 && finished.len() < 6,
        "{} finished",
        finished.len()
    );
    assert!(
        sweep.join(".lock").exists(),
        "a killed sweep leaves its lock behind"
    );

    sweep_ok(tmp.path(), &exp, "r", 1);
    assert_eq!(
        statuses(&sweep)
            .iter()
            .filter(|s| s.contains("\"done\""))
            .count(),
        6
    );
    for (dir, before) in finished {
        assert_eq!(snapshot(&dir), before, "{} was rewritten", dir.display());
    }
    assert!(!sweep.join(".lock").exists());
    let status = run(tmp.path(), &["sweep", "status", "r"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("6 jobs — 6 done, 0 failed"), "{text}");
}

#[test]
fn a_failing_job_is_isolated_and_retried_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tiny_yaml("fail", THREE, "");
    let exp = write(tmp.path(), "f.yaml", &text);
    // Make the l3 job's log unwritable: a folder where its epochs.parquet must go (an I/O
    // failure that even root cannot write through).
    let jobs =
        weightlab::config::expand(&weightlab::config::parse(&text, "f.yaml").unwrap()).unwrap();
    let l3 = jobs
        .iter()
        .find(|j| j.strategy.name() == "l3")
        .unwrap()
        .run_id
        .clone();
    let blocker = tmp.path().join("r").join(&l3).join("epochs.parquet");
    std::fs::create_dir_all(blocker.join("occupied")).unwrap();

    let o = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--jobs",
            "2",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("1 failed") && err.contains(&l3), "{err}");
    let st = statuses(&tmp.path().join("r"));
    assert_eq!(st.iter().filter(|s| s.contains("\"done\"")).count(), 2);
    let failed =
        std::fs::read_to_string(tmp.path().join("r").join(&l3).join("status.json")).unwrap();
    assert!(
        failed.contains("\"failed\"") && failed.contains("epochs.parquet"),
        "{failed}"
    );
    let index = read_frame(&tmp.path().join("r/runs.parquet")).unwrap();
    let reasons = index
        .column("reason")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .count();
    assert_eq!(reasons, 1);

    // A plain rerun skips the failed job; --retry-failed reruns it.
    std::fs::remove_dir_all(&blocker).unwrap();
    let again = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "r"],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(!blocker.exists(), "the skipped failed job ran anyway");
    let retry = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--retry-failed",
        ],
    );
    assert_eq!(
        retry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    assert!(blocker.is_file());
}

#[test]
fn jobs_1_and_jobs_2_give_identical_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "j.yaml", &tiny_yaml("par", THREE, ""));
    for (out, jobs) in [("one", 1), ("two", 2)] {
        sweep_ok(tmp.path(), &exp, out, jobs);
    }
    for dir in job_dirs(&tmp.path().join("one")) {
        let twin = tmp.path().join("two").join(dir.file_name().unwrap());
        assert_eq!(
            std::fs::read(dir.join("steps.parquet")).unwrap(),
            std::fs::read(twin.join("steps.parquet")).unwrap()
        );
        let a = read_frame(&dir.join("epochs.parquet"))
            .unwrap()
            .drop("elapsed_s")
            .unwrap();
        let b = read_frame(&twin.join("epochs.parquet"))
            .unwrap()
            .drop("elapsed_s")
            .unwrap();
        assert!(a.equals_missing(&b), "{}", dir.display());
    }
}

#[test]
fn fresh_starts_over_and_sweep_job_runs_one_job() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "s.yaml",
        &tiny_yaml("single", "  - static: { w1: [0.2, 0.8] }", ""),
    );
    let dry = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--dry-run",
        ],
    );
    assert!(dry.status.success());
    // `sweep job` needs a sweep folder: create it by running, then wipe one job and rerun it alone.
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "r"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dirs = job_dirs(&tmp.path().join("r"));
    let steps_before = std::fs::read(dirs[1].join("steps.parquet")).unwrap();
    std::fs::remove_dir_all(&dirs[1]).unwrap();
    let one = run(tmp.path(), &["sweep", "job", "r", "--index", "1"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert_eq!(
        std::fs::read(dirs[1].join("steps.parquet")).unwrap(),
        steps_before
    );
    let bad = run(tmp.path(), &["sweep", "job", "r", "--index", "7"]);
    assert_eq!(bad.status.code(), Some(2));

    std::fs::write(tmp.path().join("r/junk.txt"), "x").unwrap();
    let fresh = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--fresh",
        ],
    );
    assert!(fresh.status.success());
    assert!(!tmp.path().join("r/junk.txt").exists());
    assert_eq!(job_dirs(&tmp.path().join("r")).len(), 2);
}

#[test]
fn a_live_sweep_refuses_a_second_one() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "l.yaml",
        &tiny_yaml("lock", "  - static: { w1: [0.5] }", ""),
    );
    std::fs::create_dir_all(tmp.path().join("r")).unwrap();
    std::fs::write(
        tmp.path().join("r/.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "r"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another sweep") && err.contains(&std::process::id().to_string()),
        "{err}"
    );
}

/// Hydra-style overrides: they change the jobs, go into the folder's copy of the experiment
/// (so that the folder alone says what ran and `sweep status` reads it), and a rerun with the
/// same overrides redoes nothing. Off a terminal, stderr is plain text without colour codes.
#[test]
fn overrides_change_the_jobs_and_are_kept_in_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "o.yaml", &tiny_yaml("ovr", THREE, ""));
    let args = [
        "sweep",
        "run",
        exp.to_str().unwrap(),
        "train.epochs=1",
        "seeds=[1,2]",
        "strategies=[{static: {w1: [0.3]}}]",
        "--out",
        "r",
    ];
    let dry = run(tmp.path(), &[&args[..], &["--dry-run"]].concat());
    let table = String::from_utf8(dry.stdout).unwrap();
    assert!(table.contains("overrides: train.epochs=1"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.contains("static-w0.3")).count(),
        2,
        "{table}"
    );
    assert!(!tmp.path().join("r").exists(), "--dry-run wrote the folder");

    let first = run(tmp.path(), &args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let dirs = job_dirs(&tmp.path().join("r"));
    assert_eq!(dirs.len(), 2);
    for d in &dirs {
        let epochs = read_frame(&d.join("epochs.parquet")).unwrap();
        assert_eq!(epochs.height(), 1, "train.epochs=1 not applied");
    }
    let kept = std::fs::read_to_string(tmp.path().join("r/experiment.yaml")).unwrap();
    assert!(
        kept.starts_with("# ") && kept.contains("train.epochs=1"),
        "{kept}"
    );
    let exp_kept = weightlab::config::parse(&kept, "kept").unwrap();
    assert_eq!(
        (exp_kept.train.epochs, exp_kept.seeds.clone()),
        (1, vec![1, 2])
    );
    let status = run(tmp.path(), &["sweep", "status", "r"]);
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(status.contains("2 jobs — 2 done"), "{status}");

    let before = snapshot(&dirs[0]);
    let again = Command::new(bin())
        .args(args)
        .current_dir(tmp.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(snapshot(&dirs[0]), before, "a finished job was redone");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("sweep started"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a non-terminal stderr: {err:?}"
    );
}

/// The library as a user drives it: `Sweep::run` with only a display sink still keeps the run
/// index, and a stop signal is a value the caller raises (here from a sink, at the first
/// finished epoch): the running job stops at a checkpoint and is left pending, no other starts,
/// and running the sweep again finishes it.
#[test]
fn the_library_keeps_the_index_and_stops_on_a_raised_signal() {
    use weightlab::runlog::JobState;
    use weightlab::sweep::sinks::TracingSink;
    use weightlab::sweep::{EventSink, RunOptions, StopSignal, Sweep, SweepEvent};

    struct StopAtFirstEpoch(StopSignal, usize);
    impl EventSink for StopAtFirstEpoch {
        fn event(&mut self, event: &SweepEvent) {
            if let SweepEvent::EpochFinished { .. } = event {
                self.1 += 1;
                self.0.raise();
            }
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let yaml = tiny_yaml("lib", "  - static: { w1: [0.2, 0.5, 0.8] }", "")
        .replace("epochs: 2", "epochs: 3");
    let exp = write(tmp.path(), "lib.yaml", &yaml);
    let sweep = Sweep::load(&exp, Some(tmp.path().join("lib"))).unwrap();
    let stop = StopSignal::default();
    let opts = RunOptions {
        jobs: Some(1),
        stop: stop.clone(),
        ..RunOptions::default()
    };
    let mut stopper = StopAtFirstEpoch(stop.clone(), 0);
    let outcome = sweep.run(&opts, &mut [&mut stopper]).unwrap();
    assert!(stop.raised() && stopper.1 >= 1);
    assert_eq!((outcome.done, outcome.interrupted), (0, 1), "{outcome:?}");
    let plan = sweep.plan().unwrap();
    assert!(
        plan.iter().all(|p| p.state == JobState::Pending),
        "{plan:?}"
    );
    let stopped = plan
        .iter()
        .find_map(|p| p.progress(&sweep.dir))
        .expect("the stopped job's checkpoint");
    assert_eq!(stopped.epochs_total, 3);
    // The index was written without an index sink from the caller.
    let index = read_frame(&tmp.path().join("lib/runs.parquet")).unwrap();
    assert_eq!(index.height(), 3);
    // A fresh signal: the sweep finishes, resuming the stopped job.
    let opts = RunOptions {
        jobs: Some(1),
        ..RunOptions::default()
    };
    let outcome = sweep
        .run(&opts, &mut [&mut TracingSink::default()])
        .unwrap();
    assert_eq!(outcome.done, 3);
    let index = read_frame(&tmp.path().join("lib/runs.parquet")).unwrap();
    let status = index.column("status").unwrap().str().unwrap();
    assert!(status.iter().all(|s| s == Some("done")));
}

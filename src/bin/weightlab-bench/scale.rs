//! A study folder of thousands of finished tiny jobs, and the commands a researcher runs on
//! it: `sweep status`, `report compare`, `report plot`, and a `sweep run` that finds nothing to
//! do. The folders are built without training: the library's own writers fill every job folder
//! (run.yaml, epoch and step logs, pairs, a `done` status) and the run index, as a sweep would.
//! Each command runs in its own process; its wall time and peak memory (from `wait4`) are
//! taken at every size, so the growth with the job count shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use weightlab::metrics::{EpochMetrics, StepMetrics};
use weightlab::rng::Rng;
use weightlab::runlog::{EpochRow, JobState, RunRecord, Status, StepRow};
use weightlab::sweep::{sinks, Sweep};

/// The job counts measured by default.
pub(crate) const SIZES: [usize; 3] = [500, 1_000, 5_000];

/// Runs of each command per size (the median wall time and the largest peak are kept).
const RUNS: usize = 3;

/// The experiment of `jobs` jobs: the static grid 0.1 … 1.0 on `jobs / 10` seeds, tiny faces.
fn experiment(name: &str, jobs: usize) -> String {
    let seeds: Vec<String> = (1..=jobs.div_ceil(10)).map(|s| s.to_string()).collect();
    format!(
        "name: {name}
seeds: [{}]
datasets:
  - name: synth
    synthetic: {{ identities: 8, test_identities: 3, val_identities: 2, expressions: 4, images_per_cell: 2, image_size: 16, seed: 7 }}
model: {{ preset: small, embedding_dim: 16, z_dim: 32, expression_dim: 8 }}
train: {{ epochs: 3, batch_size: 16, lr: 0.002, threads: 1 }}
strategies:
  - static: {{ w1: {{ from: 0.1, to: 1.0, step: 0.1 }} }}
log: {{ every_steps: 1 }}
",
        seeds.join(", ")
    )
}

/// Fill `dir` with the finished jobs of the experiment at `yaml`: three epochs each, whose
/// accuracies depend on w1 and the seed (so that the reports have effects and spread), three
/// steps per epoch, a `done` status; then the run index.
fn build(yaml: &Path, dir: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let sweep = Sweep::load(yaml, Some(dir.to_path_buf()))?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("experiment.yaml"), &sweep.text)?;
    for job in &sweep.jobs {
        let w1 = job.strategy.static_w1().unwrap_or(0.5);
        let mut rng = Rng::derive(job.seed, (w1 * 10.0).round() as u64);
        let mut noise = || 0.01 * rng.normal();
        let mut steps = Vec::new();
        let epochs: Vec<EpochRow> = (1..=3)
            .map(|epoch| {
                let m = StepMetrics::new(
                    epoch,
                    epoch * 3,
                    vec![w1, 1.0 - w1],
                    vec![1.0 / epoch as f64, 0.5 / epoch as f64],
                    0.75 / epoch as f64,
                    None,
                );
                for k in 0..3 {
                    steps.push(StepRow::new(
                        &job.run_id,
                        &StepMetrics {
                            step: (epoch - 1) * 3 + k + 1,
                            ..m.clone()
                        },
                    ));
                }
                let (fv, ex) = (0.7 + 0.1 * w1 + noise(), 0.9 - 0.2 * w1 + noise());
                let e = EpochMetrics {
                    epoch,
                    raw_w: m.raw_w.clone(),
                    w: m.w.clone(),
                    loss: m.loss.clone(),
                    loss_total: m.loss_total,
                    loss_l3: None,
                    test: vec![fv, ex],
                    elapsed_s: epoch as f64,
                    val: Some(vec![fv + noise(), ex + noise()]),
                };
                EpochRow::new(job, &e)
            })
            .collect();
        let jd = sweep.dir.job(&job.run_id);
        jd.ensure_record(&RunRecord::of(job))?;
        jd.write_logs(&job.tasks, &epochs, &steps, Some(&[]))?;
        jd.write_status(&Status {
            state: JobState::Done,
            reason: None,
            config_hash: job.config_hash.clone(),
            wall_s: Some(3.0),
        })?;
    }
    sinks::rebuild_index(&sweep);
    Ok(sweep.jobs.len())
}

/// Wall seconds and peak resident memory (MB) of `weightlab args…`, which must succeed.
fn measure(weightlab: &Path, args: &[&str]) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let child = Command::new(weightlab)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // SAFETY: `rusage` is plain integers, for which all zeros is a valid value.
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: `child` is this process's own unwaited child; `status` and `usage` are valid for
    // writes. `Child` is not waited on again (dropping it does not wait).
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("weightlab {} failed (status {status})", args.join(" ")).into());
    }
    Ok((wall, usage.ru_maxrss as f64 / 1024.0))
}

/// Build a folder of each size in `sizes`, time the commands on it, and say how each grows
/// (the exponent b of time ∝ jobs^b between the smallest and the largest size). The folders
/// are removed afterwards unless `keep` names where they go.
pub(crate) fn scale(
    me: &Path,
    sizes: &[usize],
    keep: Option<&Path>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let weightlab = me.with_file_name("weightlab");
    let tmp = keep.map_or_else(
        || std::env::temp_dir().join(format!("weightlab-bench-scale-{}", std::process::id())),
        Path::to_path_buf,
    );
    std::fs::create_dir_all(&tmp)?;
    let mut rows = Vec::new();
    for &n in sizes {
        let name = format!("scale{n}");
        let yaml = tmp.join(format!("{name}.yaml"));
        std::fs::write(&yaml, experiment(&name, n))?;
        let dir = tmp.join(&name);
        let started = Instant::now();
        let jobs = build(&yaml, &dir)?;
        let build_s = started.elapsed().as_secs_f64();
        eprintln!("scale: {jobs} finished jobs written in {build_s:.1} s");
        let (d, y, plots) = (
            path(&dir),
            path(&yaml),
            path(&tmp.join(format!("{name}-plots"))),
        );
        let commands: [(&str, Vec<&str>); 4] = [
            ("sweep status", vec!["sweep", "status", &d]),
            ("report compare", vec!["report", "compare", &d]),
            ("report plot", vec!["report", "plot", &d, "--out", &plots]),
            (
                "sweep run, nothing to do",
                vec!["sweep", "run", &y, "--out", &d],
            ),
        ];
        let mut timed = serde_json::Map::new();
        for (what, args) in commands {
            let mut walls = Vec::new();
            let mut peak: f64 = 0.0;
            for _ in 0..RUNS {
                let (wall, mb) = measure(&weightlab, &args)?;
                walls.push(wall);
                peak = peak.max(mb);
            }
            walls.sort_by(f64::total_cmp);
            let wall = walls[RUNS / 2];
            eprintln!("scale: {jobs} jobs, {what}: {wall:.2} s, {peak:.0} MB");
            timed.insert(
                what.into(),
                json!({ "wall_s": wall, "walls_s": walls, "peak_mb": peak }),
            );
        }
        rows.push(json!({ "jobs": jobs, "build_s": build_s, "commands": timed }));
    }
    if keep.is_none() {
        std::fs::remove_dir_all(&tmp)?;
    }
    let growth: serde_json::Map<String, Value> = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) if rows.len() > 1 => {
            let ratio = b["jobs"].as_f64().unwrap() / a["jobs"].as_f64().unwrap();
            a["commands"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(what, t)| {
                    let (ta, tb) = (
                        t["wall_s"].as_f64().unwrap(),
                        b["commands"][what]["wall_s"].as_f64().unwrap(),
                    );
                    (what.clone(), json!((tb / ta).ln() / ratio.ln()))
                })
                .collect()
        }
        _ => serde_json::Map::new(),
    };
    Ok(json!({
        "what": "a study folder of N finished tiny jobs (static grid of 10 points × N/10 seeds, 3 epochs, 9 steps each): each command in its own process, median wall of 3 runs, largest peak RSS",
        "sizes": rows,
        "growth_exponent": growth,
        "growth_note": "b in wall ∝ jobs^b between the smallest and the largest size; 1 is linear",
    }))
}

fn path(p: &Path) -> String {
    PathBuf::from(p).display().to_string()
}

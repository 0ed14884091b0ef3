//! `make bench`: weightlab's training step side by side with a PyTorch mirror of the same
//! network and step (`bench/peer/step.py`), alternating A B A B over several rounds at 1 and 2
//! threads; one fig2 job end to end split into train step / evaluation / logging / the rest,
//! with its peak memory; a sweep of 1-thread jobs at `--jobs 1` against `--jobs 2`. Figures go
//! to a JSON file; nothing here is a pass/fail test.
//!
//! Each measurement runs in a child process (`weightlab-bench step`, `weightlab-bench job`, the
//! peer, `weightlab sweep run`), so that one cannot warm the caches or the allocator of the next
//! and each reports its own peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::module::Module;
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use weightlab::config::{self, BackendKind, Job};
use weightlab::runlog::{EpochRow, StepRow, Table};
use weightlab::strategy::StrategyPoint;
use weightlab::train::{batch_images, train_job, TrainEvent, EVAL_BATCH};

/// Benchmark weightlab against PyTorch on this machine.
#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Mode>,
    /// Where the figures go (`all`).
    #[arg(long, default_value = "bench/results.json", global = true)]
    out: PathBuf,
    /// Experiment whose first dataset, model and training settings are measured.
    #[arg(long, default_value = "experiments/fig2.yaml", global = true)]
    experiment: PathBuf,
    /// flex or wgpu.
    #[arg(long, default_value = "flex", global = true)]
    device: String,
}

#[derive(Subcommand)]
enum Mode {
    /// Everything below, alternating weightlab and the peer; writes `--out`.
    All {
        /// A B rounds per thread count.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The Python with PyTorch for the peer.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Skip the fig2 job and the sweep scaling (the A/B step comparison only).
        #[arg(long)]
        step_only: bool,
    },
    /// Images/s of the training step (small preset, batch 64, Adam, l3); one JSON line.
    Step {
        /// Compute threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 64)]
        steps: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 4)]
        warmup: usize,
        /// Mini-batch size.
        #[arg(long, default_value_t = 64)]
        batch: usize,
    },
    /// Images/s of the forward pass that evaluation runs (the test split, no autodiff, batches
    /// of 256); one JSON line.
    Forward {
        /// Compute threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed passes over the test split.
        #[arg(long, default_value_t = 10)]
        reps: usize,
    },
    /// One job of the experiment (its first l3 job) end to end; one JSON line.
    Job,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::parse();
    match args.command.take().unwrap_or(Mode::All {
        rounds: 5,
        python: "python3".into(),
        step_only: false,
    }) {
        Mode::Step {
            threads,
            steps,
            warmup,
            batch,
        } => {
            let row = step(
                &args.experiment,
                &args.device,
                threads,
                steps,
                warmup,
                batch,
            )?;
            println!("{row}");
        }
        Mode::Forward { threads, reps } => {
            println!(
                "{}",
                forward(&args.experiment, &args.device, threads, reps)?
            )
        }
        Mode::Job => println!("{}", job(&args.experiment, &args.device)?),
        Mode::All {
            rounds,
            python,
            step_only,
        } => all(&args, rounds, &python, step_only)?,
    }
    Ok(())
}

/// The backend named by `--device` (flex, wgpu, or their aliases cpu, gpu).
fn backend_of(device: &str) -> Result<BackendKind, String> {
    <BackendKind as clap::ValueEnum>::from_str(device, true)
}

/// The experiment's first job, switched to `strategy` (a YAML entry of `strategies:`).
fn first_job(experiment: &Path, strategy: &str) -> Result<Job, Box<dyn std::error::Error>> {
    let exp = config::load(experiment)?;
    let mut job = config::expand(&exp)?
        .into_iter()
        .next()
        .ok_or("experiment has no jobs")?;
    job.strategy = serde_yaml::with::singleton_map_recursive::deserialize::<StrategyPoint, _>(
        serde_yaml::Deserializer::from_str(strategy),
    )?;
    Ok(job)
}

/// Peak resident memory of this process in MB (Linux), from `/proc/self/status`.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The step benchmark: per-step wall times from the training loop's step events, leaving out
/// the warm-up and the first step of every epoch (whose interval holds the previous epoch's
/// evaluation).
fn step(
    experiment: &Path,
    device: &str,
    threads: usize,
    steps: usize,
    warmup: usize,
    batch: usize,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut job = first_job(experiment, "l3: {}")?;
    job.train.batch_size = batch;
    job.train.threads = threads;
    let data = job.dataset.load()?;
    let n = data.1.train.len();
    let per_epoch = n.div_ceil(batch);
    if per_epoch < 2 {
        return Err(
            format!("{n} training images make one batch of {batch}: nothing to time").into(),
        );
    }
    job.train.epochs = (warmup + steps + per_epoch).div_ceil(per_epoch);
    let backend = backend_of(device)?;
    let device = backend.device()?;
    let theta = job
        .model
        .init(
            data.0.image_size,
            data.1.n_train_subjects,
            data.0.expression_names.len(),
            1,
            &device,
        )
        .num_params();
    let psi = job
        .strategy
        .unit_config()
        .init(job.model.z_dim, 2, &device)
        .num_params();

    let (mut timed_s, mut images, mut counted) = (0.0, 0usize, 0usize);
    let mut last = Instant::now();
    let _ = train_job(&job, &data, &device, Default::default(), &mut |e| {
        if let TrainEvent::Step(m) = e {
            let now = Instant::now();
            let in_epoch = (m.step - 1) % per_epoch; // 0-based
            let first_of_epoch = in_epoch == 0;
            if m.step > warmup && !first_of_epoch && counted < steps {
                timed_s += (now - last).as_secs_f64();
                images += batch.min(n - in_epoch * batch);
                counted += 1;
            }
            last = now;
        }
    })?;
    Ok(json!({
        "system": "weightlab",
        "version": env!("CARGO_PKG_VERSION"),
        "device": backend.as_str(),
        "threads": threads,
        "batch_size": batch,
        "params_theta": theta,
        "params_psi": psi,
        "images": images,
        "seconds": timed_s,
        "images_per_s": images as f64 / timed_s,
    }))
}

/// Images/s of evaluation's forward pass: the test split in batches of [`EVAL_BATCH`], no
/// autodiff, results read back.
fn forward(
    experiment: &Path,
    device: &str,
    threads: usize,
    reps: usize,
) -> Result<Value, Box<dyn std::error::Error>> {
    let job = first_job(experiment, "l3: {}")?;
    let (set, split) = job.dataset.load()?;
    let device = backend_of(device)?.device()?;
    let net = job.model.init(
        set.image_size,
        split.n_train_subjects,
        set.expression_names.len(),
        1,
        &device,
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let pass = || {
        for chunk in split.test.chunks(EVAL_BATCH) {
            let out = net.forward(batch_images(&set, chunk, &device));
            // Reading the results back is part of evaluation (and waits for the work).
            let _ = out.embedding.into_data();
            let _ = out.expression_logits.into_data();
        }
    };
    let seconds = pool.install(|| {
        pass();
        let start = Instant::now();
        for _ in 0..reps {
            pass();
        }
        start.elapsed().as_secs_f64()
    });
    let images = split.test.len() * reps;
    Ok(json!({
        "system": "weightlab",
        "threads": threads,
        "batch_size": EVAL_BATCH,
        "images": images,
        "seconds": seconds,
        "images_per_s": images as f64 / seconds,
    }))
}

/// One fig2 job as `sweep run` runs it (data, model, 15 epochs with evaluation, logs), timed in
/// parts.
fn job(experiment: &Path, device: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let job = first_job(experiment, "l3: { lr: 0.1, epsilon: 0.01 }")?;
    let device = backend_of(device)?.device()?;
    let data = job.dataset.load()?;
    let out = train_job(&job, &data, &device, Default::default(), &mut |_| {})?;
    let log_start = Instant::now();
    let tmp = std::env::temp_dir().join(format!("weightlab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let epochs: Vec<EpochRow> = out.epochs.iter().map(|m| EpochRow::new(&job, m)).collect();
    let steps: Vec<StepRow> = out
        .steps
        .iter()
        .map(|m| StepRow::new(&job.run_id, m))
        .collect();
    EpochRow::to_parquet(&tmp.join("epochs.parquet"), &epochs)?;
    StepRow::to_parquet(&tmp.join("steps.parquet"), &steps)?;
    std::fs::remove_dir_all(&tmp)?;
    let log_s = log_start.elapsed().as_secs_f64();
    let wall = started.elapsed().as_secs_f64();
    let rest = wall - out.train_s - out.eval_s - log_s;
    Ok(json!({
        "epochs": job.train.epochs,
        "batch_size": job.train.batch_size,
        "threads": job.train.threads,
        "wall_s": wall,
        "train_step_s": out.train_s,
        "eval_s": out.eval_s,
        "log_s": log_s,
        "rest_s": rest,
        "outside_train_step_fraction": (wall - out.train_s) / wall,
        "peak_rss_mb": peak_rss_mb(),
        "final_fv_acc": out.epochs.last().map(|r| r.fv_acc),
        "final_ex_acc": out.epochs.last().map(|r| r.ex_acc),
    }))
}

/// Run `cmd`, parse the last line of its standard output as JSON.
fn json_of(cmd: &mut Command) -> Result<Value, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        return Err(format!("{cmd:?} failed: {last}"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("{cmd:?} printed no JSON ({e}): {line}"))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

fn all(
    args: &Args,
    rounds: usize,
    python: &str,
    step_only: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let me = std::env::current_exe()?;
    let common = |c: &mut Command| {
        c.arg("--experiment")
            .arg(&args.experiment)
            .arg("--device")
            .arg(&args.device);
    };
    let mut step_rows = Vec::new();
    for threads in [1usize, 2] {
        let (mut ours, mut peer, mut runs, mut peer_error) = (vec![], vec![], vec![], None);
        for round in 1..=rounds {
            // A: weightlab.
            let mut a = Command::new(&me);
            a.arg("step").arg("--threads").arg(threads.to_string());
            common(&mut a);
            let a = json_of(&mut a)?;
            eprintln!("round {round} threads {threads}: {a}");
            ours.push(a["images_per_s"].as_f64().unwrap_or(f64::NAN));
            runs.push(a);
            // B: PyTorch.
            let mut b = Command::new(python);
            b.arg("bench/peer/step.py")
                .arg("--threads")
                .arg(threads.to_string());
            match json_of(&mut b) {
                Ok(b) => {
                    eprintln!("round {round} threads {threads}: {b}");
                    peer.push(b["images_per_s"].as_f64().unwrap_or(f64::NAN));
                    runs.push(b);
                }
                Err(e) => {
                    eprintln!("peer: {e}");
                    peer_error = Some(e);
                }
            }
        }
        let (m_ours, m_peer) = (median(ours), median(peer));
        step_rows.push(json!({
            "threads": threads,
            "weightlab_images_per_s": m_ours,
            "pytorch_images_per_s": m_peer,
            "ratio": m_ours.zip(m_peer).map(|(a, b)| a / b),
            "peer_error": peer_error,
            "runs": runs,
        }));
    }

    // The forward pass of evaluation, 1 thread as in a fig2 job: what evaluation costs per
    // image against what a training step costs.
    let (mut ours, mut peer, mut forward_runs) = (vec![], vec![], vec![]);
    for round in 1..=FORWARD_ROUNDS {
        let mut a = Command::new(&me);
        a.arg("forward");
        common(&mut a);
        let a = json_of(&mut a)?;
        eprintln!("forward round {round}: {a}");
        ours.push(a["images_per_s"].as_f64().unwrap_or(f64::NAN));
        forward_runs.push(a);
        let mut b = Command::new(python);
        b.arg("bench/peer/step.py").arg("--forward");
        if let Ok(b) = json_of(&mut b) {
            eprintln!("forward round {round}: {b}");
            peer.push(b["images_per_s"].as_f64().unwrap_or(f64::NAN));
            forward_runs.push(b);
        }
    }
    let (f_ours, f_peer) = (median(ours), median(peer));
    let per_step = |system: &str, forward: Option<f64>| {
        let step = step_rows[0][format!("{system}_images_per_s")].as_f64();
        forward.zip(step).map(|(f, s)| s / f)
    };
    let forward_row = json!({
        "what": "evaluation's forward pass over the test split, batches of 256, 1 thread; median images/s",
        "weightlab_images_per_s": f_ours,
        "pytorch_images_per_s": f_peer,
        "ratio": f_ours.zip(f_peer).map(|(a, b)| a / b),
        "weightlab_forward_per_step_cost": per_step("weightlab", f_ours),
        "pytorch_forward_per_step_cost": per_step("pytorch", f_peer),
        "runs": forward_runs,
    });

    let (mut fig2_job, mut scaling) = (Value::Null, Value::Null);
    if !step_only {
        let mut j = Command::new(&me);
        j.arg("job");
        common(&mut j);
        fig2_job = json_of(&mut j)?;
        eprintln!("fig2 job: {fig2_job}");
        scaling = sweep_scaling(&me, &args.experiment, SCALING_ROUNDS)?;
        eprintln!("sweep scaling: {scaling}");
    }

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let report = json!({
        "date": chrono_free_date(),
        "machine": {
            "cpu": cpu,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        },
        "device": args.device,
        "experiment": args.experiment,
        "step": {
            "what": "small preset, batch 64, Adam, l3, fig2 image size; median images/s of the rounds",
            "rounds": rounds,
            "by_threads": step_rows,
        },
        "forward": forward_row,
        "fig2_job": fig2_job,
        "sweep_scaling": scaling,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    weightlab::atomic::atomic_write(&args.out, serde_json::to_string_pretty(&report)?.as_bytes())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// A B rounds of the forward-pass comparison.
const FORWARD_ROUNDS: usize = 3;

/// Rounds of the `--jobs 1` / `--jobs 2` pair in [`sweep_scaling`].
const SCALING_ROUNDS: usize = 3;

/// Four 1-thread jobs (the experiment's first dataset and model, 3 epochs each) with
/// `weightlab sweep run --jobs 1` and `--jobs 2`: wall times and the throughput ratio.
fn sweep_scaling(
    me: &Path,
    experiment: &Path,
    rounds: usize,
) -> Result<Value, Box<dyn std::error::Error>> {
    let weightlab = me.with_file_name("weightlab");
    let text = std::fs::read_to_string(experiment)?;
    let mut exp: serde_yaml::Value = serde_yaml::from_str(&text)?;
    exp["name"] = "bench-scaling".into();
    exp["seeds"] = serde_yaml::from_str("[1]")?;
    exp["train"]["epochs"] = 3.into();
    exp["train"]["threads"] = 1.into();
    exp["strategies"] = serde_yaml::from_str("[{static: {w1: [0.2, 0.4, 0.6, 0.8]}}]")?;
    exp["log"] = serde_yaml::from_str("{every_steps: 1}")?;
    let tmp = std::env::temp_dir().join(format!("weightlab-bench-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let yaml = tmp.join("scaling.yaml");
    std::fs::write(&yaml, serde_yaml::to_string(&exp)?)?;
    // Alternating --jobs 1 and --jobs 2 spreads the machine's drift over both; one pair alone
    // moved the ratio by ±0.1 between runs.
    let (mut walls_1, mut walls_2) = (Vec::new(), Vec::new());
    for jobs in std::iter::repeat_n([1, 2], rounds).flatten() {
        let out = tmp.join(format!("jobs{jobs}"));
        let start = Instant::now();
        let status = Command::new(&weightlab)
            .args(["sweep", "run"])
            .arg(&yaml)
            .arg("--out")
            .arg(&out)
            .args(["--jobs", &jobs.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!("{} sweep run failed ({status})", weightlab.display()).into());
        }
        let wall = start.elapsed().as_secs_f64();
        std::fs::remove_dir_all(&out)?;
        eprintln!("sweep scaling --jobs {jobs}: {wall:.2} s");
        if jobs == 1 {
            walls_1.push(wall)
        } else {
            walls_2.push(wall)
        }
    }
    std::fs::remove_dir_all(&tmp)?;
    let (median_1, median_2) = (median(walls_1.clone()), median(walls_2.clone()));
    Ok(json!({
        "jobs": 4,
        "epochs": 3,
        "rounds": rounds,
        "walls_s_jobs_1": walls_1,
        "walls_s_jobs_2": walls_2,
        "wall_s_jobs_1": median_1,
        "wall_s_jobs_2": median_2,
        "throughput_ratio": median_1.zip(median_2).map(|(a, b)| a / b),
    }))
}

/// Today's date (UTC) as YYYY-MM-DD, without a date crate.
fn chrono_free_date() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

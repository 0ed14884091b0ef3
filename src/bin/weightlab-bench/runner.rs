//! The measurements: weightlab's training step, forward pass and one job, each in this process
//! (a child of `all`), and the rounds that run them beside the PyTorch peer and a sweep at two
//! `--jobs` settings, each in a child process.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use burn::module::Module;
use serde_json::{json, Value};
use weightlab::config::{self, BackendKind, Job};
use weightlab::model::NetShape;
use weightlab::runlog::{EpochRow, StepRow};
use weightlab::strategy::StrategyPoint;
use weightlab::train::{batch_images, train_job, Parts, TrainEvent, EVAL_BATCH};

use crate::stats::median;

/// The backend named by `--device` (flex, wgpu, or their aliases cpu, gpu).
pub(crate) fn backend_of(device: &str) -> Result<BackendKind, String> {
    <BackendKind as clap::ValueEnum>::from_str(device, true)
}

/// The experiment's first job, switched to `strategy` (a YAML entry of `strategies:`).
pub(crate) fn first_job(
    experiment: &Path,
    strategy: &str,
) -> Result<Job, Box<dyn std::error::Error>> {
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
pub(crate) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The step benchmark: per-step wall times from the training loop's step events, leaving out
/// the warm-up and the first step of every epoch (whose interval holds the previous epoch's
/// evaluation).
pub(crate) fn step(
    experiment: &Path,
    device: &str,
    preset: Option<&str>,
    [threads, steps, warmup, batch]: [usize; 4],
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut job = first_job(experiment, "l3: {}")?;
    if let Some(preset) = preset {
        job.model.preset = serde_yaml::from_str(preset)?;
    }
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
    let shape = NetShape {
        image_size: data.0.image_size,
        identities: data.1.n_train_subjects,
        expressions: data.0.expression_names.len(),
        pose: None,
    };
    let net = job.model.init(shape, 1, &device);
    let (theta, costs) = (net.num_params(), net.costs(data.0.image_size));
    let psi = job
        .strategy
        .unit_config()
        .init(job.model.z_dim, job.tasks.len(), &device)
        .num_params();

    let (mut timed_s, mut images, mut counted) = (0.0, 0usize, 0usize);
    let mut last = Instant::now();
    let _ = train_job(
        &job,
        &Parts::new(),
        &data,
        &device,
        Default::default(),
        &mut |e| {
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
        },
    )?;
    Ok(json!({
        "system": "weightlab",
        "version": env!("CARGO_PKG_VERSION"),
        "device": backend.as_str(),
        "threads": threads,
        "batch_size": batch,
        "preset": job.model.preset,
        "params_theta": theta,
        "params_psi": psi,
        "training_flops_per_image": costs.training_flops(),
        "images": images,
        "seconds": timed_s,
        "images_per_s": images as f64 / timed_s,
    }))
}

/// Images/s of evaluation's forward pass: the test split in batches of [`EVAL_BATCH`] (built
/// once, outside the timing), no autodiff, results read back.
pub(crate) fn forward(
    experiment: &Path,
    device: &str,
    threads: usize,
    reps: usize,
) -> Result<Value, Box<dyn std::error::Error>> {
    let job = first_job(experiment, "l3: {}")?;
    let (set, split) = job.dataset.load()?;
    let device = backend_of(device)?.device()?;
    let shape = NetShape {
        image_size: set.image_size,
        identities: split.n_train_subjects,
        expressions: set.expression_names.len(),
        pose: None,
    };
    let net = job.model.init(shape, 1, &device);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    // The batches are built before the clock starts, as the peer's are: the synthetic images
    // are drawn on the fly, which is data loading, not the forward pass.
    let batches: Vec<burn::prelude::Tensor<4>> = split
        .test
        .chunks(EVAL_BATCH)
        .map(|chunk| batch_images(&set, chunk, &device))
        .collect();
    let pass = || {
        for batch in &batches {
            let out = net.forward(batch.clone());
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
        "forward_flops_per_image": net.costs(set.image_size).forward_flops(),
        "threads": threads,
        "batch_size": EVAL_BATCH,
        "images": images,
        "seconds": seconds,
        "images_per_s": images as f64 / seconds,
    }))
}

/// One fig2 job as `sweep run` runs it (data, model, 15 epochs with evaluation, logs), timed in
/// parts.
pub(crate) fn job(experiment: &Path, device: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let job = first_job(experiment, "l3: { lr: 0.1, epsilon: 0.01 }")?;
    let device = backend_of(device)?.device()?;
    let data = job.dataset.load()?;
    let out = train_job(
        &job,
        &Parts::new(),
        &data,
        &device,
        Default::default(),
        &mut |_| {},
    )?;
    let log_start = Instant::now();
    let tmp = std::env::temp_dir().join(format!("weightlab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let epochs: Vec<EpochRow> = out.epochs.iter().map(|m| EpochRow::new(&job, m)).collect();
    let steps: Vec<StepRow> = out
        .steps
        .iter()
        .map(|m| StepRow::new(&job.run_id, m))
        .collect();
    EpochRow::to_parquet(&tmp.join("epochs.parquet"), &epochs, &job.tasks)?;
    StepRow::to_parquet(&tmp.join("steps.parquet"), &steps, &job.tasks)?;
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
        "final_fv_acc": out.epochs.last().map(|r| r.test[0]),
        "final_ex_acc": out.epochs.last().map(|r| r.test[1]),
    }))
}

/// Run `cmd`, parse the last line of its standard output as JSON.
pub(crate) fn json_of(cmd: &mut Command) -> Result<Value, String> {
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

/// The peer's variants, from the plain script to what a user tuning for speed writes.
pub(crate) const PEER_VARIANTS: [&str; 3] = ["plain", "tuned", "compiled"];

/// Rounds of one comparison (the training step or the forward pass at one thread count): each
/// round runs weightlab and every peer variant once, in an order rotated from round to round so
/// that no system always runs first or after the same one. GFLOP/s come from the FLOPs per
/// image that the weightlab side reports under `flops_key`; the fraction of peak is added by
/// [`add_fraction_of_peak`] once the run's peak is known.
pub(crate) fn compare(
    what: &str,
    flops_key: &str,
    rounds: usize,
    threads: usize,
    weightlab: &dyn Fn() -> Result<Value, String>,
    peer: &dyn Fn(&str) -> Result<Value, String>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let systems: Vec<&str> = std::iter::once("weightlab").chain(PEER_VARIANTS).collect();
    let mut speeds: Vec<Vec<f64>> = vec![Vec::new(); systems.len()];
    let (mut runs, mut errors, mut flops) = (Vec::new(), serde_json::Map::new(), None);
    for round in 0..rounds {
        for k in 0..systems.len() {
            let s = (k + round) % systems.len();
            let result = if s == 0 {
                weightlab()
            } else {
                peer(systems[s])
            };
            match result {
                Ok(row) => {
                    eprintln!("{what} threads {threads} round {}: {row}", round + 1);
                    speeds[s].push(row["images_per_s"].as_f64().unwrap_or(f64::NAN));
                    flops = flops.or(row[flops_key].as_f64());
                    runs.push(row);
                }
                // The weightlab side failing is an error; a peer variant that cannot run here
                // (no compiler for torch.compile, say) is recorded and left out.
                Err(e) if s == 0 => return Err(e.into()),
                Err(e) => {
                    eprintln!("peer {}: {e}", systems[s]);
                    errors.insert(systems[s].to_string(), json!(e));
                }
            }
        }
    }
    let flops = flops.unwrap_or(f64::NAN);
    let summary = |v: &[f64]| {
        let median = median(v.to_vec());
        let gflops = median.map(|m| m * flops / 1e9);
        json!({
            "rounds": v.len(),
            "min_images_per_s": v.iter().copied().reduce(f64::min),
            "median_images_per_s": median,
            "max_images_per_s": v.iter().copied().reduce(f64::max),
            "gflops": gflops,
        })
    };
    let by_system: serde_json::Map<String, Value> = systems
        .iter()
        .zip(&speeds)
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, v)| (name.to_string(), summary(v)))
        .collect();
    let fastest = PEER_VARIANTS
        .iter()
        .filter_map(|v| {
            median(speeds[systems.iter().position(|s| s == v)?].clone()).map(|m| (*v, m))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let ours = median(speeds[0].clone());
    Ok(json!({
        "threads": threads,
        "flops_per_image": flops,
        "by_system": by_system,
        "fastest_peer": fastest.map(|f| f.0),
        "ratio_to_fastest_peer": ours.zip(fastest).map(|(a, (_, b))| a / b),
        "peer_errors": errors,
        "runs": runs,
    }))
}

/// Rounds of the `--jobs 1` / `--jobs 2` pair in [`sweep_scaling`].
pub(crate) const SCALING_ROUNDS: usize = 3;

/// Four 1-thread jobs (the experiment's first dataset and model, 3 epochs each) with
/// `weightlab sweep run --jobs 1` and `--jobs 2`: wall times and the throughput ratio.
pub(crate) fn sweep_scaling(
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
    // would carry the drift into the ratio.
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

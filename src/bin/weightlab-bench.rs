//! `make bench`: throughput of the small preset's training step (batch 64, l3, Adam) on the
//! fig2 dataset, seconds per epoch, and the share of time spent outside the train step
//! (evaluation, logging). Figures go to a JSON file; nothing here is a pass/fail test.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use weightlab::config::{self, BackendKind};
use weightlab::runlog::{write_epochs, write_steps};
use weightlab::strategy::StrategyPoint;
use weightlab::train::train_job;

/// Benchmark the training step.
#[derive(Parser)]
struct Args {
    /// Where the figures go.
    #[arg(long, default_value = "bench/results.json")]
    out: PathBuf,
    /// Experiment whose first dataset and model are measured.
    #[arg(long, default_value = "experiments/fig2.yaml")]
    experiment: PathBuf,
    /// Epochs per measurement.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// flex or wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// The strategy measured, as a YAML entry of `strategies:`.
    #[arg(long, default_value = "l3: {}")]
    strategy: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let exp = config::load(&args.experiment)?;
    let backend = BackendKind::parse_flag(&args.device)?;
    let device = backend.device()?;
    let mut job = config::expand(&exp)
        .into_iter()
        .next()
        .ok_or("experiment has no jobs")?;
    job.strategy = serde_yaml::with::singleton_map_recursive::deserialize::<StrategyPoint, _>(
        serde_yaml::Deserializer::from_str(&args.strategy),
    )
    .map_err(|e| format!("--strategy {:?}: {e}", args.strategy))?;
    job.train.batch_size = 64;
    job.train.epochs = args.epochs;
    let data = job.dataset.load()?;
    let images = data.1.train.len() * args.epochs;
    let mut runs = Vec::new();
    for threads in [1usize, 2] {
        job.train.threads = threads;
        let start = Instant::now();
        let out = train_job(&job, &data, &device, &mut |_| {})?;
        let log_start = Instant::now();
        let tmp = std::env::temp_dir().join(format!("weightlab-bench-{}", std::process::id()));
        std::fs::create_dir_all(&tmp)?;
        write_epochs(&tmp.join("epochs.parquet"), &out.epochs)?;
        write_steps(&tmp.join("steps.parquet"), &job.run_id, &out.steps)?;
        std::fs::remove_dir_all(&tmp)?;
        let log_s = log_start.elapsed().as_secs_f64();
        let wall = start.elapsed().as_secs_f64();
        let outside = wall - out.train_s;
        let row = serde_json::json!({
            "threads": threads,
            "images_per_s": images as f64 / out.train_s,
            "seconds_per_epoch": (out.train_s + out.eval_s) / args.epochs as f64,
            "train_s": out.train_s,
            "eval_s": out.eval_s,
            "log_s": log_s,
            "outside_train_step_fraction": outside / wall,
            "final_fv_acc": out.epochs.last().map(|r| r.fv_acc),
            "final_ex_acc": out.epochs.last().map(|r| r.ex_acc),
        });
        eprintln!("{row}");
        runs.push(row);
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let report = serde_json::json!({
        "date": chrono_free_date(),
        "machine": { "cpu": cpu, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) },
        "device": backend.as_str(),
        "preset": format!("{:?}", job.model.preset).to_lowercase(),
        "image_size": data.0.image_size,
        "batch_size": 64,
        "train_images_per_epoch": data.1.train.len(),
        "epochs": args.epochs,
        "runs": runs,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    weightlab::runlog::atomic_write(&args.out, serde_json::to_string_pretty(&report)?.as_bytes())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
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

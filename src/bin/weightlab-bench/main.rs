//! `make bench`: weightlab's training step and evaluation forward pass side by side with a
//! PyTorch mirror of the same network and step (`bench/peer/step.py`) at 1 and 2 threads; one
//! fig2 job end to end split into train step / evaluation / logging / the rest, with its peak
//! memory; a sweep of 1-thread jobs at `--jobs 1` against `--jobs 2`. Figures go to a JSON
//! file; nothing here is a pass/fail test.
//!
//! The step and the forward pass are compared with every variant of the peer (`plain`,
//! `tuned`, `compiled`: see the script) in rounds that run all of them, and weightlab's ratio
//! is taken against the fastest variant. Achieved GFLOP/s come from the network's layer
//! shapes ([`weightlab::model::Costs`]) and the fraction of peak from [`peak::measure`].
//!
//! Each measurement runs in a child process (`weightlab-bench step`, `weightlab-bench job`, the
//! peer, `weightlab sweep run`), so that one cannot warm the caches or the allocator of the next
//! and each reports its own peak memory.

mod cli;
mod peak;
mod report;
mod runner;
mod scale;
mod stats;

use clap::Parser;

use cli::{Args, Mode};
use runner::{forward, job, step};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::parse();
    match args.command.take().unwrap_or(Mode::All {
        rounds: 10,
        python: "python3".into(),
        step_only: false,
    }) {
        Mode::Step {
            threads,
            steps,
            warmup,
            batch,
            preset,
        } => {
            let row = step(
                &args.experiment,
                &args.device,
                preset.as_deref(),
                [threads, steps, warmup, batch],
            )?;
            println!("{row}");
        }
        Mode::Peak => println!("{}", peak::measure()),
        Mode::Scale { sizes, keep } => {
            let me = std::env::current_exe()?;
            let mut figures = scale::scale(&me, &sizes, keep.as_deref())?;
            figures["machine"] = serde_json::json!({
                "cpu": report::cpu_model(),
                "simd_flags": peak::simd_flags(),
                "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            });
            let text = serde_json::to_string_pretty(&figures)?;
            std::fs::write(&args.out, text + "\n")?;
            eprintln!("wrote {}", args.out.display());
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
        } => report::all(&args, rounds, &python, step_only)?,
    }
    Ok(())
}

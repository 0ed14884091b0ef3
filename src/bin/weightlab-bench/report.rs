//! `all`: every comparison in turn, the peak sampled around them, and `bench/results.json`.

use std::process::Command;

use serde_json::{json, Value};

use crate::cli::Args;
use crate::peak;
use crate::runner::{compare, json_of, sweep_scaling, SCALING_ROUNDS};
use crate::stats::{add_fraction_of_peak, best_peak, peak_gflops};

pub(crate) fn all(
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
    // The peak is sampled before and after every comparison and the best sample kept: on a
    // shared machine a sample taken while another tenant loads the core reads low, and a low
    // peak would put a measurement above 100 % of it.
    let mut peak_samples = Vec::new();
    let mut sample_peak = || -> Result<(), String> {
        let sample = json_of(Command::new(&me).arg("peak"))?;
        eprintln!("peak: {sample}");
        peak_samples.push(sample);
        Ok(())
    };
    sample_peak()?;

    // weightlab-bench's subcommand, the peer's flag for the same measurement, and the key of
    // the FLOPs per image in weightlab's row.
    let modes = [
        ("step", None, "training_flops_per_image"),
        ("forward", Some("--forward"), "forward_flops_per_image"),
    ];
    let (mut step_rows, mut forward_rows) = (Vec::new(), Vec::new());
    for threads in [1usize, 2] {
        let t = threads.to_string();
        for (what, peer_flag, flops_key) in modes {
            let ours = || {
                let mut a = Command::new(&me);
                a.args([what, "--threads", &t]);
                common(&mut a);
                json_of(&mut a)
            };
            let peer = |variant: &str| {
                let mut b = Command::new(python);
                b.arg("bench/peer/step.py").args(peer_flag).args([
                    "--threads",
                    &t,
                    "--variant",
                    variant,
                ]);
                if !cfg!(feature = "avx512") {
                    // The peer held to AVX2 as well: ATen's kernels, inductor's generated
                    // code and oneDNN's.
                    b.env("ATEN_CPU_CAPABILITY", "avx2")
                        .env("ONEDNN_MAX_CPU_ISA", "AVX2");
                }
                json_of(&mut b)
            };
            let row = compare(what, flops_key, rounds, threads, &ours, &peer)?;
            sample_peak()?;
            if what == "step" {
                step_rows.push(row);
            } else {
                forward_rows.push(row);
            }
        }
    }

    let peak = best_peak(&peak_samples);
    for row in step_rows.iter_mut().chain(&mut forward_rows) {
        add_fraction_of_peak(row, peak_gflops(&peak));
    }

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

    let cpu = cpu_model();
    let report = json!({
        "date": utc_date(),
        "machine": {
            "cpu": cpu,
            "simd_flags": peak::simd_flags(),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "peak": peak,
        },
        "code_paths": if cfg!(feature = "avx512") {
            "the widest the CPU has, in both systems"
        } else {
            "AVX2: weightlab built without its avx512 feature, the peer run with ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2"
        },
        "device": args.device,
        "experiment": args.experiment,
        "step": {
            "what": "training step, small preset, batch 64, Adam, l3, fig2 image size; images/s over the rounds; ratio = weightlab's median / the fastest peer variant's median",
            "by_threads": step_rows,
        },
        "forward": {
            "what": "evaluation's forward pass over the test split, batches of 256; images/s over the rounds; ratio as for the step",
            "by_threads": forward_rows,
        },
        "fig2_job": fig2_job,
        "sweep_scaling": scaling,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    weightlab::files::atomic_write(&args.out, serde_json::to_string_pretty(&report)?.as_bytes())?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// Today's date (UTC) as YYYY-MM-DD: the one date the bench records, not worth a date crate.
pub(crate) fn utc_date() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    date_of_days(days)
}

/// The date `days` days after 1970-01-01, as YYYY-MM-DD (civil-from-days, Howard Hinnant's
/// algorithm).
fn date_of_days(days: i64) -> String {
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

/// The CPU's model name from `/proc/cpuinfo` (empty where there is none).
pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_read_as_dates() {
        assert_eq!(date_of_days(0), "1970-01-01");
        assert_eq!(date_of_days(59), "1970-03-01");
        // 2000 was a leap year (divisible by 400), 2100 will not be.
        assert_eq!(date_of_days(11_016), "2000-02-29");
        assert_eq!(date_of_days(20_793), "2026-12-06");
        assert_eq!(date_of_days(47_541), "2100-03-01");
    }
}

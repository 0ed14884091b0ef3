//! The LibMTL strategies end to end: each runs in a sweep, logs normalised and raw weights, and
//! the logged numbers obey the strategy's definition (DWA's weights recomputed from the logged
//! epoch losses, GradNorm's summing to T, equal matching static 0.5).

mod common;

use std::path::{Path, PathBuf};

use common::{job_dirs, run, sweep_ok, tiny_yaml, write};
use weightlab::runlog::{EpochRow, StepRow};
use weightlab::task::Tasks;

const STRATEGIES: &str = "  - static: { w1: [0.5] }
  - equal: {}
  - uncertainty: {}
  - dwa: { temp: 2.0 }
  - gradnorm: { alpha: 1.5, lr: 0.01 }
  - rlw: {}
  - gls: {}
  - l3: { flow: official, normalize_z: true }
  - yin: { normalize_z: true }";

/// The run-id prefixes of the sweep's jobs, one per strategy.
const PREFIXES: [&str; 9] = [
    "synth-static-w0.5-",
    "synth-equal-",
    "synth-uncertainty-",
    "synth-dwa-",
    "synth-gradnorm-",
    "synth-rlw-",
    "synth-gls-",
    "synth-l3-",
    "synth-yin-",
];

/// The tiny experiment of the other tests, with 4 epochs so that DWA leaves its equal start.
fn experiment(name: &str) -> String {
    tiny_yaml(name, STRATEGIES, "").replace("epochs: 2,", "epochs: 4,")
}

/// Run the sweep once per test binary and return its folder. It lives in cargo's scratch
/// folder for integration tests, cleared at the start, so that no run leaves a temporary
/// folder behind (a static is never dropped).
fn sweep() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("strategies-sweep");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let exp = write(&root, "s.yaml", &experiment("strategies"));
        sweep_ok(&root, &exp, "out", 2);
        root.join("out")
    })
}

/// The epoch and step rows of the job whose folder name starts with `prefix`.
fn logs(prefix: &str) -> (Vec<EpochRow>, Vec<StepRow>) {
    let dir = job_dirs(sweep())
        .into_iter()
        .find(|d| d.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no job {prefix}*"));
    (
        EpochRow::read(&dir.join("epochs.parquet"), &Tasks::default()).unwrap(),
        StepRow::read(&dir.join("steps.parquet"), &Tasks::default()).unwrap(),
    )
}

#[test]
fn every_strategy_logs_weights_normalised_to_one_and_raw() {
    for prefix in PREFIXES {
        let (epochs, steps) = logs(prefix);
        assert_eq!(epochs.len(), 4, "{prefix}");
        assert_eq!(epochs[0].strategy, prefix.split('-').nth(1).unwrap());
        for s in &steps {
            assert!((s.w[0] + s.w[1] - 1.0).abs() < 1e-9, "{prefix} {s:?}");
            let raw_sum = s.raw_w[0] + s.raw_w[1];
            assert!(
                (s.w[0] - s.raw_w[0] / raw_sum).abs() < 1e-9,
                "{prefix}: w_fv is not the normalised raw weight: {s:?}"
            );
        }
        for e in &epochs {
            assert!(
                e.test[0].is_finite() && e.loss_total.is_finite(),
                "{prefix}"
            );
        }
    }
}

#[test]
fn dwa_weights_are_recomputed_from_the_logged_epoch_losses() {
    let (epochs, steps) = logs("synth-dwa-");
    for e in &epochs[..2] {
        assert!((e.raw_w[0] - 1.0).abs() < 1e-7 && (e.raw_w[1] - 1.0).abs() < 1e-7);
    }
    for t in 2..epochs.len() {
        let r = |i: usize, f: fn(&EpochRow) -> f64| f(&epochs[i]);
        let ratio_fv = r(t - 1, |e| e.loss[0]) / r(t - 2, |e| e.loss[0]) / 2.0;
        let ratio_ex = r(t - 1, |e| e.loss[1]) / r(t - 2, |e| e.loss[1]) / 2.0;
        let expected = 2.0 * ratio_fv.exp() / (ratio_fv.exp() + ratio_ex.exp());
        assert!(
            (epochs[t].raw_w[0] - expected).abs() < 1e-6,
            "epoch {}: logged {} vs recomputed {expected}",
            t + 1,
            epochs[t].raw_w[0]
        );
        // Constant within the epoch.
        let in_epoch: Vec<f64> = steps
            .iter()
            .filter(|s| s.epoch == t as i64 + 1)
            .map(|s| s.raw_w[0])
            .collect();
        assert!(in_epoch.iter().all(|w| (w - expected).abs() < 1e-6));
    }
}

#[test]
fn gradnorm_weights_sum_to_two_and_move() {
    let (_, steps) = logs("synth-gradnorm-");
    for s in &steps {
        assert!((s.raw_w[0] + s.raw_w[1] - 2.0).abs() < 1e-5, "{s:?}");
    }
    assert_eq!(steps[0].raw_w[0], 1.0);
    let last = steps.last().unwrap();
    assert!(
        (last.raw_w[0] - 1.0).abs() > 0.05,
        "gradnorm never moved: {last:?}"
    );
}

#[test]
fn equal_trains_exactly_as_static_one_half() {
    let (eq, eq_steps) = logs("synth-equal-");
    let (st, st_steps) = logs("synth-static-w0.5-");
    assert!(!eq.is_empty());
    assert_eq!(
        eq.len(),
        st.len(),
        "equal and static 0.5 logged different epochs"
    );
    for (a, b) in eq.iter().zip(&st) {
        assert_eq!(
            (a.loss[0], a.loss[1], a.test[0], a.test[1], a.w[0]),
            (b.loss[0], b.loss[1], b.test[0], b.test[1], b.w[0])
        );
    }
    assert_eq!(eq_steps.len(), st_steps.len());
}

#[test]
fn rlw_draws_new_weights_every_step_and_uncertainty_starts_at_kendalls_init() {
    let (_, steps) = logs("synth-rlw-");
    let distinct: std::collections::BTreeSet<u64> =
        steps.iter().map(|s| s.w[0].to_bits()).collect();
    assert_eq!(distinct.len(), steps.len());

    // Kendall's weights start at 1 / (2 e^{−0.5}) for both tasks, then move apart.
    let (_, steps) = logs("synth-uncertainty-");
    let start = 0.5f64.exp() / 2.0;
    assert!((steps[0].raw_w[0] - start).abs() < 1e-6, "{:?}", steps[0]);
    assert!((steps[0].raw_w[1] - start).abs() < 1e-6, "{:?}", steps[0]);
    assert!(steps.last().unwrap().raw_w[0] != start);
}

#[test]
fn the_resolved_config_keeps_the_knobs() {
    let (epochs, _) = logs("synth-l3-");
    let dir = sweep().join(&epochs[0].run_id);
    let run_yaml = std::fs::read_to_string(dir.join("run.yaml")).unwrap();
    assert!(run_yaml.contains("flow: official"), "{run_yaml}");
    assert!(run_yaml.contains("normalize_z: true"), "{run_yaml}");
}

#[test]
fn a_study_without_a_static_grid_gets_a_compare_figure_and_no_fig2() {
    let out = sweep().parent().unwrap().join("figs");
    let o = run(
        sweep().parent().unwrap(),
        &["report", "plot", "out", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !out.join("fig2.png").exists(),
        "one static point is no w1 grid"
    );
    for name in ["compare", "weights", "curves"] {
        assert!(out.join(format!("{name}.png")).exists(), "{name}.png");
    }
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    for label in [
        "gradnorm",
        "dwa",
        "uncertainty",
        "rlw",
        "gls",
        "equal (+0.0 %)",
    ] {
        assert!(svg.contains(label), "compare.svg lacks {label}");
    }
}

/// Common random numbers: every strategy of one seed starts from the same parameters and
/// sees the same first batch, so the losses of the first step (before any update) agree to
/// the bit across strategies. Paired comparisons in `report compare` rest on this.
#[test]
fn one_seed_gives_every_strategy_the_same_start_and_batches() {
    let first: Vec<(f64, f64)> = PREFIXES
        .iter()
        .map(|p| {
            let (_, steps) = logs(p);
            (steps[0].loss[0], steps[0].loss[1])
        })
        .collect();
    assert!(
        first.iter().all(|l| *l == first[0]),
        "first-step losses differ across strategies: {first:?}"
    );
}

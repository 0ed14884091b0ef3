//! `examples/own_parts.rs` runs its own trunk, strategy and data source as a sweep: every job
//! finishes, the logs hold what its parts did, an interrupted run resumes to the same logs, a
//! second run finds nothing to do, and the weightlab command reads and reports the folder.

#[path = "../examples/own_parts.rs"]
#[allow(dead_code)]
mod own_parts;

mod common;

use std::path::Path;

use weightlab::runlog::{EpochRow, RunDir};
use weightlab::sweep::{EventSink, RunOptions, Sweep, SweepEvent};

/// Counts the jobs that started, and raises `stop` after `stop_after` finished epochs.
#[derive(Default)]
struct Watch {
    started: usize,
    resumed: usize,
    epochs: usize,
    stop_after: Option<usize>,
    stop: weightlab::sweep::StopSignal,
}

impl EventSink for Watch {
    fn event(&mut self, e: &SweepEvent) {
        match e {
            SweepEvent::JobStarted { resumed_at, .. } => {
                self.started += 1;
                self.resumed += usize::from(resumed_at.is_some());
            }
            SweepEvent::EpochFinished { .. } => {
                self.epochs += 1;
                if self.stop_after == Some(self.epochs) {
                    self.stop.raise();
                }
            }
            _ => {}
        }
    }
}

/// Every job's epoch rows, without the wall-clock column.
fn logs(dir: &Path) -> Vec<(String, Vec<EpochRow>)> {
    let sweep = Sweep::open(dir).unwrap();
    let run_dir = RunDir::new(dir);
    sweep
        .jobs
        .iter()
        .map(|j| {
            let mut rows = run_dir.job(&j.run_id).read_epochs(&j.tasks).unwrap();
            rows.iter_mut().for_each(|r| r.elapsed_s = 0.0);
            (j.run_id.clone(), rows)
        })
        .collect()
}

#[test]
fn own_parts_run_resume_and_report_like_built_in_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let mut watch = Watch::default();
    let outcome = own_parts::run(&whole, &RunOptions::default(), &mut watch).unwrap();
    assert_eq!(
        (outcome.total, outcome.done),
        (9, 9),
        "{:?}",
        outcome.failed
    );
    assert_eq!(watch.started, 9);

    // The logs hold what the parts did: the registered strategy's weights move with the
    // losses and stay inside its floor; the static point's stay at 0.5.
    let runs = logs(&whole);
    assert_eq!(runs.len(), 9);
    for (run_id, rows) in &runs {
        assert_eq!(rows.len(), 6, "{run_id}");
        assert_eq!(rows[0].dataset, "stripes");
        let w: Vec<f64> = rows.iter().map(|r| r.w[0]).collect();
        if run_id.contains("-loss_share-") {
            assert_eq!(rows[0].strategy, "loss_share");
            assert!(
                w.iter().all(|w| (0.2 - 1e-9..=0.8 + 1e-9).contains(w)),
                "{w:?}"
            );
            assert!(w.iter().any(|w| (w - 0.5).abs() > 1e-3), "{run_id}: {w:?}");
        } else if run_id.contains("-static-") {
            assert!(w.iter().all(|w| (w - 0.5).abs() < 1e-12), "{w:?}");
        }
        // The trunk learned the stripes: expression accuracy above chance (0.25).
        assert!(rows.last().unwrap().test[1] > 0.4, "{run_id}: {rows:?}");
    }
    assert!(runs.iter().any(|(id, _)| id.contains("-loss_share-")));

    // A second run finds nothing to do.
    let mut again = Watch::default();
    let outcome = own_parts::run(&whole, &RunOptions::default(), &mut again).unwrap();
    assert_eq!((outcome.done, again.started), (9, 0));

    // Stopped after 5 epochs, then resumed: the same logs as the uninterrupted run.
    let parted = tmp.path().join("parted");
    let mut first = Watch {
        stop_after: Some(5),
        ..Watch::default()
    };
    let opts = RunOptions {
        jobs: Some(1),
        stop: first.stop.clone(),
        ..RunOptions::default()
    };
    let outcome = own_parts::run(&parted, &opts, &mut first).unwrap();
    assert!(outcome.interrupted >= 1 && outcome.done < 9, "{outcome:?}");
    let mut second = Watch::default();
    let outcome = own_parts::run(&parted, &RunOptions::default(), &mut second).unwrap();
    assert_eq!(outcome.done, 9);
    assert!(second.resumed >= 1, "no job resumed from its checkpoint");
    assert_eq!(logs(&parted), runs);

    // The command reads the folder as any other: its status, and a report.
    let out = common::run(tmp.path(), &["sweep", "status", whole.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.matches(" done ").count(), 9, "{text}");
    let out = common::run(tmp.path(), &["report", "compare", whole.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table.contains("| stripes | loss_share floor=0.2 |"),
        "{table}"
    );

    // Without the parts the command refuses to run it, before writing anything.
    let yaml = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/own_parts.yaml");
    let out = common::run(
        tmp.path(),
        &["sweep", "run", yaml.to_str().unwrap(), "--out", "elsewhere"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("own_parts.yaml") && err.contains("not registered"),
        "{err}"
    );
    assert!(!tmp.path().join("elsewhere").exists());

    // Settings the registered builder refuses are bad input naming the field.
    let bad = tmp.path().join("bad.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&bad, text.replace("floor: 0.2", "floor: 0.9")).unwrap();
    let err = Sweep::load_with_parts(&bad, Some(tmp.path().join("b")), &[], own_parts::parts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.yaml"), "{err}");
    assert!(
        err.contains("registered.settings.floor: must be in [0, 0.5] (got 0.9)"),
        "{err}"
    );

    // A strategy defined for two tasks refuses a study of three in one line naming `tasks`.
    let three = text.replace(
        "static: { w1: [0.5] }",
        "static: { points: [[0.4, 0.3, 0.3]] }",
    );
    std::fs::write(&bad, format!("tasks: [fv, ex, pose]\n{three}")).unwrap();
    let err = Sweep::load_with_parts(&bad, Some(tmp.path().join("c")), &[], own_parts::parts())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "tasks: `loss_share` is defined for two tasks only; this study has 3 (fv, ex, pose)"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

//! Golden trajectories: the committed logs of tiny l3 and yin jobs must be reproduced to 1e-6.

mod common;

use std::path::Path;

use common::run;
use weightlab::report::diff::diff;

#[test]
fn golden_trajectories_are_reproduced() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let tmp = tempfile::tempdir().unwrap();
    let yaml = golden.join("golden.yaml");
    let out = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            yaml.to_str().unwrap(),
            "--out",
            "fresh",
            "--jobs",
            "1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = diff(&golden.join("runs"), &tmp.path().join("fresh")).unwrap();
    assert_eq!(
        report
            .columns
            .iter()
            .map(|c| &c.run_id)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    assert!(report
        .columns
        .iter()
        .any(|c| c.file == "steps.parquet" && c.column == "w_fv"));
    assert!(
        report.within(1e-6),
        "the trajectories differ from tests/golden (regenerate with `make golden` only if the change is intended):\n{}",
        report.render(1e-6)
    );
}

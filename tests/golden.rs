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

/// `run.yaml` is typed both ways: the golden folders (written before it was) read back, and a
/// fresh run writes them byte for byte; the record's hash is the hash of its config.
#[test]
fn run_yaml_reads_old_folders_and_writes_the_same_bytes() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let tmp = tempfile::tempdir().unwrap();
    let yaml = golden.join("golden.yaml");
    let exp = weightlab::config::load(&yaml).unwrap();
    let jobs = weightlab::config::expand(&exp).unwrap();
    let golden_runs = weightlab::runlog::RunDir::new(golden.join("runs"));
    let fresh = weightlab::runlog::RunDir::new(tmp.path());
    assert_eq!(golden_runs.job_dirs().unwrap().len(), jobs.len());
    for job in &jobs {
        let old = golden_runs.job(&job.run_id);
        let record = old.read_record().unwrap().expect("a run.yaml");
        assert_eq!(record.run_id, job.run_id);
        assert_eq!(
            weightlab::config::config_hash(&record.job).unwrap(),
            record.config_hash
        );
        let new = fresh.job(&job.run_id);
        new.ensure_record(&weightlab::runlog::RunRecord::of(job))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(new.run_yaml()).unwrap(),
            std::fs::read_to_string(old.run_yaml()).unwrap(),
            "{}",
            job.run_id
        );
    }
}

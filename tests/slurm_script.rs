//! `sweep run --executor slurm --dry-run`: the job-array script, printed without a Slurm and
//! without touching the disk. The real end-to-end run against Slurm daemons is `make
//! slurm-test` (scripts/slurm-test.sh).

mod common;

use common::*;

#[test]
fn dry_run_prints_the_array_script_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "s.yaml", &tiny_yaml("arr", THREE, ""));
    let out = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--executor",
            "slurm",
            "--dry-run",
            "--partition",
            "gpu",
            "--time",
            "01:00:00",
            "--cpus-per-task",
            "2",
            "--array-parallelism",
            "2",
            "--sbatch-arg=--mem=4G",
            "--device",
            "flex",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        !tmp.path().join("r").exists(),
        "a dry run changed the disk: it wrote {}",
        tmp.path().join("r").display()
    );
    for line in [
        "#!/bin/bash",
        "#SBATCH --job-name=weightlab-arr",
        "#SBATCH --array=0-2%2",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --time=01:00:00",
        "#SBATCH --partition=gpu",
        "#SBATCH --mem=4G",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "missing `{line}` in\n{script}"
        );
    }
    let root = tmp.path().canonicalize().unwrap().join("r");
    for line in ["#SBATCH --signal=B:TERM@120", "#SBATCH --requeue"] {
        assert!(script.lines().any(|l| l == line), "missing `{line}`");
    }
    assert!(script.contains("scontrol requeue"), "{script}");
    let exec = script.lines().find(|l| l.contains(" sweep job ")).unwrap();
    assert!(exec.starts_with('\'') && exec.ends_with(" &"), "{exec}");
    assert!(
        exec.contains(&format!(
            "'{}' --index \"$SLURM_ARRAY_TASK_ID\" --device flex",
            root.display()
        )),
        "{exec}"
    );

    // Done jobs leave the array: with job 1 (yin) done, the next script lists the others.
    sweep_ok(tmp.path(), &exp, "r", 1);
    for dir in job_dirs(&tmp.path().join("r")) {
        if !dir.to_string_lossy().contains("-yin-") {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
    let again = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "r",
            "--executor",
            "slurm",
            "--dry-run",
        ],
    );
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .contains("#SBATCH --array=0,2\n"));

    let bad = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--executor", "pbs"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--executor"));
}

//! `sweep run --executor slurm --dry-run`: the job-array script, without a Slurm. The real
//! end-to-end run against Slurm daemons is `make slurm-test` (scripts/slurm-test.sh).

mod common;

use common::*;

#[test]
fn dry_run_writes_the_array_script_without_submitting() {
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
    let text = String::from_utf8(out.stdout).unwrap();
    let script = std::fs::read_to_string(tmp.path().join("r/slurm/sweep.sbatch")).unwrap();
    assert_eq!(text, script);
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
    let root = tmp.path().join("r").canonicalize().unwrap();
    let exec = script.lines().last().unwrap();
    assert!(
        exec.starts_with("exec '") && exec.contains("sweep job"),
        "{exec}"
    );
    assert!(
        exec.contains(&format!(
            "'{}' --index \"$SLURM_ARRAY_TASK_ID\" --device flex",
            root.display()
        )),
        "{exec}"
    );
    assert!(
        !tmp.path().join("r/slurm/submissions.json").exists(),
        "a dry run submitted"
    );

    // Done jobs leave the array: run one job by hand, the next script lists the others.
    let one = run(tmp.path(), &["sweep", "job", "r", "--index", "1"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
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

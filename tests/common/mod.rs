//! Helpers shared by the integration tests: tiny experiments and the `weightlab` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `weightlab` binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weightlab"))
}

/// Run `weightlab args…` in `cwd` and return its output.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env("WEIGHTLAB_CACHE", cwd.join(".cache"))
        .output()
        .expect("weightlab runs")
}

/// `weightlab sweep run EXP --out OUT --jobs JOBS` in `cwd`, which must succeed.
pub fn sweep_ok(cwd: &Path, exp: &Path, out: &str, jobs: usize) -> Output {
    let o = run(
        cwd,
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            out,
            "--jobs",
            &jobs.to_string(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// A tiny experiment: 16-px faces, 2 epochs, the given strategies block.
pub fn tiny_yaml(name: &str, strategies: &str, extra_train: &str) -> String {
    format!(
        "name: {name}
seeds: [1]
datasets:
  - name: synth
    synthetic: {{ identities: 8, test_identities: 3, expressions: 4, images_per_cell: 2, image_size: 16, seed: 7 }}
model: {{ preset: small, embedding_dim: 16, z_dim: 32, expression_dim: 8 }}
train: {{ epochs: 2, batch_size: 16, lr: 0.002, threads: 1{extra_train} }}
strategies:
{strategies}
log: {{ every_steps: 1 }}
"
    )
}

/// The three strategies of the paper, one point each.
pub const THREE: &str =
    "  - static: { w1: [0.5] }\n  - yin: { lr: 0.1 }\n  - l3: { lr: 0.1, epsilon: 0.01 }";

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The job folders of a sweep folder (sorted).
pub fn job_dirs(sweep: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(sweep)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Copy the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Say that `test` did not run its check here, and why: on the terminal even when cargo
/// captures the test's output, and in a list that `make test` counts at the end. Under CI
/// (`CI=true`), whose script installs what the checks need, a skip is a failure instead.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write as _;
    let line = format!("{test}: skipped: {why}");
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{line}, and CI=true: CI must provide what this check needs");
    }
    let _ = writeln!(std::io::stderr(), "{line}");
    let ledger = Path::new(env!("CARGO_TARGET_TMPDIR")).join("weightlab-skipped.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger)
    {
        let _ = writeln!(f, "{line}");
    }
}

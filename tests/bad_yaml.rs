//! Malformed experiments: each exits 2 with one message naming the file and the field, and
//! leaves no run folder behind.

mod common;

use common::*;

const GOOD: &str = "name: bad
seeds: [1]
datasets:
  - name: synth
    synthetic: { identities: 8, test_identities: 3, expressions: 4, images_per_cell: 2, image_size: 16 }
train: { epochs: 1, batch_size: 16, lr: 0.001 }
strategies:
  - static: { w1: [0.5] }
  - l3: { lr: 0.1 }
";

/// (what to replace, replacement, text the error must contain)
const CASES: &[(&str, &str, &str)] = &[
    ("train: { epochs: 1,", "train: { epochs: 1, lrr: 3,", "lrr"),
    ("lr: 0.001", "lr: -1", "train.lr"),
    ("lr: 0.001", "lr: fast", "train.lr"),
    ("epochs: 1", "epochs: 0", "train.epochs"),
    ("batch_size: 16", "batch_size: 1", "train.batch_size"),
    ("seeds: [1]", "seeds: []", "seeds"),
    ("seeds: [1]", "seeds: [1, 1]", "seeds"),
    ("w1: [0.5]", "w1: [1.5]", "static.w1"),
    ("w1: [0.5]", "w1: { from: 0.0, to: 1.0, step: 0.3 }", "step"),
    ("w1: [0.5]", "w1: { from: 0.0, to: 1.0, step: 0.0 }", "step"),
    ("w1: [0.5]", "w1: { from: 1.0, to: 0.0, step: 0.1 }", "from"),
    ("l3: { lr: 0.1 }", "l3: { lr: 0.1, epsilon: 0 }", "epsilon"),
    ("l3: { lr: 0.1 }", "l3: { lr: 0.1, eps: 0.1 }", "eps"),
    ("l3: { lr: 0.1 }", "l4: { lr: 0.1 }", "l4"),
    (
        "test_identities: 3",
        "test_identities: 8",
        "test_identities",
    ),
    ("expressions: 4", "expressions: 9", "expressions"),
    ("image_size: 16", "image_size: 20", "image_size"),
    ("name: bad", "name: ../escape", "name"),
    ("    synthetic:", "    synthetc:", "synthetc"),
    (
        "- name: synth",
        "- name: synth\n    manifest: { csv: missing.csv }\n    extra: 1",
        "extra",
    ),
    (
        "train: { epochs: 1,",
        "device: tpu\ntrain: { epochs: 1,",
        "device",
    ),
    (
        "strategies:\n  - static: { w1: [0.5] }\n  - l3: { lr: 0.1 }\n",
        "strategies: []\n",
        "strategies",
    ),
];

#[test]
fn every_malformed_experiment_exits_2_naming_the_field() {
    assert!(CASES.len() >= 15);
    let tmp = tempfile::tempdir().unwrap();
    for (k, (from, to, field)) in CASES.iter().enumerate() {
        assert!(
            GOOD.contains(from),
            "case {k}: pattern {from:?} not in the base YAML"
        );
        let text = GOOD.replacen(from, to, 1);
        let name = format!("case{k}.yaml");
        let path = write(tmp.path(), &name, &text);
        let out = run(
            tmp.path(),
            &["sweep", "run", path.to_str().unwrap(), "--out", "r"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {k} ({to}): {err}");
        assert!(
            err.contains(&name),
            "case {k}: message does not name the file: {err}"
        );
        assert!(
            err.contains(field),
            "case {k}: message does not name {field}: {err}"
        );
        assert!(!err.contains("panicked"), "case {k}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "case {k}: not one line: {err}"
        );
        assert!(
            !tmp.path().join("r").exists(),
            "case {k}: a run folder was left behind"
        );
    }
}

#[test]
fn the_good_base_passes_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "good.yaml", GOOD);
    let out = run(
        tmp.path(),
        &["sweep", "run", path.to_str().unwrap(), "--dry-run"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("synth-static-w0.5-s1-") && table.contains("new"),
        "{table}"
    );
    assert!(
        !tmp.path().join("runs").exists(),
        "--dry-run wrote a folder"
    );
}

#[test]
fn bad_flags_and_paths_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "good.yaml", GOOD);
    for args in [
        vec!["sweep", "run", "missing.yaml"],
        vec!["sweep", "run", path.to_str().unwrap(), "--device", "tpu"],
        vec!["sweep", "run", path.to_str().unwrap(), "--jobs", "0"],
        vec!["sweep", "run", path.to_str().unwrap(), "--jobz", "1"],
        vec!["sweep", "status", "nowhere"],
    ] {
        let out = run(tmp.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

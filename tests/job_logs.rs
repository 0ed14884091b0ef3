//! End to end: a tiny sweep writes the contract's logs, deterministically, and really learns.

mod common;

use common::*;
use polars::prelude::*;
use weightlab::runlog::read_frame;

fn dtype(df: &DataFrame, name: &str) -> DataType {
    df.column(name)
        .unwrap_or_else(|_| panic!("column {name}"))
        .dtype()
        .clone()
}

#[test]
fn tiny_sweep_writes_contract_logs_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "e.yaml", &tiny_yaml("e2e", THREE, ""));
    for out in ["a", "b"] {
        sweep_ok(tmp.path(), &exp, out, 1);
    }
    let jobs = job_dirs(&tmp.path().join("a"));
    assert_eq!(jobs.len(), 3);
    let mut strategies = Vec::new();
    for dir in &jobs {
        let epochs = read_frame(&dir.join("epochs.parquet")).unwrap();
        let names: Vec<&str> = epochs
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "run_id",
                "dataset",
                "strategy",
                "static_w1",
                "seed",
                "epoch",
                "w_fv",
                "w_ex",
                "loss_fv",
                "loss_ex",
                "loss_total",
                "loss_l3",
                "fv_acc",
                "ex_acc",
                "elapsed_s",
                "raw_w_fv",
                "raw_w_ex",
                "val_fv_acc",
                "val_ex_acc"
            ]
        );
        for c in ["run_id", "dataset", "strategy"] {
            assert_eq!(dtype(&epochs, c), DataType::String);
        }
        for c in ["seed", "epoch"] {
            assert_eq!(dtype(&epochs, c), DataType::Int64);
        }
        for c in [
            "static_w1",
            "w_fv",
            "w_ex",
            "loss_fv",
            "loss_ex",
            "loss_total",
            "loss_l3",
            "fv_acc",
            "ex_acc",
            "elapsed_s",
            "raw_w_fv",
            "raw_w_ex",
        ] {
            assert_eq!(dtype(&epochs, c), DataType::Float64, "{c}");
        }
        assert_eq!(epochs.height(), 2);
        let epoch: Vec<i64> = epochs
            .column("epoch")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(epoch, [1, 2]);
        let strategy = epochs
            .column("strategy")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string();
        let w1_nulls = epochs.column("static_w1").unwrap().null_count();
        let l3_nulls = epochs.column("loss_l3").unwrap().null_count();
        assert_eq!(
            w1_nulls == 0,
            strategy == "static",
            "static_w1 null exactly for dynamic strategies"
        );
        assert_eq!(l3_nulls == 0, strategy == "l3", "loss_l3 null unless l3");
        strategies.push(strategy);

        let steps = read_frame(&dir.join("steps.parquet")).unwrap();
        let names: Vec<&str> = steps
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "run_id", "epoch", "step", "w_fv", "w_ex", "loss_fv", "loss_ex", "raw_w_fv",
                "raw_w_ex"
            ]
        );
        assert_eq!(dtype(&steps, "step"), DataType::Int64);
        let w_fv: Vec<f64> = steps
            .column("w_fv")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let w_ex: Vec<f64> = steps
            .column("w_ex")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert!(!w_fv.is_empty());
        for (a, b) in w_fv.iter().zip(&w_ex) {
            assert!((a + b - 1.0).abs() < 1e-6, "w_fv + w_ex = {}", a + b);
        }
        let step: Vec<i64> = steps
            .column("step")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(step, (1..=step.len() as i64).collect::<Vec<_>>());
        for df in [&epochs, &steps] {
            for col in df.columns() {
                if let Ok(ca) = col.f64() {
                    assert!(
                        ca.iter().flatten().all(f64::is_finite),
                        "{} not finite",
                        col.name()
                    );
                }
            }
        }
        for f in ["run.yaml", "status.json", "pairs.csv"] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        let status = std::fs::read_to_string(dir.join("status.json")).unwrap();
        assert!(status.contains("\"done\""), "{status}");

        // Same seed, same threads: steps byte-identical, epochs identical but elapsed_s.
        let twin = tmp.path().join("b").join(dir.file_name().unwrap());
        assert_eq!(
            std::fs::read(dir.join("steps.parquet")).unwrap(),
            std::fs::read(twin.join("steps.parquet")).unwrap()
        );
        let other = read_frame(&twin.join("epochs.parquet")).unwrap();
        assert!(epochs
            .drop("elapsed_s")
            .unwrap()
            .equals_missing(&other.drop("elapsed_s").unwrap()));
    }
    strategies.sort();
    assert_eq!(strategies, ["l3", "static", "yin"]);
    let index = read_frame(&tmp.path().join("a/runs.parquet")).unwrap();
    assert_eq!(index.height(), 3);
    let status: Vec<&str> = index
        .column("status")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(status, ["done", "done", "done"]);
}

#[test]
fn the_network_really_learns() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = "name: learn
seeds: [1]
datasets:
  - name: easy
    synthetic: { identities: 16, test_identities: 6, expressions: 4, images_per_cell: 6, image_size: 32, seed: 3,
                 noise: 0.01, jitter: 0.5, expression_strength: 1.5 }
model: { preset: small, embedding_dim: 32, z_dim: 64, expression_dim: 16 }
train: { epochs: 12, batch_size: 16, lr: 0.002, threads: 2 }
strategies:
  - static: { w1: [0.5] }
log: { every_steps: 0 }
";
    let exp = write(tmp.path(), "learn.yaml", yaml);
    sweep_ok(tmp.path(), &exp, "r", 1);
    let dir = &job_dirs(&tmp.path().join("r"))[0];
    let epochs = read_frame(&dir.join("epochs.parquet")).unwrap();
    // Mean of the last three epochs: single epochs of a small test set fluctuate.
    let last3 = |c: &str| {
        let v: Vec<f64> = epochs
            .column(c)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        v[v.len() - 3..].iter().sum::<f64>() / 3.0
    };
    let (fv, ex) = (last3("fv_acc"), last3("ex_acc"));
    assert!(
        ex > 2.0 / 4.0,
        "EX accuracy {ex} not above twice chance (0.25)"
    );
    assert!(fv > 0.6, "FV accuracy {fv} not above 0.6");
    let first_ex = epochs
        .column("ex_acc")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    assert!(
        ex > first_ex,
        "EX accuracy did not improve: {first_ex} -> {ex}"
    );
    // every_steps: 0 → an empty step log with the right columns.
    let steps = read_frame(&dir.join("steps.parquet")).unwrap();
    assert_eq!(steps.height(), 0);
}

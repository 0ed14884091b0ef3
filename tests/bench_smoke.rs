//! `weightlab-bench` keeps working: its step, job and forward modes run on a tiny experiment and print
//! the JSON the `all` mode (and `make bench`) reads. No timing is asserted.

mod common;

use std::process::Command;

use common::{tiny_yaml, write, THREE};

fn bench(cwd: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_weightlab-bench"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env("WEIGHTLAB_CACHE", cwd.join(".cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn step_job_and_forward_modes_print_their_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "e.yaml", &tiny_yaml("b", THREE, ""));
    let e = exp.to_str().unwrap();

    let step = bench(
        tmp.path(),
        &[
            "step",
            "--experiment",
            e,
            "--steps",
            "3",
            "--warmup",
            "1",
            "--batch",
            "8",
        ],
    );
    assert_eq!(step["system"], "weightlab");
    assert_eq!(step["device"], "flex");
    assert!(step["images_per_s"].as_f64().unwrap() > 0.0, "{step}");
    assert!(step["images"].as_u64().unwrap() > 0, "{step}");
    // Ψ: Linear(z_dim 32 → 2).
    assert_eq!(step["params_psi"], 66);
    assert!(step["params_theta"].as_u64().unwrap() > 1000);

    let job = bench(tmp.path(), &["job", "--experiment", e]);
    let part = |k: &str| job[k].as_f64().unwrap();
    // Each part is timed on its own; together they must fit in the wall time, so the rest
    // (data, model set-up) is what is left and cannot be negative.
    for k in ["train_step_s", "eval_s", "log_s"] {
        assert!(part(k) > 0.0, "{k} was not measured: {job}");
    }
    assert!(part("rest_s") >= 0.0, "parts exceed the wall time: {job}");
    assert!(part("train_step_s") < part("wall_s"), "{job}");
    assert!(part("peak_rss_mb") > 1.0, "{job}");
    assert_eq!(job["epochs"], 2);
    for k in ["final_fv_acc", "final_ex_acc"] {
        assert!((0.0..=1.0).contains(&part(k)), "{k}: {job}");
    }

    let forward = bench(
        tmp.path(),
        &[
            "forward",
            "--experiment",
            e,
            "--reps",
            "2",
            "--threads",
            "2",
        ],
    );
    assert_eq!(forward["system"], "weightlab");
    assert_eq!(forward["threads"], 2);
    assert!(forward["images_per_s"].as_f64().unwrap() > 0.0, "{forward}");
    assert!(forward["images"].as_u64().unwrap() > 0, "{forward}");
}

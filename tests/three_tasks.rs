//! A tiny three-task study end to end: the face model's fv, ex and its tilt (a
//! lower-is-better error), a static grid on the simplex and a strategy of every kind; its logs
//! named after the tasks; the comparison checked against an independent recomputation
//! (tests/ntask_check.py, with a negative control it must flag); the figures and the page.

mod common;

use std::path::{Path, PathBuf};

use common::{job_dirs, run, skipped, sweep_ok, write};
use weightlab::runlog::{read_frame, EpochRow, StepRow};
use weightlab::task::Tasks;

/// Static points on the simplex with step 0.5 (six, the three single-task vertices among them)
/// and every built-in dynamic strategy, two kinds of registered-free dynamics included.
const STRATEGIES: &str = "  - static: { step: 0.5 }
  - equal: {}
  - uncertainty: {}
  - dwa: {}
  - gradnorm: { lr: 0.01 }
  - rlw: {}
  - gls: {}
  - yin: {}
  - l3: { normalize_logits: true }";

fn experiment() -> String {
    format!(
        "name: three
seeds: [1, 2, 3]
tasks: [fv, ex, {{ name: pose, kind: regression, metric: mae, scale: 6.875 }}]
datasets:
  - name: synth
    synthetic: {{ identities: 9, test_identities: 3, val_identities: 2, expressions: 4, images_per_cell: 2, image_size: 16, seed: 7, tilt: 2.0 }}
model: {{ preset: small, embedding_dim: 16, z_dim: 32, expression_dim: 8 }}
train: {{ epochs: 3, batch_size: 16, lr: 0.002, threads: 1 }}
strategies:
{STRATEGIES}
log: {{ every_steps: 1 }}
"
    )
}

fn three() -> Tasks {
    serde_yaml::from_str("[fv, ex, { name: pose, kind: regression, metric: mae, scale: 6.875 }]")
        .unwrap()
}

/// The study, run once per test binary in cargo's scratch folder.
fn study() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("three-tasks");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let exp = write(&root, "three.yaml", &experiment());
        sweep_ok(&root, &exp, "out", 2);
        root.join("out")
    })
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn every_log_has_a_column_per_task_and_the_weights_stay_on_the_simplex() {
    let dirs = job_dirs(study());
    assert_eq!(dirs.len(), (6 + 8) * 3);
    let tasks = three();
    for d in &dirs {
        let names: Vec<String> = read_frame(&d.join("epochs.parquet"))
            .unwrap()
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, EpochRow::columns(&tasks), "{}", d.display());
        for c in [
            "w_pose",
            "raw_w_pose",
            "loss_pose",
            "pose_mae",
            "val_pose_mae",
        ] {
            assert!(names.iter().any(|n| n == c), "{c}");
        }
        let epochs = EpochRow::read(&d.join("epochs.parquet"), &tasks).unwrap();
        let steps = StepRow::read(&d.join("steps.parquet"), &tasks).unwrap();
        assert_eq!(epochs.len(), 3);
        for s in &steps {
            assert_eq!(s.w.len(), 3);
            assert!((s.w.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{s:?}");
        }
        for e in &epochs {
            // The tilt error in degrees.
            assert!(e.test[2] > 0.0 && e.test[2].is_finite(), "{e:?}");
            assert!(e.val.iter().all(Option::is_some));
        }
        let id = d.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(w) = &epochs[0].static_w {
            // A static point trains with its weights on every step.
            let name = format!(
                "synth-static-w{}-",
                w.iter()
                    .map(|x| weightlab::strategy::format_w1(*x))
                    .collect::<Vec<_>>()
                    .join("-")
            );
            assert!(id.starts_with(&name), "{id} vs {name}");
            assert!(steps
                .iter()
                .all(|s| s.w.iter().zip(w).all(|(a, b)| (a - b).abs() < 1e-6)));
        }
    }
    // Every strategy that learns its weights moved the tilt's weight away from where it began.
    for prefix in [
        "synth-uncertainty-",
        "synth-gradnorm-",
        "synth-yin-",
        "synth-l3-",
        "synth-rlw-",
    ] {
        let d = dirs
            .iter()
            .find(|d| d.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap();
        let steps = StepRow::read(&d.join("steps.parquet"), &tasks).unwrap();
        let (first, last) = (steps[0].w[2], steps.last().unwrap().w[2]);
        assert!(
            (first - last).abs() > 1e-4,
            "{prefix}: w_pose {first} → {last}"
        );
    }
    // The run index names each task's figures.
    let index = read_frame(&study().join("runs.parquet")).unwrap();
    for c in [
        "final_pose_mae",
        "selected_ex_acc",
        "mean_w_pose",
        "static_w_pose",
    ] {
        assert!(index.column(c).is_ok(), "runs.parquet lacks {c}");
    }
}

#[test]
fn the_comparison_agrees_with_an_independent_recomputation() {
    let root = study().parent().unwrap();
    let seeds = ok(&run(root, &["report", "seeds", "out"]));
    let compare = ok(&run(root, &["report", "compare", "out", "--format", "csv"]));
    let header = compare.lines().next().unwrap().to_string();
    for c in [
        "pose_mae_mean",
        "pose_delta",
        "pose_p_holm",
        "mean_w_pose",
        "fv_delta",
    ] {
        assert!(header.split(',').any(|x| x == c), "{c}: {header}");
    }
    let s = write(root, "seeds.csv", &seeds);
    let c = write(root, "compare.csv", &compare);
    let check = |compare: &Path| {
        std::process::Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ntask_check.py"))
            .args([s.as_path(), compare])
            .args(["equal", "fv:acc:higher", "ex:acc:higher", "pose:mae:lower"])
            .output()
    };
    let out = match check(&c) {
        Ok(out) => out,
        Err(e) => return skipped("three-task recomputation", &format!("no python3: {e}")),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("13 points, 3 tasks: 0 disagreement(s)"),
        "{text}"
    );
    // The negative control: one Holm-adjusted p-value of the pose column changed; the
    // recomputation must flag it.
    let mut rows: Vec<Vec<String>> = csv::Reader::from_reader(compare.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let col = header.split(',').position(|h| h == "pose_p_holm").unwrap();
    let row = rows.iter().position(|r| !r[col].is_empty()).unwrap();
    let bad: f64 = rows[row][col].parse::<f64>().unwrap() * 0.5;
    rows[row][col] = bad.to_string();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header.split(',')).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    let tampered = write(
        root,
        "tampered.csv",
        &String::from_utf8(w.into_inner().unwrap()).unwrap(),
    );
    let out = check(&tampered).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the tampered table passed:\n{text}"
    );
    assert!(text.contains("pose_p_holm"), "{text}");
}

#[test]
fn the_single_task_reference_is_each_tasks_vertex() {
    let root = study().parent().unwrap();
    let md = ok(&run(
        root,
        &["report", "compare", "out", "--reference", "single-task"],
    ));
    assert!(
        md.contains("| synth | static fv=0.0 ex=0.0 pose=1.0 |"),
        "{md}"
    );
    assert!(md.contains("pose_mae lower-is-better"), "{md}");
    let power = ok(&run(root, &["report", "power", "out"]));
    assert!(power.contains("Δp against equal"), "{power}");
}

#[test]
fn the_figures_and_the_page_show_every_task() {
    let root = study().parent().unwrap();
    let out = root.join("figures");
    ok(&run(
        root,
        &["report", "plot", "out", "--out", out.to_str().unwrap()],
    ));
    for f in ["simplex", "pareto", "weights", "curves", "compare"] {
        assert!(out.join(format!("{f}.png")).is_file(), "{f}.png");
        assert!(out.join(format!("{f}.svg")).is_file(), "{f}.svg");
    }
    assert!(
        !out.join("fig2.png").exists(),
        "fig2 is the two-task figure"
    );
    let simplex = std::fs::read_to_string(out.join("simplex.svg")).unwrap();
    for text in ["pose = 1", "pose mae (lower-is-better)", "Δp % vs equal"] {
        assert!(simplex.contains(text), "simplex.svg lacks {text}");
    }
    let pareto = std::fs::read_to_string(out.join("pareto.svg")).unwrap();
    for pair in ["fv against ex", "fv against pose", "ex against pose"] {
        assert!(pareto.contains(pair), "pareto.svg lacks {pair}");
    }
    let weights = std::fs::read_to_string(out.join("weights.svg")).unwrap();
    assert!(weights.contains("w_pose per step"), "weights.svg");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    for text in [
        "pose mae",
        "Δpose (units)",
        "mean w_pose",
        "The static grid on the simplex",
    ] {
        assert!(page.contains(text), "report.html lacks {text}");
    }
}

#[test]
fn eval_scores_every_task_of_a_done_job() {
    let root = study().parent().unwrap();
    let job = job_dirs(study())
        .into_iter()
        .find(|d| d.file_name().unwrap().to_string_lossy().contains("-equal-"))
        .unwrap();
    let text = ok(&run(root, &["eval", job.to_str().unwrap()]));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "run_id,dataset,test_images,pairs,fv_acc,ex_acc,pose_mae"
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let epochs = EpochRow::read(&job.join("epochs.parquet"), &three()).unwrap();
    let last = epochs.last().unwrap();
    // The model scores what its last epoch logged.
    assert!(
        (row[6].parse::<f64>().unwrap() - last.test[2]).abs() < 1e-9,
        "{text}"
    );
    assert!(
        (row[4].parse::<f64>().unwrap() - last.test[0]).abs() < 1e-12,
        "{text}"
    );
}

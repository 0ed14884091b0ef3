//! What a study can answer: model selection on a validation split, seeds pooled across
//! folders, the single-task reference, the power table and the Pareto view, end to end through
//! the command line.

mod common;

use common::*;
use weightlab::runlog::{read_frame, EpochRow};
use weightlab::task::Tasks;

/// A tiny static sweep on faces with a validation split: w1 ∈ {0, 0.5, 1} and one l3 point.
fn yaml(name: &str, seeds: &str, epochs: usize) -> String {
    tiny_yaml(name, "  - static: { w1: [0.0, 0.5, 1.0] }\n  - l3: {}", "")
        .replace("seeds: [1]", &format!("seeds: {seeds}"))
        .replace("epochs: 2", &format!("epochs: {epochs}"))
        .replace(
            "identities: 8, test_identities: 3,",
            "identities: 11, test_identities: 3, val_identities: 3,",
        )
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    (header, r.records().map(Result::unwrap).collect())
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn validation_split_is_logged_and_selected_epoch_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "v.yaml", &yaml("v", "[1, 2]", 3));
    sweep_ok(tmp.path(), &exp, "v", 2);
    // Every epoch row carries the validation accuracies; the run index the selected epoch.
    for d in job_dirs(&tmp.path().join("v")) {
        let rows = EpochRow::read(&d.join("epochs.parquet"), &Tasks::default()).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.val.iter().all(Option::is_some)));
    }
    let index = read_frame(&tmp.path().join("v/runs.parquet")).unwrap();
    let selected = index.column("selected_epoch").unwrap().i64().unwrap();
    assert_eq!(selected.null_count(), 0);
    // By default compare reports the selected epoch's test accuracy.
    let (header, rows) = csv_rows(&ok(&run(
        tmp.path(),
        &["report", "compare", "v", "--format", "csv"],
    )));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    for r in &rows {
        let e: f64 = r[col("selected_epoch")].parse().unwrap();
        assert!((1.0..=3.0).contains(&e), "{e}");
    }
    let md = ok(&run(tmp.path(), &["report", "compare", "v"]));
    assert!(md.contains("fv acc (selected)"), "{md}");
    // The test accuracy at the validation-selected epoch is what `selected` reports.
    let d = job_dirs(&tmp.path().join("v"))[0].clone();
    let epochs = EpochRow::read(&d.join("epochs.parquet"), &Tasks::default()).unwrap();
    let val = |r: &EpochRow| r.val[0].unwrap() + r.val[1].unwrap();
    let pick = epochs
        .iter()
        .fold(None::<&EpochRow>, |best, r| match best {
            Some(b) if val(b) >= val(r) => Some(b),
            _ => Some(r),
        })
        .unwrap();
    let summary = weightlab::runlog::JobSummary::of(&epochs, &Tasks::default()).unwrap();
    assert_eq!(summary.selected_epoch, Some(pick.epoch));
    assert_eq!(summary.selected_metrics.unwrap()[0], pick.test[0]);
}

#[test]
fn seeds_pool_across_folders_of_one_experiment_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "a.yaml", &yaml("p", "[1, 2]", 2));
    sweep_ok(tmp.path(), &a, "a", 2);
    // Same experiment, other seeds, through an override.
    let o = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            a.to_str().unwrap(),
            "seeds=[3]",
            "--out",
            "b",
        ],
    );
    ok(&o);
    let (header, rows) = csv_rows(&ok(&run(
        tmp.path(),
        &["report", "compare", "a", "b", "--pool", "--format", "csv"],
    )));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    assert_eq!(rows.len(), 4, "one row per point, not per folder");
    for r in &rows {
        assert_eq!(&r[col("seeds")], "3");
        assert_eq!(&r[col("folder")], "a + b");
    }
    let tested = rows.iter().find(|r| &r[col("strategy")] == "l3").unwrap();
    assert_eq!(&tested[col("paired_seeds")], "3");
    // Without --pool: one row per folder and point.
    let (_, side) = csv_rows(&ok(&run(
        tmp.path(),
        &["report", "compare", "a", "b", "--format", "csv"],
    )));
    assert_eq!(side.len(), 8);
    // Plot pools too; the page lists both folders' jobs.
    ok(&run(
        tmp.path(),
        &["report", "plot", "a", "b", "--pool", "--out", "figs"],
    ));
    let page = std::fs::read_to_string(tmp.path().join("figs/report.html")).unwrap();
    assert!(page.contains("a + b") && page.contains("-s3-"));
    // Another experiment: exit 2, one error line naming --pool and the difference.
    let c = write(
        tmp.path(),
        "c.yaml",
        &yaml("p", "[4]", 2).replace("lr: 0.002", "lr: 0.003"),
    );
    sweep_ok(tmp.path(), &c, "c", 1);
    let o = run(tmp.path(), &["report", "compare", "a", "c", "--pool"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--pool") && err.contains("train.lr") && err.lines().count() == 1,
        "{err}"
    );
    let o = run(tmp.path(), &["report", "plot", "a", "b"]);
    assert_eq!(o.status.code(), Some(2), "several folders without --pool");
}

#[test]
fn single_task_reference_power_table_and_pareto_view() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "s.yaml", &yaml("s", "[1, 2, 3]", 2));
    sweep_ok(tmp.path(), &exp, "s", 2);
    let (header, rows) = csv_rows(&ok(&run(
        tmp.path(),
        &[
            "report",
            "compare",
            "s",
            "--reference",
            "single-task",
            "--format",
            "csv",
        ],
    )));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let row = |label: &str| rows.iter().find(|r| &r[col("strategy")] == label).unwrap();
    // FV is measured against w1=1.0, EX against w1=0.0: each end is untested on its own task.
    assert_eq!(&row("static w1=1.0")[col("fv_delta")], "");
    assert_ne!(&row("static w1=1.0")[col("ex_delta")], "");
    assert_eq!(&row("static w1=0.0")[col("ex_delta")], "");
    let fv_end: f64 = row("static w1=1.0")[col("fv_acc_mean")].parse().unwrap();
    let mid = row("static w1=0.5");
    let mid_fv: f64 = mid[col("fv_acc_mean")].parse().unwrap();
    let fv_delta: f64 = mid[col("fv_delta")].parse().unwrap();
    assert!((fv_delta - 100.0 * (mid_fv - fv_end)).abs() < 1e-9);
    assert!(rows.iter().all(|r| &r[col("verdict")] != "baseline"));
    assert!(rows
        .iter()
        .all(|r| r[col("reference")].starts_with("single-task")));
    // Without an end, the reference is refused with exit 2 naming the flag.
    let half = write(
        tmp.path(),
        "h.yaml",
        &yaml("h", "[1]", 1).replace("w1: [0.0, 0.5, 1.0]", "w1: [0.0, 0.5]"),
    );
    sweep_ok(tmp.path(), &half, "h", 2);
    let o = run(
        tmp.path(),
        &["report", "compare", "h", "--reference", "single-task"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--reference") && err.contains("w1=1.0"),
        "{err}"
    );

    // report power: a line per tested point and the study-wide answer.
    let text = ok(&run(tmp.path(), &["report", "power", "s", "--effect", "2"]));
    assert!(text.contains("Holm's first level α/3"), "{text}");
    assert!(
        text.contains("Separating 2 % at Holm's level takes"),
        "{text}"
    );
    for p in ["static w1=0.0", "static w1=1.0", "l3"] {
        assert!(text.lines().any(|l| l.starts_with(p)), "{p}: {text}");
    }
    let bad = run(tmp.path(), &["report", "power", "s", "--effect", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = run(tmp.path(), &["report", "power", "s", "--power", "1.5"]);
    assert_eq!(bad.status.code(), Some(2));

    // The Pareto view: a figure per plot, with the strategies' outcomes in a legend beside
    // the data, and the sentence of what the study can detect in compare and the page.
    ok(&run(tmp.path(), &["report", "plot", "s", "--out", "figs"]));
    let svg = std::fs::read_to_string(tmp.path().join("figs/pareto.svg")).unwrap();
    assert!(svg.contains("fv against ex"), "pareto.svg");
    assert!(
        svg.contains("l3: not dominated") || svg.contains("l3: dominated by static w1="),
        "pareto.svg lacks l3's outcome"
    );
    let page = std::fs::read_to_string(tmp.path().join("figs/report.html")).unwrap();
    assert!(page.contains("What this study can detect."));
    assert!(page.contains("The trade-off between the tasks"));
    let md = ok(&run(tmp.path(), &["report", "compare", "s"]));
    assert!(md.contains("**What this study can detect.**"), "{md}");
}

#[test]
fn fig2_legend_sits_below_the_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(tmp.path(), "f.yaml", &yaml("f", "[1]", 1));
    sweep_ok(tmp.path(), &exp, "f", 2);
    ok(&run(tmp.path(), &["report", "plot", "f", "--out", "figs"]));
    let img = image::open(tmp.path().join("figs/fig2.png"))
        .unwrap()
        .to_rgb8();
    // The plot occupies the top 480 rows; the legend below it: one dynamic point, the two
    // static curves and the two highest means make 5 entries, 3 rows of two, 18 px each, and
    // 16 px of padding.
    assert_eq!(img.height(), 480 + 3 * 18 + 16);
    let dark = |y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count()
    };
    assert!(
        dark(480, img.height()) > 50,
        "the legend is drawn below the plot"
    );
}

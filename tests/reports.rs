//! Reports: the figures exist and are readable, `compare` agrees with a direct polars
//! computation, `diff` catches a perturbed trajectory.

mod common;

use std::path::Path;

use common::*;
use polars::prelude::*;
use weightlab::runlog::read_frame;

fn sweep(tmp: &Path) -> std::path::PathBuf {
    let strategies = "  - static: { w1: [0.0, 0.5, 1.0] }\n  - yin: {}\n  - l3: {}";
    let yaml = tiny_yaml("rep", strategies, "").replace("seeds: [1]", "seeds: [1, 2]");
    let exp = write(tmp, "rep.yaml", &yaml);
    let o = run(tmp, &["sweep", "run", exp.to_str().unwrap(), "--out", "r"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tmp.join("r")
}

/// A copy of `dir` at `tmp/copy`, for the tests that compare two folders.
fn copied(tmp: &Path, dir: &Path) {
    copy_dir(dir, &tmp.join("copy"));
}

#[test]
/// The figures: PNG decodable, of their size, not blank; SVG with its labels.
fn every_figure_is_drawn_readable_and_labelled() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(tmp.path());
    // plot: every figure as PNG (decodable, right size, not blank) and SVG (with labels).
    let o = run(tmp.path(), &["report", "plot", "r", "--out", "figs"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (name, w, h) in [
        // The plot, then its legend below: 6 entries in rows of two, 18 px each, and padding.
        ("fig2", 520 + 16 + 7 * (3 + 9), 480 + 3 * 18 + 16),
        // Legend columns: 60 px + 7 px a character of the longest label (`static w1=0.0`).
        // A weight panel per task (300 px each) and the loss panel (300 px).
        ("weights", 620 + 60 + 7 * 13, 300 * 2 + 300),
        ("curves", 1180, 380),
        // A row per strategy point (5).
        ("compare", 980, 90 + 26 * 5),
    ] {
        let png = tmp.path().join("figs").join(format!("{name}.png"));
        let img = image::open(&png)
            .unwrap_or_else(|e| panic!("{name}.png: {e}"))
            .to_luma8();
        assert_eq!((img.width(), img.height()), (w, h), "{name}");
        let px: Vec<f64> = img.pixels().map(|p| p.0[0] as f64).collect();
        let mean = px.iter().sum::<f64>() / px.len() as f64;
        let var = px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / px.len() as f64;
        assert!(var > 100.0, "{name}.png looks blank (variance {var})");
        let svg =
            std::fs::read_to_string(tmp.path().join("figs").join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{name}.svg");
        let labels: &[&str] = match name {
            "fig2" => &[
                "fv (static w1)",
                "ex (static w1)",
                "l3 (dynamic",
                "yin (dynamic",
                "best mean fv",
            ],
            "weights" => &[
                "l3",
                "yin",
                "solid fv, dashed ex",
                "w_fv per step",
                "w_ex per step",
            ],
            "compare" => &[
                "static w1=0.5 (baseline)",
                "Δp",
                "fv",
                "ex",
                "yin (",
                "confidence interval",
            ],
            _ => &[
                "static w1=0.0",
                "static w1=0.5",
                "static w1=1.0",
                "l3",
                "yin",
            ],
        };
        for l in labels {
            assert!(svg.contains(l), "{name}.svg lacks {l}");
        }
    }
    let bad_metric = run(tmp.path(), &["report", "plot", "r", "--metric", "worst"]);
    assert_eq!(bad_metric.status.code(), Some(2));
    let nowhere = run(tmp.path(), &["report", "plot", "nowhere"]);
    assert_eq!(nowhere.status.code(), Some(2));
}

#[test]
/// compare: every number recomputed with polars from the parquet files.
fn compare_agrees_with_a_direct_polars_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep(tmp.path());
    // compare: recompute every number with polars from the parquet files.
    let o = run(tmp.path(), &["report", "compare", "r", "--format", "csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 5);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut finals: Vec<DataFrame> = Vec::new();
    for d in job_dirs(&dir) {
        let e = read_frame(&d.join("epochs.parquet")).unwrap();
        finals.push(e.tail(Some(1)));
    }
    let mut all = finals[0].clone();
    for f in &finals[1..] {
        all.vstack_mut(f).unwrap();
    }
    let point_of = |s: &str, w: Option<f64>| match w {
        Some(w) => format!("static w1={}", weightlab::strategy::format_w1(w)),
        None => s.to_string(),
    };
    let strategies: Vec<String> = all
        .column("strategy")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    let w1: Vec<Option<f64>> = all
        .column("static_w1")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    let labels: Vec<String> = strategies
        .iter()
        .zip(&w1)
        .map(|(s, w)| point_of(s, *w))
        .collect();
    let mean_std = |label: &str, col: &str| {
        let mask: BooleanChunked = labels.iter().map(|l| l == label).collect();
        let sel = all.filter(&mask).unwrap();
        let ca = sel.column(col).unwrap().f64().unwrap().clone();
        (ca.mean().unwrap(), ca.std(1).unwrap())
    };
    // Final accuracies by (point, seed), for the paired statistics.
    let seeds: Vec<i64> = all
        .column("seed")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    let floats = |name: &str| -> Vec<f64> {
        all.column(name)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect()
    };
    let (fv_all, ex_all) = (floats("fv_acc"), floats("ex_acc"));
    let acc = |label: &str, seed: i64| {
        let i = (0..labels.len())
            .find(|&i| labels[i] == label && seeds[i] == seed)
            .unwrap();
        (fv_all[i], ex_all[i])
    };
    let points: Vec<String> = records
        .iter()
        .map(|r| r[col("strategy")].to_string())
        .collect();
    let get = |c: &str| {
        records
            .iter()
            .map(|r| r[col(c)].parse::<f64>().unwrap_or(f64::NAN))
            .collect::<Vec<f64>>()
    };
    let (fv_mean, fv_std, ex_mean, ex_std, dp) = (
        get("fv_acc_mean"),
        get("fv_acc_std"),
        get("ex_acc_mean"),
        get("ex_acc_std"),
        get("delta_p"),
    );
    let (fv_lo, p_value) = (get("fv_acc_ci_low"), get("p_value"));
    // t_{0.975} on 1 degree of freedom (two seeds), from the t table.
    let t975 = 12.706_204_7;
    for (i, p) in points.iter().enumerate() {
        let (fm, fs) = mean_std(p, "fv_acc");
        let (em, es) = mean_std(p, "ex_acc");
        assert!(
            (fv_mean[i] - fm).abs() < 1e-12 && (fv_std[i] - fs).abs() < 1e-12,
            "{p} fv"
        );
        assert!(
            (ex_mean[i] - em).abs() < 1e-12 && (ex_std[i] - es).abs() < 1e-12,
            "{p} ex"
        );
        // The Student-t interval, cut to [0, 1].
        assert!(
            (fv_lo[i] - (fm - t975 * fs / 2f64.sqrt()).max(0.0)).abs() < 1e-6,
            "{p} CI"
        );
        // Δp: the mean over seeds of each seed's Δp against the baseline of that seed.
        let d: Vec<f64> = [1, 2]
            .iter()
            .map(|&seed| {
                let (f, e) = acc(p, seed);
                let (bf, be) = acc("static w1=0.5", seed);
                100.0 * ((f - bf) / bf + (e - be) / be) / 2.0
            })
            .collect();
        let expected = (d[0] + d[1]) / 2.0;
        assert!(
            (dp[i] - expected).abs() < 1e-9,
            "{p} Δp {} vs {expected}",
            dp[i]
        );
        // Paired t on one degree of freedom is Cauchy: p = 1 − (2/π) atan|t|.
        if p != "static w1=0.5" && (d[0] - d[1]).abs() > 1e-12 {
            let sd = (d[0] - d[1]).abs() / 2f64.sqrt();
            let t = expected / (sd / 2f64.sqrt());
            let want = 1.0 - 2.0 / std::f64::consts::PI * t.abs().atan();
            assert!(
                (p_value[i] - want).abs() < 1e-9,
                "{p}: p {} vs {want}",
                p_value[i]
            );
        }
    }
    assert!(
        dp.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by Δp: {dp:?}"
    );
    let md = run(tmp.path(), &["report", "compare", "r"]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.starts_with("| dataset | strategy |") && md.contains("| l3 |"),
        "{md}"
    );
}

#[test]
/// --baseline picks the reference; an unknown label exits 2 naming the flag.
fn another_baseline_by_label_and_an_unknown_one_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(tmp.path());
    // Another baseline, by label; an unknown one is an input error naming the flag.
    let o = run(
        tmp.path(),
        &[
            "report",
            "compare",
            "r",
            "--format",
            "csv",
            "--baseline",
            "yin",
        ],
    );
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("synth,yin,") && l.contains(",baseline,")),
        "{csv}"
    );
    let o = run(
        tmp.path(),
        &["report", "compare", "r", "--baseline", "static w1=0.7"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--baseline") && err.contains("static w1=0.5"),
        "{err}"
    );
}

#[test]
/// Several folders side by side, a column saying which.
fn several_folders_go_in_one_table_with_a_folder_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep(tmp.path());
    copied(tmp.path(), &dir);
    // Several folders in one table, a column saying which.
    let o = run(
        tmp.path(),
        &["report", "compare", "r", "copy", "--format", "csv"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let folder = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "folder")
        .unwrap();
    let folders: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[folder].to_string())
        .collect();
    assert_eq!(folders.iter().filter(|f| *f == "r").count(), 5, "{csv}");
    assert_eq!(folders.iter().filter(|f| *f == "copy").count(), 5, "{csv}");
    let o = run(tmp.path(), &["report", "compare", "r", "copy"]);
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(
        md.starts_with("| folder | dataset |") && md.contains("| copy | synth |"),
        "{md}"
    );
}

#[test]
/// diff: a copy is identical; one value moved by 1e-3 is caught, by run and column.
fn diff_catches_a_moved_value_by_run_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep(tmp.path());
    copied(tmp.path(), &dir);
    let same = run(tmp.path(), &["report", "diff", "r", "copy"]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    let target = job_dirs(&tmp.path().join("copy"))
        .into_iter()
        .find(|d| d.to_string_lossy().contains("-l3-"))
        .unwrap();
    let steps_path = target.join("steps.parquet");
    let mut steps = read_frame(&steps_path).unwrap();
    let mut w: Vec<f64> = steps
        .column("w_fv")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    w[3] += 1e-3;
    steps
        .replace("w_fv", Column::new("w_fv".into(), w))
        .unwrap();
    let mut f = std::fs::File::create(&steps_path).unwrap();
    ParquetWriter::new(&mut f).finish(&mut steps).unwrap();
    let differ = run(
        tmp.path(),
        &["report", "diff", "r", "copy", "--tol", "1e-6"],
    );
    let out = String::from_utf8_lossy(&differ.stdout);
    assert_eq!(differ.status.code(), Some(1), "{out}");
    let run_id = target.file_name().unwrap().to_string_lossy().into_owned();
    let line = out
        .lines()
        .find(|l| l.starts_with("DIFF"))
        .expect("a DIFF line");
    assert!(
        line.contains(&run_id) && line.contains("steps.parquet") && line.contains("w_fv"),
        "{line}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("DIFF")).count(),
        1,
        "{out}"
    );
    let loose = run(
        tmp.path(),
        &["report", "diff", "r", "copy", "--tol", "1e-2"],
    );
    assert_eq!(loose.status.code(), Some(0));
    std::fs::remove_dir_all(&target).unwrap();
    let missing = run(tmp.path(), &["report", "diff", "r", "copy"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains(&format!("missing in B: {run_id}")));
}

#[test]
fn reports_cover_the_current_experiment_only() {
    let tmp = tempfile::tempdir().unwrap();
    let first = write(
        tmp.path(),
        "a.yaml",
        &tiny_yaml("same", "  - static: { w1: [0.5] }", ""),
    );
    assert!(run(
        tmp.path(),
        &["sweep", "run", first.to_str().unwrap(), "--out", "r"]
    )
    .status
    .success());
    // The user edits the experiment (another w1) and reruns into the same folder.
    let second = write(
        tmp.path(),
        "b.yaml",
        &tiny_yaml("same", "  - static: { w1: [0.3] }", ""),
    );
    assert!(run(
        tmp.path(),
        &["sweep", "run", second.to_str().unwrap(), "--out", "r"]
    )
    .status
    .success());
    assert_eq!(job_dirs(&tmp.path().join("r")).len(), 2);
    let table = run(tmp.path(), &["report", "compare", "r", "--format", "csv"]);
    let csv = String::from_utf8(table.stdout).unwrap();
    assert!(
        csv.contains("static w1=0.3") && !csv.contains("static w1=0.5"),
        "{csv}"
    );
}

//! Sequential studies end to end: rounds that stop each decided point, a study stopped in the
//! middle of a round that resumes to the logs of an uninterrupted one, the verdicts' reports,
//! and the replay of a fixed study under a design.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, sweep_ok, tiny_yaml, write};
use weightlab::runlog::{JobState, RunDir};

/// A tiny study of three static points and l3 on seeds 1–6, looked at after 3, 4 and 5 seeds.
fn study(name: &str, margin: f64) -> String {
    tiny_yaml(name, "  - static: { w1: [0.0, 0.5, 1.0] }\n  - l3: {}", "")
        .replace("seeds: [1]", "seeds: [1, 2, 3, 4, 5, 6]")
        + &format!("sequential: {{ looks: {{ first: 3, every: 1, max: 5 }}, margin: {margin} }}\n")
}

fn done(dir: &Path) -> Vec<String> {
    RunDir::new(dir)
        .job_dirs()
        .unwrap_or_default()
        .into_iter()
        .filter(|jd| {
            jd.read_status()
                .ok()
                .flatten()
                .is_some_and(|s| s.state == JobState::Done)
        })
        .map(|jd| jd.run_id())
        .collect()
}

#[test]
fn a_decided_point_gets_no_more_seeds_and_reports_say_how() {
    let tmp = tempfile::tempdir().unwrap();
    // A margin of 500 % holds any difference: every point is equivalent at the first look.
    let exp = write(tmp.path(), "s.yaml", &study("s", 500.0));
    sweep_ok(tmp.path(), &exp, "s", 2);
    let ran = done(&tmp.path().join("s"));
    // 4 points × 3 seeds: the first look decided everything; seeds 4–6 never ran.
    assert_eq!(ran.len(), 12, "{ran:?}");
    assert!(ran
        .iter()
        .all(|id| ["-s1-", "-s2-", "-s3-"].iter().any(|s| id.contains(s))));
    let md = String::from_utf8(run(tmp.path(), &["report", "compare", "s"]).stdout).unwrap();
    assert!(
        md.contains("equivalent within ±500 % (decided at look 1, 3 seeds; design's interval ["),
        "{md}"
    );
    // The CSV says it per point: design, look, seeds and the design's interval.
    let csv =
        String::from_utf8(run(tmp.path(), &["report", "compare", "s", "--format", "csv"]).stdout)
            .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let tested: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("verdict")] != "baseline")
        .collect();
    assert_eq!(tested.len(), 3, "{csv}");
    for r in tested {
        assert_eq!(&r[col("verdict")], "equivalent", "{csv}");
        assert_eq!(&r[col("design")], "group-sequential");
        assert_eq!(&r[col("decided_at_look")], "1");
        assert_eq!(&r[col("design_seeds")], "3");
        assert_eq!(&r[col("margin")], "500");
        let lo: f64 = r[col("design_ci_low")].parse().unwrap();
        let hi: f64 = r[col("design_ci_high")].parse().unwrap();
        assert!(-500.0 < lo && lo <= hi && hi < 500.0, "{lo} {hi}");
    }
    assert!(md.contains("How these verdicts were reached."), "{md}");
    let status = String::from_utf8(run(tmp.path(), &["sweep", "status", "s"]).stdout).unwrap();
    assert!(
        status.contains("12 done, 0 failed, 0 running, 12 pending"),
        "{status}"
    );
    assert!(
        status.contains(
            "equivalent, 0 open after 1 look(s); the study is over: its pending jobs are not needed"
        ),
        "{status}"
    );
    assert!(
        md.contains("group-sequential design, looks at [3, 4, 5] paired seeds"),
        "{md}"
    );
    // 3 points and the reference on 3 seeds each, where a fixed study runs 5 each.
    assert!(
        md.contains(
            "with the reference's 3, 12 jobs done against 20 for the fixed study (40.0 % fewer)"
        ),
        "{md}"
    );
    // Running it again finds nothing to do.
    let o = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "s",
            "--dry-run",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("the next round runs 0 jobs"), "{text}");
}

#[test]
fn a_study_stopped_in_the_middle_of_a_round_resumes_to_the_same_logs() {
    let tmp = tempfile::tempdir().unwrap();
    // A margin of 0.001 % holds nothing: points stay open until they separate or run out.
    let exp = write(tmp.path(), "r.yaml", &study("r", 0.001));
    sweep_ok(tmp.path(), &exp, "whole", 1);
    let whole = done(&tmp.path().join("whole"));
    assert!(
        whole.len() > 12,
        "the study went past its first round: {whole:?}"
    );

    // The same study, stopped once 13 jobs are done (in its second round), then resumed.
    let mut child = Command::new(common::bin())
        .args([
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "parted",
            "--jobs",
            "1",
        ])
        .current_dir(tmp.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while done(&tmp.path().join("parted")).len() < 13 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let partial = done(&tmp.path().join("parted")).len();
    assert!(
        partial < whole.len(),
        "stopped after {partial} jobs ({status:?})"
    );
    sweep_ok(tmp.path(), &exp, "parted", 1);
    let mut parted = done(&tmp.path().join("parted"));
    let mut whole_sorted = whole.clone();
    parted.sort();
    whole_sorted.sort();
    assert_eq!(parted, whole_sorted, "the resumed study ran other jobs");
    let o = run(
        tmp.path(),
        &["report", "diff", "whole", "parted", "--tol", "0"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn a_fixed_study_replays_under_a_design() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tiny_yaml("f", "  - static: { w1: [0.0, 0.5, 1.0] }", "")
        .replace("seeds: [1]", "seeds: [1, 2, 3, 4, 5, 6]");
    let exp = write(tmp.path(), "f.yaml", &text);
    let o = run(
        tmp.path(),
        &[
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            "f",
            "--jobs",
            "2",
        ],
    );
    assert!(o.status.success());
    let o = run(
        tmp.path(),
        &[
            "report", "replay", "f", "--first", "3", "--every", "1", "--max", "6", "--margin", "5",
            "--orders", "50",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("against 18 for the fixed study"), "{text}");
    assert!(
        text.contains("static w1=0.0")
            && text.contains("reversed verdicts over all points and orders"),
        "{text}"
    );
    // The same replay as CSV: one row per point, whose counts add up to the orders.
    let o = run(
        tmp.path(),
        &[
            "report", "replay", "f", "--first", "3", "--every", "1", "--max", "6", "--margin", "5",
            "--orders", "50", "--format", "csv",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut reader = csv::Reader::from_reader(o.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "the two points beside the reference");
    for r in &rows {
        let counted: usize = [
            "same",
            "undecided",
            "reversed",
            "separated_where_fixed_tied",
            "equivalent_where_fixed_separated",
        ]
        .iter()
        .map(|c| r[col(c)].parse::<usize>().unwrap())
        .sum();
        assert_eq!(counted, 50, "{r:?}");
        assert_eq!(&r[col("fixed_jobs")], "18");
        assert_eq!(&r[col("folder")], "f");
        assert_eq!(&r[col("orders")], "50");
    }
    // A design the plan refuses is bad input.
    let o = run(tmp.path(), &["report", "replay", "f", "--first", "2"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

//! Any trainer as a job (docs/trainer-contract.md), with the pure-Python stand-in trainer
//! tests/fake_trainer/fake_trainer.py: a study of static points and the trainer's methods runs,
//! logs and reports like a built-in one; every fault (a crash, a garbage line, an unknown task,
//! a NaN, a hang, a trainer that ignores SIGTERM, rows missing at exit 0, rows sent again,
//! rows out of order, a missing interpreter) fails its own job with its reason and never the
//! sweep; a stopped job resumes to the rows of an uninterrupted run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, skipped, sweep_ok, write};
use weightlab::runlog::{EpochRow, RunDir, Status};
use weightlab::task::Tasks;

fn fake() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_trainer/fake_trainer.py")
}

fn python() -> Option<&'static str> {
    Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "python3")
}

/// A study of the fake trainer: two tasks (the second lower-is-better), `datasets` (YAML list
/// items), static points w1 ∈ {0, 0.5, 1} and the method `upgrad`, `epochs` epochs.
fn study(name: &str, datasets: &str, epochs: usize, params: &str, timeout: f64) -> String {
    format!(
        "name: {name}
seeds: [1, 2]
tasks:
  - {{ name: digit, kind: classification, metric: acc }}
  - {{ name: inpaint, kind: regression, metric: mse }}
trainer:
  command: [python3, {fake}, --spec, '{{job_file}}']
  timeout: {timeout}
  stop_grace: 1
  params: {params}
datasets:
{datasets}
train: {{ epochs: {epochs} }}
strategies:
  - static: {{ w1: [0.0, 0.5, 1.0] }}
  - external: {{ name: upgrad, settings: {{ norm_eps: 0.0001 }} }}
log: {{ every_steps: 2 }}
",
        fake = fake().display()
    )
}

fn statuses(dir: &Path) -> Vec<(String, Status)> {
    RunDir::new(dir)
        .job_dirs()
        .unwrap()
        .into_iter()
        .map(|jd| (jd.run_id(), jd.read_status().unwrap().unwrap()))
        .collect()
}

fn tasks() -> Tasks {
    serde_yaml::from_str(
        "[{ name: digit, kind: classification, metric: acc }, { name: inpaint, kind: regression, metric: mse }]",
    )
    .unwrap()
}

#[test]
fn a_process_study_logs_and_reports_like_a_built_in_one() {
    if python().is_none() {
        return skipped("process trainer study", "no python3");
    }
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "p.yaml",
        &study(
            "p",
            "  - { name: digits, external: { steps_per_epoch: 4 } }",
            3,
            "{}",
            60.0,
        ),
    );
    sweep_ok(tmp.path(), &exp, "a", 2);
    let a = tmp.path().join("a");
    let st = statuses(&a);
    assert_eq!(st.len(), 8);
    assert!(
        st.iter()
            .all(|(_, s)| s.state == weightlab::runlog::JobState::Done),
        "{st:?}"
    );
    // The rows became the logs of any job: columns per task, step rows every 2 steps.
    let jd = RunDir::new(&a)
        .job_dirs()
        .unwrap()
        .into_iter()
        .find(|j| j.run_id().contains("-upgrad-"))
        .unwrap();
    let epochs = EpochRow::read(&jd.epochs(), &tasks()).unwrap();
    assert_eq!(epochs.len(), 3);
    assert!(epochs
        .iter()
        .all(|e| e.test.len() == 2 && e.val.iter().all(Option::is_some)));
    assert_eq!(jd.read_steps(&tasks()).unwrap().len(), 3 * 4 / 2);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(jd.job_spec()).unwrap()).unwrap();
    assert_eq!(spec["strategy"]["name"], "upgrad");
    assert_eq!(spec["strategy"]["settings"]["norm_eps"], 0.0001);
    assert_eq!(spec["tasks"][1]["direction"], "lower");
    assert_eq!(spec["contract"], 1);
    // Static points get their weights by task name.
    let jd0 = RunDir::new(&a).job(
        &st.iter()
            .find(|(id, _)| id.contains("static-w0.0"))
            .unwrap()
            .0,
    );
    let spec0: serde_json::Value =
        serde_json::from_slice(&std::fs::read(jd0.job_spec()).unwrap()).unwrap();
    assert_eq!(spec0["strategy"]["weights"]["inpaint"], 1.0);
    // Reports read it; the method is compared with the static points.
    let o = run(
        tmp.path(),
        &[
            "report",
            "compare",
            "a",
            "--baseline",
            "upgrad norm_eps=0.0001",
        ],
    );
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        md.contains("inpaint mse") && md.contains("| digits | static w1=0.5 |"),
        "{md}"
    );
    let o = run(tmp.path(), &["report", "plot", "a", "--out", "figs"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("figs/report.html").is_file());
    // The same study again: the same logs (diff at tolerance 0), and a third run finds nothing
    // to do.
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "b"],
    );
    assert!(o.status.success());
    let o = run(tmp.path(), &["report", "diff", "a", "b", "--tol", "0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "b"],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("8/8 jobs done"));
}

#[test]
fn each_fault_fails_its_own_job_with_its_reason_and_the_sweep_goes_on() {
    if python().is_none() {
        return skipped("process trainer faults", "no python3");
    }
    let tmp = tempfile::tempdir().unwrap();
    let faults = [
        (
            "crash",
            "crash_after_epoch:1",
            Some("the trainer exited with code 3: fake_trainer: crash_after_epoch:1: crashing"),
        ),
        // Two step rows (every 2 of 4 steps), then the epoch row: epoch 1's is line 3.
        (
            "garbage",
            "garbage_line",
            Some("rows.jsonl:4: (line): not a JSON object"),
        ),
        (
            "unknown",
            "unknown_task",
            Some("rows.jsonl:3: raw_w.bogus: unknown task `bogus`"),
        ),
        (
            "nan",
            "nan",
            Some("rows.jsonl:3: (line): not a JSON object"),
        ),
        (
            "hang",
            "hang",
            Some("timed out after 4 s (trainer.timeout) at epoch 2 of 2"),
        ),
        (
            "short",
            "no_last_row",
            Some("the trainer exited 0 after logging 1 of 2 epochs"),
        ),
        (
            "order",
            "out_of_order",
            Some("rows.jsonl:3: epoch: epoch 2 after epoch 0"),
        ),
        ("null", "null_metric", None),
        ("fine", "", None),
    ];
    let datasets: String = faults
        .iter()
        .map(|(name, fault, _)| {
            if fault.is_empty() {
                format!("  - {{ name: {name}, external: {{}} }}\n")
            } else {
                format!("  - {{ name: {name}, external: {{ fault: '{fault}' }} }}\n")
            }
        })
        .collect();
    let exp = write(
        tmp.path(),
        "f.yaml",
        &study("f", datasets.trim_end(), 2, "{}", 4.0),
    );
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
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let st = statuses(&tmp.path().join("f"));
    assert_eq!(st.len(), faults.len() * 8);
    for (name, _, reason) in faults {
        let mine: Vec<&Status> = st
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("{name}-")))
            .map(|(_, s)| s)
            .collect();
        assert_eq!(mine.len(), 8, "{name}");
        for s in mine {
            match reason {
                Some(r) => {
                    assert_eq!(s.state, weightlab::runlog::JobState::Failed, "{name}");
                    let got = s.reason.as_deref().unwrap_or("");
                    assert!(got.contains(r), "{name}: {got}\n  wanted {r}");
                }
                None => assert_eq!(s.state, weightlab::runlog::JobState::Done, "{name}: {s:?}"),
            }
        }
    }
    // An explicit null metric is read as missing, not refused.
    let jd = RunDir::new(tmp.path().join("f"))
        .job_dirs()
        .unwrap()
        .into_iter()
        .find(|j| j.run_id().starts_with("null-"))
        .unwrap();
    let e = EpochRow::read(&jd.epochs(), &tasks()).unwrap();
    assert!(e[0].test[0].is_nan() && e[1].test[0].is_finite());
    // The trainer's stderr is kept in the job folder.
    let crash = RunDir::new(tmp.path().join("f"))
        .job_dirs()
        .unwrap()
        .into_iter()
        .find(|j| j.run_id().starts_with("crash-"))
        .unwrap();
    assert!(std::fs::read_to_string(crash.trainer_stderr())
        .unwrap()
        .contains("crashing"));
}

#[test]
fn a_missing_interpreter_fails_the_job_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let text = study("m", "  - { name: d, external: {} }", 2, "{}", 10.0)
        .replace("command: [python3,", "command: [no-such-python-here,");
    let exp = write(tmp.path(), "m.yaml", &text);
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "m"],
    );
    assert_eq!(o.status.code(), Some(1));
    let st = statuses(&tmp.path().join("m"));
    assert!(
        st.iter().all(|(_, s)| s
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("cannot start the trainer `no-such-python-here`"))),
        "{st:?}"
    );
}

/// `weightlab sweep run` in the background; SIGTERM once `rows.jsonl` of some job holds
/// `lines` lines; its exit code.
fn stop_after_rows(cwd: &Path, exp: &Path, out: &str, lines: usize) -> i32 {
    let mut child = Command::new(common::bin())
        .args([
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            out,
            "--jobs",
            "1",
        ])
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reached = RunDir::new(cwd.join(out))
            .job_dirs()
            .unwrap_or_default()
            .iter()
            .any(|jd| {
                std::fs::read_to_string(jd.trainer_rows()).is_ok_and(|t| t.lines().count() >= lines)
            });
        if reached || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn a_stopped_job_is_pending_and_resumes_to_the_rows_of_an_uninterrupted_run() {
    if python().is_none() {
        return skipped("process trainer resume", "no python3");
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, fault) in [("plain", ""), ("resent", "resend_rows")] {
        let settings = if fault.is_empty() {
            "{ sleep: 0.3 }".to_string()
        } else {
            format!("{{ sleep: 0.3, fault: {fault} }}")
        };
        let text = study(
            name,
            &format!("  - {{ name: d, external: {settings} }}"),
            4,
            "{}",
            60.0,
        )
        .replace("seeds: [1, 2]", "seeds: [1]")
        .replace("  - static: { w1: [0.0, 0.5, 1.0] }\n", "");
        let exp = write(tmp.path(), &format!("{name}.yaml"), &text);
        let whole = format!("{name}-whole");
        let o = run(
            tmp.path(),
            &["sweep", "run", exp.to_str().unwrap(), "--out", &whole],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let parted = format!("{name}-parted");
        let code = stop_after_rows(tmp.path(), &exp, &parted, 2);
        assert_eq!(code, 143, "{name}: the sweep exits as SIGTERM stopped it");
        let st = statuses(&tmp.path().join(&parted));
        assert_eq!(
            st[0].1.state,
            weightlab::runlog::JobState::Pending,
            "{name}: {st:?}"
        );
        let o = run(
            tmp.path(),
            &["sweep", "run", exp.to_str().unwrap(), "--out", &parted],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = run(
            tmp.path(),
            &["report", "diff", &whole, &parted, "--tol", "0"],
        );
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // A trainer that sends an epoch again with other values fails on resume.
    let text = study(
        "diff",
        "  - { name: d, external: { sleep: 0.3, fault: resend_different } }",
        4,
        "{}",
        60.0,
    )
    .replace("seeds: [1, 2]", "seeds: [1]")
    .replace("  - static: { w1: [0.0, 0.5, 1.0] }\n", "");
    let exp = write(tmp.path(), "diff.yaml", &text);
    stop_after_rows(tmp.path(), &exp, "diff", 2);
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "diff"],
    );
    assert_eq!(o.status.code(), Some(1));
    let st = statuses(&tmp.path().join("diff"));
    assert!(
        st[0]
            .1
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("epoch 1 was logged before with other values")),
        "{st:?}"
    );
}

#[test]
fn a_trainer_that_ignores_sigterm_is_killed_after_the_grace_period() {
    if python().is_none() {
        return skipped("process trainer SIGKILL", "no python3");
    }
    let tmp = tempfile::tempdir().unwrap();
    let text = study(
        "ig",
        "  - { name: d, external: { fault: ignore_sigterm } }",
        3,
        "{}",
        60.0,
    )
    .replace("seeds: [1, 2]", "seeds: [1]")
    .replace("  - static: { w1: [0.0, 0.5, 1.0] }\n", "");
    let exp = write(tmp.path(), "ig.yaml", &text);
    let started = Instant::now();
    let code = stop_after_rows(tmp.path(), &exp, "ig", 1);
    assert_eq!(code, 143);
    // The grace period (1 s) passed, then SIGKILL: well under the 60 s timeout.
    assert!(started.elapsed() < Duration::from_secs(30));
    let st = statuses(&tmp.path().join("ig"));
    assert_eq!(
        st[0].1.state,
        weightlab::runlog::JobState::Pending,
        "{st:?}"
    );
    // No trainer of this job is left running.
    let spec = RunDir::new(tmp.path().join("ig")).job(&st[0].0).job_spec();
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&ps.stdout).contains(&*spec.display().to_string()));
}

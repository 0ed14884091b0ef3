//! Checkpoints: a job stopped by SIGTERM or killed with SIGKILL resumes from its last
//! checkpoint, and its logs equal those of an uninterrupted run (`steps.parquet` byte for
//! byte); a corrupt checkpoint or one of another config is set aside and the job restarts; a
//! done job keeps its model, which `weightlab eval` scores like training did.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use weightlab::files::TMP_SUFFIX;
use weightlab::report::diff::diff;
use weightlab::train::Checkpoint;

const STRATEGIES: &str = "  - rlw: {}\n  - dwa: {}\n  - gradnorm: {}\n  - uncertainty: {}";

fn experiment(dir: &Path) -> PathBuf {
    let yaml = tiny_yaml("ck", STRATEGIES, "")
        .replace("epochs: 2", "epochs: 12")
        .replace("images_per_cell: 2", "images_per_cell: 6");
    write(dir, "ck.yaml", &yaml)
}

fn spawn(dir: &Path, exp: &Path, out: &str, log: &str) -> Child {
    Command::new(bin())
        .args([
            "sweep",
            "run",
            exp.to_str().unwrap(),
            "--out",
            out,
            "--jobs",
            "2",
        ])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(dir.join(log)).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Wait until some job of `sweep` is running with a checkpoint behind it.
fn wait_for_a_checkpoint(sweep: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if sweep.exists() {
            for d in job_dirs(sweep) {
                let status = std::fs::read_to_string(d.join("status.json")).unwrap_or_default();
                if status.contains("\"running\"") && d.join("checkpoint.bin").exists() {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no job reached a checkpoint in 60 s");
}

fn assert_same_logs(reference: &Path, resumed: &Path) {
    let d = diff(reference, resumed).unwrap();
    assert!(d.within(0.0), "{}", d.render(0.0));
    for dir in job_dirs(reference) {
        let twin = resumed.join(dir.file_name().unwrap());
        assert_eq!(
            std::fs::read(dir.join("steps.parquet")).unwrap(),
            std::fs::read(twin.join("steps.parquet")).unwrap(),
            "steps.parquet of {} differs",
            dir.display()
        );
    }
    let mut temporaries = Vec::new();
    for dir in job_dirs(resumed) {
        for f in std::fs::read_dir(dir).unwrap().flatten() {
            if f.path().to_string_lossy().ends_with(TMP_SUFFIX) {
                temporaries.push(f.path());
            }
        }
    }
    assert!(temporaries.is_empty(), "{temporaries:?}");
}

#[test]
fn sigterm_and_sigkill_resume_from_the_checkpoint_with_identical_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(tmp.path());
    sweep_ok(tmp.path(), &exp, "ref", 2);

    // SIGTERM: the running jobs finish their step, checkpoint, and are pending again.
    let mut child = spawn(tmp.path(), &exp, "term", "term1.log");
    wait_for_a_checkpoint(&tmp.path().join("term"));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let code = child.wait().unwrap().code();
    let log = std::fs::read_to_string(tmp.path().join("term1.log")).unwrap();
    assert_eq!(code, Some(143), "{log}");
    assert!(log.contains("resume with `weightlab sweep run"), "{log}");
    let status = run(tmp.path(), &["sweep", "status", "term"]);
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(status.contains("(interrupted at epoch "), "{status}");
    assert!(status.contains("/12"), "no epoch progress: {status}");
    sweep_ok(tmp.path(), &exp, "term", 2);
    assert_same_logs(&tmp.path().join("ref"), &tmp.path().join("term"));

    // SIGKILL after a checkpoint: the job resumes from it (at most the epoch in progress is
    // trained again); a truncated checkpoint and one of another job are set aside.
    let mut child = spawn(tmp.path(), &exp, "kill", "kill1.log");
    wait_for_a_checkpoint(&tmp.path().join("kill"));
    child.kill().unwrap();
    child.wait().unwrap();
    let dirs = job_dirs(&tmp.path().join("kill"));
    let with_checkpoint: Vec<&PathBuf> = dirs
        .iter()
        .filter(|d| d.join("checkpoint.bin").exists())
        .collect();
    assert!(!with_checkpoint.is_empty());
    let resume = spawn(tmp.path(), &exp, "kill", "kill2.log").wait().unwrap();
    assert!(resume.success());
    let log = std::fs::read_to_string(tmp.path().join("kill2.log")).unwrap();
    assert!(log.contains("job resumed from its checkpoint"), "{log}");
    assert_same_logs(&tmp.path().join("ref"), &tmp.path().join("kill"));

    // Corrupt and foreign checkpoints: each job restarts, with a warning, to the same logs.
    let mut child = spawn(tmp.path(), &exp, "bad", "bad1.log");
    wait_for_a_checkpoint(&tmp.path().join("bad"));
    child.kill().unwrap();
    child.wait().unwrap();
    let dirs = job_dirs(&tmp.path().join("bad"));
    let ck: Vec<PathBuf> = dirs
        .iter()
        .map(|d| d.join("checkpoint.bin"))
        .filter(|p| p.exists())
        .collect();
    let bytes = std::fs::read(&ck[0]).unwrap();
    std::fs::write(&ck[0], &bytes[..bytes.len() / 2]).unwrap();
    let foreign = dirs
        .iter()
        .find(|d| !d.join("checkpoint.bin").exists())
        .unwrap();
    std::fs::write(foreign.join("checkpoint.bin"), &bytes).unwrap();
    std::fs::write(
        foreign.join("status.json"),
        std::fs::read_to_string(foreign.join("status.json"))
            .unwrap_or_default()
            .replace("\"done\"", "\"pending\""),
    )
    .unwrap();
    let again = spawn(tmp.path(), &exp, "bad", "bad2.log").wait().unwrap();
    assert!(again.success());
    let log = std::fs::read_to_string(tmp.path().join("bad2.log")).unwrap();
    assert!(log.contains("checkpoint ignored"), "{log}");
    assert!(log.contains("checkpoint of another config"), "{log}");
    assert_same_logs(&tmp.path().join("ref"), &tmp.path().join("bad"));

    // A checkpoint that is whole and of this config but whose Θ record does not load (Ψ's
    // record in its place): the job restarts from scratch, to the same logs.
    let mut child = spawn(tmp.path(), &exp, "unfit", "unfit1.log");
    wait_for_a_checkpoint(&tmp.path().join("unfit"));
    child.kill().unwrap();
    child.wait().unwrap();
    let path = job_dirs(&tmp.path().join("unfit"))
        .into_iter()
        .map(|d| d.join("checkpoint.bin"))
        .find(|p| p.exists())
        .unwrap();
    let mut ck = Checkpoint::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    ck.theta = ck.psi.clone();
    std::fs::write(&path, ck.to_bytes().unwrap()).unwrap();
    let again = spawn(tmp.path(), &exp, "unfit", "unfit2.log")
        .wait()
        .unwrap();
    assert!(again.success());
    let log = std::fs::read_to_string(tmp.path().join("unfit2.log")).unwrap();
    assert!(
        log.contains("checkpoint set aside; the job restarts"),
        "{log}"
    );
    assert_same_logs(&tmp.path().join("ref"), &tmp.path().join("unfit"));
}

#[test]
fn a_done_job_keeps_its_model_and_eval_scores_it_like_training() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = write(
        tmp.path(),
        "e.yaml",
        &tiny_yaml("ev", "  - static: { w1: [0.5] }", ""),
    );
    sweep_ok(tmp.path(), &exp, "r", 1);
    let job = job_dirs(&tmp.path().join("r")).remove(0);
    for f in [
        "model-theta.bpk",
        "model-psi.bpk",
        "model.json",
        "checkpoint.bin",
    ] {
        assert!(job.join(f).is_file(), "{f} missing");
    }
    let tasks = weightlab::task::Tasks::default();
    let last = weightlab::runlog::JobDir::at(&job)
        .read_epochs(&tasks)
        .unwrap();
    let last = last.last().unwrap();
    let o = run(tmp.path(), &["eval", job.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let row: Vec<&str> = out.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[1], "synth");
    assert_eq!(row[4].parse::<f64>().unwrap(), last.test[0], "{out}");
    assert_eq!(row[5].parse::<f64>().unwrap(), last.test[1], "{out}");

    // Another dataset, written as a YAML entry: other faces of the same size.
    let other = "{ name: other, synthetic: { identities: 8, test_identities: 3, expressions: 4, images_per_cell: 2, image_size: 16, seed: 99 } }";
    let o = run(
        tmp.path(),
        &["eval", job.to_str().unwrap(), "--dataset", other],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.lines().nth(1).unwrap().starts_with(&format!(
            "{},other,",
            job.file_name().unwrap().to_string_lossy()
        )),
        "{out}"
    );
    // A size the model does not take is bad input naming the field.
    let big = other.replace("image_size: 16", "image_size: 24");
    let o = run(
        tmp.path(),
        &["eval", job.to_str().unwrap(), "--dataset", &big],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("image_size"));
}

//! The bad-input corpus of `tests/bad_inputs/cases.yaml`: every case exits with code 2, prints
//! one `error:` line naming the file and the field, no panic, and leaves no folder behind.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{copy_dir, run};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    patch: Option<(String, String)>,
    #[serde(default)]
    args: Option<Vec<String>>,
    expect: Vec<String>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.insert(e.path());
        if e.path().is_dir() {
            out.extend(tree(&e.path()));
        }
    }
    out
}

#[test]
fn every_bad_input_is_one_clear_error_with_exit_code_2() {
    let cases: Vec<Case> =
        serde_yaml::from_str(&std::fs::read_to_string(corpus().join("cases.yaml")).unwrap())
            .unwrap();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let base = std::fs::read_to_string(corpus().join("base.yaml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("corpus");
    copy_dir(&corpus(), &work);
    let mut failures = Vec::new();
    for case in &cases {
        let text = match &case.patch {
            Some((from, to)) => {
                assert!(
                    base.contains(from.as_str()),
                    "{}: `{from}` is not in base.yaml",
                    case.name
                );
                base.replacen(from.as_str(), to, 1)
            }
            None => base.clone(),
        };
        std::fs::write(work.join("case.yaml"), text).unwrap();
        let before = tree(&work);
        let args: Vec<String> = case
            .args
            .clone()
            .unwrap_or_else(|| vec!["sweep".into(), "run".into(), "case.yaml".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&work, &args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        let mut problems = Vec::new();
        if out.status.code() != Some(2) {
            problems.push(format!("exit code {:?}", out.status.code()));
        }
        if error_lines.len() != 1 {
            problems.push(format!("{} error lines", error_lines.len()));
        }
        for e in &case.expect {
            if !error_lines.first().is_some_and(|l| l.contains(e.as_str())) {
                problems.push(format!("does not name `{e}`"));
            }
        }
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            problems.push("panic text".into());
        }
        if tree(&work) != before {
            problems.push("files were left behind".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} — stderr: {}",
                case.name,
                problems.join(", "),
                err.trim()
            ));
        }
        println!(
            "ok  {:<40} {}",
            case.name,
            error_lines.first().unwrap_or(&"")
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A full disk, simulated with a tiny tmpfs when this machine lets us mount one.
#[test]
fn a_full_disk_is_an_input_error_without_a_half_made_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&disk)
        .output();
    let refusal = match &mount {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = refusal {
        common::skipped(
            "a_full_disk_is_an_input_error_without_a_half_made_folder",
            &format!("cannot mount a tmpfs here ({why})"),
        );
        return;
    }
    // Fill the disk, then ask for a sweep on it.
    let _ = std::fs::write(disk.join("filler"), vec![0u8; 60 * 1024]);
    let _ = std::fs::write(disk.join("filler2"), vec![0u8; 64 * 1024]);
    // The setup took effect: nothing more fits.
    let full = std::fs::write(disk.join("probe"), vec![0u8; 4096]).is_err();
    if !full {
        let _ = std::process::Command::new("umount").arg(&disk).status();
        panic!("the 64 KiB tmpfs took 128 KiB of filler and 4 KiB more");
    }
    std::fs::copy(corpus().join("base.yaml"), tmp.path().join("e.yaml")).unwrap();
    let out = run(
        tmp.path(),
        &["sweep", "run", "e.yaml", "--out", "disk/sweep"],
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let left_behind = disk.join("sweep").exists();
    let _ = std::process::Command::new("umount").arg(&disk).status();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !left_behind,
        "a half-made sweep folder was left on the full disk"
    );
    assert!(err.contains("disk/sweep"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

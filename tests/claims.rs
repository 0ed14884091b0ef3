//! Every committed report, and the README, states only numbers its claims file traces to a
//! committed file; a number edited by hand, or added without a claim, fails here.

mod common;

use std::path::PathBuf;

use common::copy_dir;

use weightlab::report::claims::{check, Problem};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The claims files of the repository: one per report folder, and the README's.
fn claims_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("reports/readme-claims.yaml")];
    for entry in std::fs::read_dir(root().join("reports")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("README.md").is_file() {
            files.push(dir.join("claims.yaml"));
        }
    }
    files.sort();
    files
}

#[test]
fn every_report_and_the_readme_pass_their_claims() {
    let mut failures = String::new();
    for file in claims_files() {
        assert!(
            file.is_file(),
            "{} is missing: every report needs one",
            file.display()
        );
        let outcome = check(&file).unwrap();
        assert!(outcome.checked > 0, "{}: no number checked", file.display());
        if !outcome.problems.is_empty() {
            failures.push_str(&outcome.render());
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// A copy of the files claims read (the reports, the experiments, the sources, the docs and
/// the README), in a temporary tree of the same shape.
fn copy_tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["reports", "experiments", "src", "docs"] {
        copy_dir(&root().join(dir), &tmp.path().join(dir));
    }
    std::fs::copy(root().join("README.md"), tmp.path().join("README.md")).unwrap();
    tmp
}

#[test]
fn a_number_edited_by_hand_fails() {
    let tmp = copy_tree();
    let readme = tmp.path().join("reports/fig2/README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    let claims = tmp.path().join("reports/fig2/claims.yaml");
    assert!(check(&claims).unwrap().problems.is_empty());

    // The headline gain, one digit off.
    let edited = text.replacen("+0.66 FV points", "+0.67 FV points", 1);
    assert_ne!(
        edited, text,
        "the sentence this test edits is gone from the report"
    );
    std::fs::write(&readme, &edited).unwrap();
    let problems = check(&claims).unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { text } if text.contains("+0.66"))),
        "{problems:?}"
    );

    // The same edit made in the claim too: the data disagree.
    let claims_text = std::fs::read_to_string(&claims).unwrap();
    std::fs::write(
        &claims,
        claims_text.replacen("+0.66 FV points", "+0.67 FV points", 1),
    )
    .unwrap();
    let problems = check(&claims).unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Mismatch { written, .. } if written == "+0.67")),
        "{problems:?}"
    );
}

#[test]
fn a_number_without_a_claim_fails() {
    let tmp = copy_tree();
    let readme = tmp.path().join("reports/fig2/README.md");
    let mut text = std::fs::read_to_string(&readme).unwrap();
    text.push_str("\nThe study also found 12.5 % more of everything.\n");
    std::fs::write(&readme, text).unwrap();
    let problems = check(&tmp.path().join("reports/fig2/claims.yaml"))
        .unwrap()
        .problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(matches!(&problems[0], Problem::Uncovered { written, .. } if written == "12.5"));
}

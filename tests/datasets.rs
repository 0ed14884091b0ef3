//! On-disk datasets: CK+, Oulu-CASIA and manifest fixture trees built here in temporary folders.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use weightlab::data::{ckplus, folds_of, oulu, DatasetSpec};

/// A 24×24 grayscale image whose content depends on `seed`, written as PNG or JPEG by extension.
fn face(path: &Path, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::GrayImage::from_fn(24, 24, |x, y| {
        image::Luma([((x * 7 + y * 3 + seed * 37) % 256) as u8])
    });
    img.save(path).unwrap();
}

/// CK+ tree: `subjects` subjects with two sequences each (one labelled with 1 + s % 7, one
/// unlabelled), 5 frames per sequence.
fn ckplus_tree(root: &Path, subjects: usize) -> usize {
    let mut labelled = 0;
    for s in 0..subjects {
        let subject = format!("S{:03}", 10 + s);
        for seq in ["001", "002"] {
            for f in 1..=5 {
                face(
                    &root.join(format!(
                        "cohn-kanade-images/{subject}/{seq}/{subject}_{seq}_{f:08}.png"
                    )),
                    (s * 10 + f) as u32,
                );
            }
        }
        let label_dir = root.join(format!("Emotion/{subject}/001"));
        std::fs::create_dir_all(&label_dir).unwrap();
        std::fs::write(
            label_dir.join(format!("{subject}_001_00000005_emotion.txt")),
            format!("   {}.0000000e+00\n", 1 + s % 7),
        )
        .unwrap();
        std::fs::create_dir_all(root.join(format!("Emotion/{subject}/002"))).unwrap(); // no label: ignored
        labelled += 1;
    }
    labelled
}

/// Oulu-CASIA tree under OriginalImg/VL/Strong: `subjects` × 3 expressions × 6 frames.
fn oulu_tree(root: &Path, subjects: usize) {
    for s in 0..subjects {
        for (k, e) in ["Anger", "Happiness", "Surprise"].iter().enumerate() {
            for f in 0..6 {
                face(
                    &root.join(format!(
                        "OriginalImg/VL/Strong/P{:03}/{e}/{f:03}.jpeg",
                        s + 1
                    )),
                    (s * 31 + k * 7 + f) as u32,
                );
            }
        }
    }
}

fn spec(yaml: &str) -> DatasetSpec {
    serde_yaml::from_str(yaml).unwrap()
}

#[test]
fn ckplus_loader_finds_first_and_last_three_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("CK+");
    let sequences = ckplus_tree(&root, 12);
    let entries = ckplus::listing(&root).unwrap();
    assert_eq!(entries.len(), 4 * sequences);
    for chunk in entries.chunks(4) {
        assert!(chunk[0].path.to_string_lossy().ends_with("_00000001.png"));
        assert_eq!(chunk[0].expression, "neutral");
        let frames: Vec<String> = chunk[1..]
            .iter()
            .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            frames[0].ends_with("_00000003.png") && frames[2].ends_with("_00000005.png"),
            "{frames:?}"
        );
        let subject_no: usize = chunk[0].subject[1..].parse().unwrap();
        assert!(chunk[1..]
            .iter()
            .all(|e| e.expression == ckplus::CKPLUS_EXPRESSIONS[1 + (subject_no - 10) % 7]));
    }
    // The label variant folder is accepted too.
    std::fs::rename(root.join("Emotion"), root.join("Emotion_labels")).unwrap();
    std::fs::create_dir_all(root.join("Emotion_labels/x")).unwrap();
    std::fs::rename(root.join("Emotion_labels"), tmp.path().join("tmp_labels")).unwrap();
    std::fs::create_dir_all(root.join("Emotion_labels")).unwrap();
    std::fs::rename(
        tmp.path().join("tmp_labels"),
        root.join("Emotion_labels/Emotion"),
    )
    .unwrap();
    assert_eq!(ckplus::listing(&root).unwrap().len(), 4 * sequences);
}

#[test]
fn oulu_loader_and_folds_by_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("Oulu");
    oulu_tree(&root, 10);
    let d = spec(&format!(
        "name: oulu\noulu_casia: {{ root: {}, folds: 5, fold: 2, image_size: 16 }}",
        root.display()
    ));
    let (set, split) = d.load().unwrap();
    assert_eq!(set.len(), 10 * 3 * 4);
    assert_eq!(set.expression_names, oulu::OULU_EXPRESSIONS);
    let happy = set
        .expression_names
        .iter()
        .position(|e| e == "happy")
        .unwrap() as u32;
    assert_eq!(
        set.expressions.iter().filter(|&&e| e == happy).count(),
        10 * 3
    );
    assert_eq!(set.expressions.iter().filter(|&&e| e == 0).count(), 10 * 3);
    // Folds partition the subjects; the test split is exactly fold 2.
    let folds = folds_of(&set, 5, 0);
    let mut all: Vec<u32> = folds.concat();
    all.sort();
    assert_eq!(all, (0..10).collect::<Vec<u32>>());
    let test_subjects: std::collections::BTreeSet<u32> =
        split.test.iter().map(|&i| set.subjects[i]).collect();
    let train_subjects: std::collections::BTreeSet<u32> =
        split.train.iter().map(|&i| set.subjects[i]).collect();
    assert!(test_subjects.is_disjoint(&train_subjects));
    assert_eq!(test_subjects.into_iter().collect::<Vec<_>>(), {
        let mut f = folds[2].clone();
        f.sort();
        f
    });
}

#[test]
fn sweeps_run_end_to_end_on_fixture_trees() {
    let tmp = tempfile::tempdir().unwrap();
    ckplus_tree(&tmp.path().join("CK+"), 10);
    oulu_tree(&tmp.path().join("Oulu"), 10);
    let synth = run(
        tmp.path(),
        &[
            "data",
            "synth",
            "--out",
            "mine",
            "--identities",
            "10",
            "--expressions",
            "3",
            "--images-per-cell",
            "2",
            "--image-size",
            "24",
        ],
    );
    assert!(synth.status.success());
    let yaml = "name: disk
datasets:
  - name: ck
    ckplus: { root: CK+, folds: 5, fold: 0, image_size: 16 }
  - name: oulu
    oulu_casia: { root: Oulu, folds: 5, fold: 1, image_size: 16 }
  - name: mine
    manifest: { csv: mine/manifest.csv, folds: 5, fold: 0, image_size: 16, crop: [2, 2, 20, 20] }
model: { embedding_dim: 8, z_dim: 16, expression_dim: 8 }
train: { epochs: 1, batch_size: 8 }
strategies:
  - l3: {}
";
    let exp = write(tmp.path(), "disk.yaml", yaml);
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "r"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let jobs = job_dirs(&tmp.path().join("r"));
    assert_eq!(jobs.len(), 3);
    for j in &jobs {
        // pairs.csv: balanced, every reference a neutral frame.
        let text = std::fs::read_to_string(j.join("pairs.csv")).unwrap();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert!(!rows.is_empty(), "{}", j.display());
        let same = rows.iter().filter(|r| r[2] == "1").count();
        assert_eq!(same * 2, rows.len(), "{}", j.display());
        for r in &rows {
            let neutral = r[0].ends_with("_00000001.png")
                || r[0].ends_with("/000.jpeg")
                || r[0].contains("neutral_");
            assert!(neutral, "reference {} is not a neutral frame", r[0]);
            assert_eq!(r[2] == "1", r[3] == r[4]);
        }
    }
    // The decoded images were cached; a second sweep reads them back.
    let cached: Vec<PathBuf> = std::fs::read_dir(tmp.path().join(".cache/decoded"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(cached.len(), 3);
    let again = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "r2"],
    );
    assert!(again.status.success());
    for j in &jobs {
        let twin = tmp.path().join("r2").join(j.file_name().unwrap());
        assert_eq!(
            std::fs::read(j.join("steps.parquet")).unwrap(),
            std::fs::read(twin.join("steps.parquet")).unwrap()
        );
    }
}

#[test]
fn every_dataset_error_is_one_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    ckplus_tree(&tmp.path().join("CK+"), 6);
    std::fs::create_dir_all(tmp.path().join("Empty/cohn-kanade-images")).unwrap();
    std::fs::create_dir_all(tmp.path().join("Empty/Emotion")).unwrap();
    ckplus_tree(&tmp.path().join("BadLabel"), 6);
    let label = tmp
        .path()
        .join("BadLabel/Emotion/S012/001/S012_001_00000005_emotion.txt");
    std::fs::write(&label, "\n  three\n").unwrap();
    ckplus_tree(&tmp.path().join("BadImage"), 6);
    let broken = tmp
        .path()
        .join("BadImage/cohn-kanade-images/S011/001/S011_001_00000005.png");
    std::fs::write(&broken, b"not a png").unwrap();

    let base = |dataset: &str| {
        format!(
            "name: err\ndatasets:\n  - name: d\n    {dataset}\nmodel: {{ embedding_dim: 8, z_dim: 16, expression_dim: 8 }}\ntrain: {{ epochs: 1, batch_size: 8 }}\nstrategies:\n  - static: {{ w1: [0.5] }}\n"
        )
    };
    let cases: &[(&str, &str)] = &[
        (
            "ckplus: { root: Nowhere, folds: 3, image_size: 16 }",
            "ckplus.root",
        ),
        (
            "ckplus: { root: Empty, folds: 3, image_size: 16 }",
            "no labelled sequence",
        ),
        (
            "ckplus: { root: BadLabel, folds: 3, image_size: 16 }",
            "S012_001_00000005_emotion.txt:2",
        ),
        (
            "ckplus: { root: BadImage, folds: 3, image_size: 16 }",
            "S011_001_00000005.png",
        ),
        (
            "ckplus: { root: CK+, folds: 3, fold: 3, image_size: 16 }",
            "ckplus.fold",
        ),
        ("ckplus: { root: CK+, folds: 30, image_size: 16 }", "folds"),
        (
            "oulu_casia: { root: CK+, image_size: 16 }",
            "oulu_casia.subset",
        ),
        ("manifest: { csv: none.csv }", "manifest.csv"),
    ];
    for (k, (dataset, needle)) in cases.iter().enumerate() {
        let exp = write(tmp.path(), &format!("err{k}.yaml"), &base(dataset));
        let o = run(
            tmp.path(),
            &["sweep", "run", exp.to_str().unwrap(), "--out", "r"],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {k}: {err}");
        assert!(err.contains(needle), "case {k}: `{needle}` not in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "case {k}: {err}");
        assert!(
            !tmp.path().join("r").exists(),
            "case {k}: a run folder was left behind"
        );
    }
    // on_bad_image: skip leaves the broken image out and trains.
    let exp = write(
        tmp.path(),
        "skip.yaml",
        &base("ckplus: { root: BadImage, folds: 3, image_size: 16, on_bad_image: skip }"),
    );
    let o = run(
        tmp.path(),
        &["sweep", "run", exp.to_str().unwrap(), "--out", "skip"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

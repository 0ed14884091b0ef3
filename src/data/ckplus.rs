//! CK+ (Extended Cohn-Kanade), in the distribution's layout:
//!
//! ```text
//! <root>/cohn-kanade-images/S005/001/S005_001_00000001.png
//! <root>/Emotion/S005/001/S005_001_00000011_emotion.txt     (or <root>/Emotion_labels/Emotion/…)
//! ```
//!
//! As in the authors' code, every labelled sequence gives its first frame as `neutral` and its
//! last three frames with the sequence's label (327 sequences → 1308 images on the full set).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::disk::{
    decode_listing, image_files, shown, sub_dirs, BadImagePolicy, DecodeOptions, Entry,
};
use super::FaceSet;
use crate::error::{Error, Result};

/// CK+ labels, in the order of the label files' numbers 0–7.
pub const CKPLUS_EXPRESSIONS: [&str; 8] = [
    "neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise",
];

/// Settings of a CK+ dataset (`ckplus:` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CkPlusConfig {
    /// The folder holding `cohn-kanade-images` and `Emotion`.
    pub root: PathBuf,
    /// Number of subject folds.
    #[serde(default = "super::disk::default_folds")]
    pub folds: usize,
    /// The fold held out for testing, 0-based.
    #[serde(default)]
    pub fold: usize,
    /// A second fold held out for model selection (the validation split), 0-based; none by
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_fold: Option<usize>,
    /// Side of the model input.
    #[serde(default = "super::disk::default_image_size")]
    pub image_size: usize,
    /// Seed of the subject shuffle that defines the folds.
    #[serde(default)]
    pub split_seed: u64,
    /// Crop box `[x, y, width, height]` applied before resizing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<[u32; 4]>,
    /// Unreadable images: fail (default) or skip.
    #[serde(default)]
    pub on_bad_image: BadImagePolicy,
}

fn first_existing(root: &Path, candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(|c| root.join(c)).find(|p| p.is_dir())
}

/// Parse a CK+ emotion file: one float 0–7 (e.g. `   3.0000000e+00`).
fn parse_label(path: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path.display().to_string(),
            "ckplus.Emotion",
            format!("cannot read label file: {e}"),
        )
    })?;
    let (line, value) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or_else(|| {
            Error::input(
                format!("{}:1", path.display()),
                "ckplus.Emotion",
                "empty label file",
            )
        })?;
    let v: f64 = value.trim().parse().map_err(|_| {
        Error::input(
            format!("{}:{}", path.display(), line + 1),
            "ckplus.Emotion",
            format!("`{}` is not a number 0–7", value.trim()),
        )
    })?;
    if v.fract() != 0.0 || !(0.0..=7.0).contains(&v) {
        return Err(Error::input(
            format!("{}:{}", path.display(), line + 1),
            "ckplus.Emotion",
            format!("label {v} is not one of 0–7"),
        ));
    }
    Ok(v as usize)
}

/// The CK+ listing under `root`.
pub fn listing(root: &Path) -> Result<Vec<Entry>> {
    let field = "ckplus.root";
    if !root.is_dir() {
        return Err(Error::input(
            root.display().to_string(),
            field,
            "CK+ folder not found",
        ));
    }
    let images = first_existing(root, &["cohn-kanade-images", "CK+/cohn-kanade-images"])
        .ok_or_else(|| {
            Error::input(
                root.display().to_string(),
                field,
                "no cohn-kanade-images folder inside; point root at the CK+ folder",
            )
        })?;
    let labels = first_existing(root, &["Emotion", "Emotion_labels/Emotion", "CK+/Emotion"])
        .ok_or_else(|| {
            Error::input(
                root.display().to_string(),
                field,
                "no Emotion (or Emotion_labels/Emotion) folder inside",
            )
        })?;
    let mut entries = Vec::new();
    for subject_dir in sub_dirs(&labels) {
        let subject = subject_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for seq_dir in sub_dirs(&subject_dir) {
            let label_files: Vec<PathBuf> = std::fs::read_dir(&seq_dir)
                .map(|d| {
                    d.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.to_string_lossy().ends_with("_emotion.txt"))
                        .collect()
                })
                .unwrap_or_default();
            let Some(label_file) = label_files.first() else {
                continue;
            };
            let label = parse_label(label_file)?;
            let seq = seq_dir.file_name().unwrap_or_default();
            let frames = image_files(&images.join(&subject).join(seq));
            if frames.len() < 4 {
                return Err(Error::input(
                    images.join(&subject).join(seq).display().to_string(),
                    field,
                    format!(
                        "a labelled sequence needs at least 4 frames, found {}",
                        frames.len()
                    ),
                ));
            }
            let mut push = |path: &PathBuf, expression: &str| {
                entries.push(Entry {
                    path: path.clone(),
                    shown: shown(path, root),
                    subject: subject.clone(),
                    expression: expression.to_string(),
                })
            };
            push(&frames[0], CKPLUS_EXPRESSIONS[0]);
            for f in &frames[frames.len() - 3..] {
                push(f, CKPLUS_EXPRESSIONS[label]);
            }
        }
    }
    if entries.is_empty() {
        return Err(Error::input(
            root.display().to_string(),
            field,
            "no labelled sequence found under Emotion/",
        ));
    }
    Ok(entries)
}

/// Load CK+.
pub fn load(name: &str, cfg: &CkPlusConfig) -> Result<FaceSet> {
    let entries = listing(&cfg.root)?;
    let opts = DecodeOptions {
        image_size: cfg.image_size,
        crop: cfg.crop,
        on_bad_image: cfg.on_bad_image,
    };
    decode_listing(
        name,
        entries,
        CKPLUS_EXPRESSIONS.iter().map(|s| s.to_string()).collect(),
        &opts,
    )
}

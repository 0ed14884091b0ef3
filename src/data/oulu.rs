//! Oulu-CASIA NIR&VIS facial expressions, VIS / Strong illumination by default:
//!
//! ```text
//! <root>/<subset>/P001/Anger/000.jpeg
//! ```
//!
//! `subset` defaults to `VL/Strong`. `root` may be the distribution's top folder
//! (`<root>/OriginalImg/VL/Strong/…` or `<root>/Oulu_CASIA_NIR_VIS/VL/Strong/…`) or the
//! subset folder itself. Expression folders are matched case-insensitively (`Happiness` and
//! `Happy` both mean happy). Each sequence gives its first frame as `neutral` and its last
//! three frames with the folder's expression (80 subjects × 6 × 4 = 1920 images on the full set).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::disk::{
    decode_listing, image_files, shown, sub_dirs, BadImagePolicy, DecodeOptions, Entry,
};
use super::FaceSet;
use crate::error::{Error, Result};

/// Labels: neutral plus the six Oulu-CASIA expressions.
pub const OULU_EXPRESSIONS: [&str; 7] = [
    "neutral", "anger", "disgust", "fear", "happy", "sadness", "surprise",
];

/// Settings of an Oulu-CASIA dataset (`oulu_casia:` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OuluConfig {
    /// The distribution's folder (see the module doc for the accepted layouts).
    pub root: PathBuf,
    /// Sub-path of the lighting condition, e.g. `VL/Strong`, `VL/Weak`, `NI/Dark`.
    #[serde(default = "default_subset")]
    pub subset: String,
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

fn default_subset() -> String {
    "VL/Strong".to_string()
}
fn expression_of(folder: &str) -> Option<&'static str> {
    match folder.to_lowercase().as_str() {
        "anger" | "angry" => Some("anger"),
        "disgust" => Some("disgust"),
        "fear" => Some("fear"),
        "happiness" | "happy" => Some("happy"),
        "sadness" | "sad" => Some("sadness"),
        "surprise" => Some("surprise"),
        _ => None,
    }
}

/// The folder holding `P001/…` for `cfg`.
fn subset_dir(root: &Path, subset: &str) -> Option<PathBuf> {
    [
        root.join(subset),
        root.join("OriginalImg").join(subset),
        root.join("Oulu_CASIA_NIR_VIS").join(subset),
        root.to_path_buf(),
    ]
    .into_iter()
    .find(|p| {
        sub_dirs(p).iter().any(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('P'))
        })
    })
}

/// The Oulu-CASIA listing of `cfg`.
pub fn listing(cfg: &OuluConfig) -> Result<Vec<Entry>> {
    let field = "oulu_casia.root";
    if !cfg.root.is_dir() {
        return Err(Error::input(
            cfg.root.display().to_string(),
            field,
            "Oulu-CASIA folder not found",
        ));
    }
    let dir = subset_dir(&cfg.root, &cfg.subset).ok_or_else(|| {
        Error::input(
            cfg.root.display().to_string(),
            "oulu_casia.subset",
            format!(
                "no subject folders (P001, …) under {}/{} or its OriginalImg/",
                cfg.root.display(),
                cfg.subset
            ),
        )
    })?;
    let mut entries = Vec::new();
    for subject_dir in sub_dirs(&dir) {
        let subject = subject_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for expr_dir in sub_dirs(&subject_dir) {
            let folder = expr_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(expression) = expression_of(&folder) else {
                tracing::debug!(folder = %expr_dir.display(), "not an expression folder; ignored");
                continue;
            };
            let frames = image_files(&expr_dir);
            if frames.len() < 4 {
                return Err(Error::input(
                    expr_dir.display().to_string(),
                    field,
                    format!("a sequence needs at least 4 frames, found {}", frames.len()),
                ));
            }
            let mut push = |path: &PathBuf, expression: &str| {
                entries.push(Entry {
                    path: path.clone(),
                    shown: shown(path, &cfg.root),
                    subject: subject.clone(),
                    expression: expression.to_string(),
                })
            };
            push(&frames[0], "neutral");
            for f in &frames[frames.len() - 3..] {
                push(f, expression);
            }
        }
    }
    if entries.is_empty() {
        return Err(Error::input(
            dir.display().to_string(),
            field,
            "no expression sequences found",
        ));
    }
    Ok(entries)
}

/// Load Oulu-CASIA.
pub fn load(name: &str, cfg: &OuluConfig) -> Result<FaceSet> {
    let opts = DecodeOptions {
        image_size: cfg.image_size,
        crop: cfg.crop,
        on_bad_image: cfg.on_bad_image,
    };
    decode_listing(
        name,
        listing(cfg)?,
        OULU_EXPRESSIONS.iter().map(|s| s.to_string()).collect(),
        &opts,
    )
}

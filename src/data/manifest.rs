//! Images listed in a CSV manifest (`path,subject,expression`), for any dataset on disk.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::disk::{decode_listing, BadImagePolicy, DecodeOptions, Entry};
use super::FaceSet;
use crate::error::{Error, Result};

/// Settings of a manifest dataset (`manifest:` in the experiment YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestConfig {
    /// The CSV file; image paths in it are relative to its folder.
    pub csv: PathBuf,
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
    /// Side of the square model input; images are resized to it.
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

/// The manifest's listing and expression names (`neutral` first when present).
pub fn listing(csv_path: &Path) -> Result<(Vec<Entry>, Vec<String>)> {
    let field = "manifest.csv";
    if !csv_path.is_file() {
        return Err(Error::input(
            csv_path.display().to_string(),
            field,
            "manifest file not found (columns: path,subject,expression)",
        ));
    }
    let at = |line: usize| format!("{}:{line}", csv_path.display());
    let mut reader =
        csv::Reader::from_path(csv_path).map_err(|e| Error::input(at(1), field, e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::input(at(1), field, e.to_string()))?
        .clone();
    let col = |n: &str| {
        headers.iter().position(|h| h.trim() == n).ok_or_else(|| {
            Error::input(
                at(1),
                format!("{field}: column {n}"),
                "missing column; the header must be path,subject,expression",
            )
        })
    };
    let (cp, cs, ce) = (col("path")?, col("subject")?, col("expression")?);
    let folder = csv_path.parent().unwrap_or(Path::new("."));
    let mut entries = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::input(at(line), field, e.to_string()))?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
        let (path, subject, expression) = (get(cp), get(cs), get(ce));
        if path.is_empty() || subject.is_empty() || expression.is_empty() {
            return Err(Error::input(
                at(line),
                field,
                "path, subject and expression must all be set",
            ));
        }
        let full = folder.join(&path);
        if !full.is_file() {
            return Err(Error::input(
                at(line),
                format!("{field}: path"),
                format!("image {} not found", full.display()),
            ));
        }
        entries.push(Entry {
            path: full,
            shown: path,
            subject,
            expression,
        });
    }
    if entries.is_empty() {
        return Err(Error::input(
            csv_path.display().to_string(),
            field,
            "the manifest lists no images",
        ));
    }
    let mut expressions: Vec<String> = entries.iter().map(|e| e.expression.clone()).collect();
    expressions.sort();
    expressions.dedup();
    if let Some(n) = expressions.iter().position(|e| e == "neutral") {
        let neutral = expressions.remove(n);
        expressions.insert(0, neutral);
    }
    Ok((entries, expressions))
}

/// Load every image the manifest lists.
pub fn load(name: &str, cfg: &ManifestConfig) -> Result<FaceSet> {
    let (entries, expressions) = listing(&cfg.csv)?;
    let opts = DecodeOptions {
        image_size: cfg.image_size,
        crop: cfg.crop,
        on_bad_image: cfg.on_bad_image,
    };
    decode_listing(name, entries, expressions, &opts)
}

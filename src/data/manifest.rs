//! Images listed in a CSV manifest (`path,subject,expression`), for any dataset on disk.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::FaceSet;
use crate::error::{Error, Result};

/// Settings of a manifest dataset (`manifest:` in the experiment YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestConfig {
    /// The CSV file; image paths in it are relative to its folder.
    pub csv: PathBuf,
    /// Number of subject folds.
    #[serde(default = "default_folds")]
    pub folds: usize,
    /// The fold held out for testing, 0-based.
    #[serde(default)]
    pub fold: usize,
    /// Side of the square model input; images are resized to it.
    #[serde(default = "default_size")]
    pub image_size: usize,
    /// Seed of the subject shuffle that defines the folds.
    #[serde(default)]
    pub split_seed: u64,
}

fn default_folds() -> usize {
    10
}
fn default_size() -> usize {
    64
}

/// Decode one image file to `size × size` grayscale pixels in [0, 1].
pub fn decode_gray(path: &Path, size: usize) -> Result<Vec<f32>> {
    let img = image::open(path).map_err(|e| {
        Error::input(
            path.display().to_string(),
            "image",
            format!("cannot decode image: {e}"),
        )
    })?;
    let gray = img.to_luma8();
    let resized = image::imageops::resize(
        &gray,
        size as u32,
        size as u32,
        image::imageops::FilterType::Triangle,
    );
    Ok(resized.pixels().map(|p| p.0[0] as f32 / 255.0).collect())
}

/// Load every image the manifest lists.
pub fn load(name: &str, cfg: &ManifestConfig, base: &Path) -> Result<FaceSet> {
    let csv_path = base.join(&cfg.csv);
    let field = format!("datasets[{name}].manifest.csv");
    if !csv_path.is_file() {
        return Err(Error::input(
            csv_path.display().to_string(),
            field,
            "manifest file not found (columns: path,subject,expression)",
        ));
    }
    let mut reader = csv::Reader::from_path(&csv_path)
        .map_err(|e| Error::input(csv_path.display().to_string(), &field, e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::input(csv_path.display().to_string(), &field, e.to_string()))?
        .clone();
    let col = |n: &str| {
        headers.iter().position(|h| h.trim() == n).ok_or_else(|| {
            Error::input(
                csv_path.display().to_string(),
                format!("{field}: column {n}"),
                "missing column; the header must be path,subject,expression",
            )
        })
    };
    let (cp, cs, ce) = (col("path")?, col("subject")?, col("expression")?);
    let folder = csv_path.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| {
            Error::input(
                format!("{}:{line}", csv_path.display()),
                &field,
                e.to_string(),
            )
        })?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
        rows.push((get(cp), get(cs), get(ce), line));
    }
    if rows.is_empty() {
        return Err(Error::input(
            csv_path.display().to_string(),
            field,
            "the manifest lists no images",
        ));
    }
    let mut subjects: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    subjects.sort();
    subjects.dedup();
    let mut expressions: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    expressions.sort();
    expressions.dedup();
    if let Some(n) = expressions.iter().position(|e| e == "neutral") {
        let neutral = expressions.remove(n);
        expressions.insert(0, neutral);
    }
    let mut set = FaceSet {
        name: name.to_string(),
        image_size: cfg.image_size,
        pixels: Vec::new(),
        subjects: Vec::new(),
        expressions: Vec::new(),
        subject_names: subjects.clone(),
        expression_names: expressions.clone(),
        paths: Vec::new(),
    };
    for (path, subject, expression, line) in rows {
        let full = folder.join(&path);
        if !full.is_file() {
            return Err(Error::input(
                format!("{}:{line}", csv_path.display()),
                format!("{field}: path"),
                format!("image {} not found", full.display()),
            ));
        }
        set.pixels.extend(decode_gray(&full, cfg.image_size)?);
        set.subjects
            .push(subjects.binary_search(&subject).unwrap_or(0) as u32);
        set.expressions.push(
            expressions
                .iter()
                .position(|e| *e == expression)
                .unwrap_or(0) as u32,
        );
        set.paths.push(path);
    }
    Ok(set)
}

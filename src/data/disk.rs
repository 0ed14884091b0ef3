//! Images on disk: a listing (path, subject, expression) decoded into a [`FaceSet`], with an
//! optional crop, a policy for unreadable images and a cache of decoded pixels.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::FaceSet;
use crate::error::{Error, Result};
use crate::files::atomic_write;

/// Default number of subject folds of the on-disk datasets (CK+, Oulu-CASIA, manifest).
pub(super) fn default_folds() -> usize {
    10
}

/// Default model input side of the on-disk datasets.
pub(super) fn default_image_size() -> usize {
    64
}

/// What to do with an image that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadImagePolicy {
    /// Stop with an input error naming the file (default).
    #[default]
    Fail,
    /// Leave the image out; the count and the first paths are reported.
    Skip,
}

/// Decoding options shared by the on-disk loaders.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// Side of the square model input.
    pub image_size: usize,
    /// Crop box `[x, y, width, height]` in source pixels, applied before resizing.
    pub crop: Option<[u32; 4]>,
    /// Unreadable images.
    pub on_bad_image: BadImagePolicy,
}

/// One image of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// Path shown in `pairs.csv` (relative to the dataset root).
    pub shown: String,
    /// Subject name.
    pub subject: String,
    /// Expression name (one of the listing's expression names).
    pub expression: String,
}

/// Decode one image file to `size × size` grayscale pixels in [0, 1].
pub fn decode_gray(
    path: &Path,
    size: usize,
    crop: Option<[u32; 4]>,
) -> std::result::Result<Vec<f32>, String> {
    let img = image::open(path).map_err(|e| format!("cannot decode image: {e}"))?;
    let mut gray = img.to_luma8();
    if let Some([x, y, w, h]) = crop {
        if x + w > gray.width() || y + h > gray.height() || w == 0 || h == 0 {
            return Err(format!(
                "crop [{x}, {y}, {w}, {h}] does not fit the {}×{} image",
                gray.width(),
                gray.height()
            ));
        }
        gray = image::imageops::crop_imm(&gray, x, y, w, h).to_image();
    }
    let resized = image::imageops::resize(
        &gray,
        size as u32,
        size as u32,
        image::imageops::FilterType::Triangle,
    );
    Ok(resized.pixels().map(|p| p.0[0] as f32 / 255.0).collect())
}

/// Folder of the decoded-pixel cache: `$WEIGHTLAB_CACHE`, else `$XDG_CACHE_HOME/weightlab`, else
/// `~/.cache/weightlab`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("WEIGHTLAB_CACHE") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("weightlab"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/weightlab"))
}

/// Cache key of a listing: every file's path, size and modification time, and the options.
fn cache_key(entries: &[Entry], opts: &DecodeOptions) -> String {
    let mut h = Sha256::new();
    for e in entries {
        h.update(e.path.to_string_lossy().as_bytes());
        if let Ok(m) = std::fs::metadata(&e.path) {
            h.update(m.len().to_le_bytes());
            if let Ok(t) = m.modified().and_then(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_err(std::io::Error::other)
            }) {
                h.update(t.as_nanos().to_le_bytes());
            }
        }
        h.update([0]);
    }
    h.update(
        format!(
            "{:?}|{:?}|{:?}",
            opts.image_size, opts.crop, opts.on_bad_image
        )
        .as_bytes(),
    );
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decode `entries` into a [`FaceSet`] named `name`. Decoded pixels are cached (keyed by the
/// files and the options), so a second sweep on the same data does not decode again.
pub fn decode_listing(
    name: &str,
    entries: Vec<Entry>,
    expression_names: Vec<String>,
    opts: &DecodeOptions,
) -> Result<FaceSet> {
    let n = opts.image_size * opts.image_size;
    let key = cache_key(&entries, opts);
    let cache = cache_dir().map(|d| d.join("decoded").join(format!("{key}.bin")));
    // The cache holds a keep-mask (1 byte per entry) followed by the kept images' pixels.
    let cached = cache
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .filter(|b| {
            b.len() >= entries.len() && {
                let kept = b[..entries.len()].iter().filter(|&&k| k == 1).count();
                b.len() == entries.len() + kept * n * 4
            }
        });
    let (keep, pixels): (Vec<bool>, Vec<f32>) = match cached {
        Some(bytes) => {
            tracing::debug!(dataset = name, "decoded images from the cache");
            let keep = bytes[..entries.len()].iter().map(|&k| k == 1).collect();
            let pixels = bytes[entries.len()..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (keep, pixels)
        }
        None => {
            let mut keep = Vec::with_capacity(entries.len());
            let mut pixels = Vec::with_capacity(entries.len() * n);
            let mut skipped: Vec<String> = Vec::new();
            for e in &entries {
                match decode_gray(&e.path, opts.image_size, opts.crop) {
                    Ok(p) => {
                        pixels.extend(p);
                        keep.push(true);
                    }
                    Err(msg) => match opts.on_bad_image {
                        BadImagePolicy::Fail => {
                            return Err(Error::input(
                                e.path.display().to_string(),
                                format!("datasets[{name}]"),
                                format!("{msg} (set on_bad_image: skip to leave such images out)"),
                            ))
                        }
                        BadImagePolicy::Skip => {
                            skipped.push(e.path.display().to_string());
                            keep.push(false);
                        }
                    },
                }
            }
            if !skipped.is_empty() {
                tracing::warn!(
                    dataset = name,
                    skipped = skipped.len(),
                    first = %skipped.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                    "left out unreadable images"
                );
            }
            if let Some(p) = &cache {
                let mut bytes: Vec<u8> = keep.iter().map(|&k| k as u8).collect();
                bytes.extend(pixels.iter().flat_map(|v| v.to_le_bytes()));
                if let Some(parent) = p.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                if let Err(e) = atomic_write(p, &bytes) {
                    tracing::debug!(error = %e, "cannot write the decode cache");
                }
            }
            (keep, pixels)
        }
    };
    let mut subjects: Vec<String> = entries
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(e, _)| e.subject.clone())
        .collect();
    subjects.sort();
    subjects.dedup();
    let mut set = FaceSet {
        name: name.to_string(),
        image_size: opts.image_size,
        pixels,
        subjects: Vec::new(),
        expressions: Vec::new(),
        subject_names: subjects.clone(),
        expression_names: expression_names.clone(),
        paths: Vec::new(),
        poses: Vec::new(),
    };
    for (e, _) in entries.iter().zip(&keep).filter(|(_, k)| **k) {
        set.subjects
            .push(subjects.binary_search(&e.subject).unwrap_or(0) as u32);
        set.expressions.push(
            expression_names
                .iter()
                .position(|x| *x == e.expression)
                .unwrap_or(0) as u32,
        );
        set.paths.push(e.shown.clone());
    }
    if set.is_empty() {
        return Err(Error::input(
            name.to_string(),
            format!("datasets[{name}]"),
            "no readable images",
        ));
    }
    Ok(set)
}

/// Image files of `dir` (png, jpg, jpeg, bmp), sorted by name.
pub fn image_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .map(|x| x.to_string_lossy().to_lowercase())
                            .is_some_and(|x| ["png", "jpg", "jpeg", "bmp"].contains(&x.as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Sub-folders of `dir`, sorted by name.
pub fn sub_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `path` relative to `root`, as a string with `/`.
pub fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

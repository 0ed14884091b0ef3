//! `progress.log`: the rows a running job has logged, appended at each checkpoint, so that a
//! checkpoint holds only the state needed to continue and stays the same size at every epoch.
//!
//! The file is a sequence of frames, each `[kind: u8][length: u32 LE][YAML of the row][first 8
//! bytes of the SHA-256 of kind, length and YAML]`: kind 0 an epoch row, 1 a step row. A
//! checkpoint records how many rows of each kind it covers; rows after them (appended by an
//! attempt killed before its next checkpoint) and a torn last frame are cut off on resume. YAML,
//! as in the checkpoint's header, because it reads floats back exactly.

use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::metrics::{EpochMetrics, Rows, StepMetrics};

const EPOCH: u8 = 0;
const STEP: u8 = 1;
/// Largest frame a reader accepts: a corrupt length must not ask for a huge allocation.
const MAX_FRAME: usize = 1 << 20;

fn frame(kind: u8, yaml: &[u8]) -> Vec<u8> {
    let mut f = vec![kind];
    f.extend_from_slice(&(yaml.len() as u32).to_le_bytes());
    f.extend_from_slice(yaml);
    let digest = Sha256::digest(&f);
    f.extend_from_slice(&digest[..8]);
    f
}

/// Append `epochs` and `steps` to the log at `path` (created if missing) and sync it to disk.
pub fn append(path: &Path, epochs: &[EpochMetrics], steps: &[StepMetrics]) -> Result<()> {
    if epochs.is_empty() && steps.is_empty() {
        return Ok(());
    }
    let mut bytes = Vec::new();
    for e in epochs {
        bytes.extend(frame(EPOCH, &yaml(path, e)?));
    }
    for s in steps {
        bytes.extend(frame(STEP, &yaml(path, s)?));
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, "cannot open", e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, "cannot append to", e))
}

/// The first `epochs` epoch rows and `steps` step rows of the log at `path`, and the length of
/// the file's prefix that holds exactly them; `None` when the file holds fewer whole rows (it
/// is missing, torn or corrupt before that point).
pub fn read_prefix(path: &Path, epochs: usize, steps: usize) -> Option<(Rows, u64)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(_) if epochs == 0 && steps == 0 => return Some((Rows::default(), 0)),
        Err(_) => return None,
    };
    let mut rows = Rows::default();
    let mut at = 0usize;
    while rows.epochs.len() < epochs || rows.steps.len() < steps {
        let head = bytes.get(at..at + 5)?;
        let len = u32::from_le_bytes(head[1..5].try_into().ok()?) as usize;
        if len > MAX_FRAME {
            return None;
        }
        let body = bytes.get(at..at + 5 + len)?;
        let digest = bytes.get(at + 5 + len..at + 13 + len)?;
        if Sha256::digest(body)[..8] != *digest {
            return None;
        }
        let yaml = &body[5..];
        match head[0] {
            EPOCH => rows.epochs.push(serde_yaml::from_slice(yaml).ok()?),
            STEP => rows.steps.push(serde_yaml::from_slice(yaml).ok()?),
            _ => return None,
        }
        at += 13 + len;
    }
    (rows.epochs.len() == epochs && rows.steps.len() == steps).then_some((rows, at as u64))
}

/// Cut the log at `path` to its first `len` bytes (dropping rows of an attempt that did not
/// reach its next checkpoint).
pub fn truncate(path: &Path, len: u64) -> Result<()> {
    let f = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && len == 0 => return Ok(()),
        Err(e) => return Err(Error::io(path, "cannot open", e)),
    };
    f.set_len(len)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, "cannot truncate", e))
}

/// `row` as YAML (an error names the log at `path`).
fn yaml<T: serde::Serialize>(path: &Path, row: &T) -> Result<Vec<u8>> {
    serde_yaml::to_string(row)
        .map(String::into_bytes)
        .map_err(|e| Error::log(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(k: usize) -> EpochMetrics {
        let mut m = crate::metrics::EpochMeans::default().finish(
            k,
            vec![0.1 * k as f64, 0.3, 2.5],
            None,
            1.0 / 3.0,
        );
        m.loss_l3 = Some(f64::MIN_POSITIVE * k as f64);
        m
    }

    fn step(k: usize) -> StepMetrics {
        StepMetrics {
            epoch: 1,
            step: k,
            raw_w: vec![0.1 + 1e-17 * k as f64, 2.0 / 3.0],
            w: vec![0.3, 0.7],
            loss: vec![1.0 / k as f64, 2.0],
            loss_total: 3.0,
            loss_l3: None,
        }
    }

    #[test]
    fn rows_come_back_exactly_and_what_follows_the_checkpoint_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("progress.log");
        append(&p, &[epoch(1)], &[step(1), step(2)]).unwrap();
        append(&p, &[epoch(2)], &[step(3)]).unwrap();
        let (rows, len) = read_prefix(&p, 2, 3).unwrap();
        assert_eq!(rows.epochs, vec![epoch(1), epoch(2)]);
        assert_eq!(rows.steps, vec![step(1), step(2), step(3)]);
        assert_eq!(len, std::fs::metadata(&p).unwrap().len());
        // A later attempt appended one more checkpoint's rows, then was killed mid-frame.
        append(&p, &[epoch(3)], &[step(4)]).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[EPOCH, 200, 0, 0, 0, b'x']).unwrap();
        assert_eq!(read_prefix(&p, 3, 4).unwrap().0.epochs.len(), 3);
        assert!(read_prefix(&p, 4, 4).is_none(), "a torn frame is not a row");
        let (_, len) = read_prefix(&p, 2, 3).unwrap();
        truncate(&p, len).unwrap();
        assert!(read_prefix(&p, 3, 4).is_none());
        append(&p, &[epoch(3)], &[]).unwrap();
        assert_eq!(read_prefix(&p, 3, 3).unwrap().0.epochs[2], epoch(3));
        // Missing file: only an empty prefix.
        let none = dir.path().join("none.log");
        assert_eq!(read_prefix(&none, 0, 0), Some((Rows::default(), 0)));
        assert_eq!(read_prefix(&none, 1, 0), None);
    }

    #[test]
    fn a_flipped_bit_ends_the_readable_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("progress.log");
        append(&p, &[epoch(1), epoch(2)], &[]).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 4;
        std::fs::write(&p, &bytes).unwrap();
        assert!(read_prefix(&p, 1, 0).is_some());
        assert!(read_prefix(&p, 2, 0).is_none());
    }
}

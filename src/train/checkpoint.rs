//! [`Checkpoint`]: everything a job's future depends on after a whole number of steps, and its
//! file encoding. A checkpoint is one file: a magic line, a YAML header (counters, how many
//! rows were logged so far, the center-loss centers, the strategy's state), four binary records
//! (Θ, Ψ and their optimisers, in burn's record format) and a SHA-256 of all of it, so that a
//! truncated or corrupt file is recognised and never half-loaded. The header is YAML because
//! serde_yaml writes floats in their shortest round-trip form and reads them back correctly
//! rounded: a resumed job's logs must match an uninterrupted run's to the bit.
//!
//! The logged rows themselves are not in the checkpoint (it would grow with every epoch): the
//! training loop hands each checkpoint's new rows to its caller, which appends them to the
//! job's progress log (`runlog::progress`) before it stores the checkpoint, and gives back the
//! counted rows on resume.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::metrics::EpochMeans;

/// First bytes of a checkpoint file (the version is part of it).
const MAGIC: &[u8; 8] = b"WLCKPT02";

/// Where a checkpoint was taken inside an epoch: after `batches_done` of its batches, with the
/// running sums of those steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    /// Batches of the epoch already trained.
    pub batches_done: usize,
    /// Their running sums.
    pub means: EpochMeans,
}

/// The readable part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// Hash of the job's config; a checkpoint of another config is never used.
    pub config_hash: String,
    /// Epochs completed and evaluated.
    pub epoch: usize,
    /// Global steps done.
    pub step: usize,
    /// Epochs the job trains in all.
    pub epochs_total: usize,
    /// An epoch in progress (a checkpoint taken on a stop signal); `None` at an epoch's end.
    pub partial: Option<PartialEpoch>,
    /// Seconds since the job started, across its attempts.
    pub elapsed_s: f64,
    /// Seconds in training steps so far.
    pub train_s: f64,
    /// Seconds in evaluation so far.
    pub eval_s: f64,
    /// The center-loss centers (f32 values held as f64, which is exact) and their shape.
    pub centers: (Vec<f64>, [usize; 2]),
    /// The strategy's state (see `Strategy::state`).
    pub strategy: serde_json::Value,
    /// Epoch rows logged so far (the first ones of the job's progress log).
    pub logged_epochs: usize,
    /// Step rows logged so far.
    pub logged_steps: usize,
}

/// A job's state after a whole number of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Counters, metrics, centers and strategy state.
    pub header: CheckpointHeader,
    /// Θ's record.
    pub theta: Vec<u8>,
    /// Ψ's record.
    pub psi: Vec<u8>,
    /// Θ's optimiser's record.
    pub theta_optim: Vec<u8>,
    /// Ψ's optimiser's record.
    pub psi_optim: Vec<u8>,
}

fn push_block(out: &mut Vec<u8>, block: &[u8]) {
    out.extend_from_slice(&(block.len() as u64).to_le_bytes());
    out.extend_from_slice(block);
}

/// Reads length-prefixed blocks off a byte slice.
struct Blocks<'a> {
    rest: &'a [u8],
}

impl<'a> Blocks<'a> {
    fn next(&mut self) -> Result<&'a [u8], String> {
        if self.rest.len() < 8 {
            return Err("truncated".into());
        }
        let (len, rest) = self.rest.split_at(8);
        let len = u64::from_le_bytes(len.try_into().map_err(|_| "truncated")?) as usize;
        if rest.len() < len {
            return Err("truncated".into());
        }
        let (block, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(block)
    }
}

impl Checkpoint {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let header = serde_yaml::to_string(&self.header).map_err(|e| e.to_string())?;
        let header = header.as_bytes();
        let mut out = MAGIC.to_vec();
        for block in [
            header,
            &self.theta,
            &self.psi,
            &self.theta_optim,
            &self.psi_optim,
        ] {
            push_block(&mut out, block);
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Decode a file's bytes; an error says why it is not a whole checkpoint.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err("not a weightlab checkpoint (or one of another version)".into());
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err("checksum mismatch: the file is truncated or corrupt".into());
        }
        let mut blocks = Blocks {
            rest: &body[MAGIC.len()..],
        };
        let header: CheckpointHeader =
            serde_yaml::from_slice(blocks.next()?).map_err(|e| format!("header: {e}"))?;
        Ok(Self {
            header,
            theta: blocks.next()?.to_vec(),
            psi: blocks.next()?.to_vec(),
            theta_optim: blocks.next()?.to_vec(),
            psi_optim: blocks.next()?.to_vec(),
        })
    }

    /// The header of the checkpoint file at `path`, reading only its first block (enough for
    /// `sweep status`); `None` when there is no readable one.
    pub fn read_header(path: &std::path::Path) -> Option<CheckpointHeader> {
        use std::io::Read as _;
        let mut f = std::fs::File::open(path).ok()?;
        let mut start = [0u8; 16];
        f.read_exact(&mut start).ok()?;
        let len = u64::from_le_bytes(start[8..].try_into().ok()?);
        // A corrupt length must not ask for more memory than the file holds.
        if len > f.metadata().ok()?.len() {
            return None;
        }
        let len = len as usize;
        let mut bytes = start.to_vec();
        bytes.resize(16 + len, 0);
        f.read_exact(&mut bytes[16..]).ok()?;
        Self::peek_header(&bytes)
    }

    /// The header alone, read from the start of a file's bytes without checking the rest.
    pub fn peek_header(prefix: &[u8]) -> Option<CheckpointHeader> {
        if prefix.len() < MAGIC.len() || &prefix[..MAGIC.len()] != MAGIC {
            return None;
        }
        let mut blocks = Blocks {
            rest: &prefix[MAGIC.len()..],
        };
        serde_yaml::from_slice(blocks.next().ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            header: CheckpointHeader {
                config_hash: "abc".into(),
                epoch: 3,
                step: 30,
                epochs_total: 10,
                partial: None,
                elapsed_s: 1.5,
                train_s: 1.0,
                eval_s: 0.25,
                centers: (vec![0.5, -0.25], [1, 2]),
                strategy: serde_json::json!({"history": [[1.0, 2.0]]}),
                logged_epochs: 3,
                logged_steps: 12,
            },
            theta: vec![1, 2, 3],
            psi: vec![4],
            theta_optim: vec![],
            psi_optim: vec![5, 6],
        }
    }

    #[test]
    fn round_trips_and_rejects_truncated_or_flipped_bytes() {
        let bytes = sample().to_bytes().unwrap();
        assert_eq!(Checkpoint::from_bytes(&bytes).unwrap(), sample());
        assert_eq!(Checkpoint::peek_header(&bytes).unwrap().epoch, 3);
        let cut = Checkpoint::from_bytes(&bytes[..bytes.len() - 5]).unwrap_err();
        assert!(
            cut.contains("checksum") || cut.contains("truncated"),
            "{cut}"
        );
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(Checkpoint::from_bytes(&flipped).is_err());
        assert!(Checkpoint::from_bytes(b"hello").is_err());
    }

    #[test]
    fn a_corrupt_header_length_reads_as_no_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoint.bin");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(Checkpoint::read_header(&p), None);
        std::fs::write(&p, sample().to_bytes().unwrap()).unwrap();
        assert_eq!(Checkpoint::read_header(&p).unwrap().step, 30);
    }

    #[test]
    fn floats_come_back_to_the_bit() {
        let mut ck = sample();
        let mut rng = crate::rng::Rng::new(5);
        let values: Vec<f64> = (0..2000)
            .map(|_| rng.normal() * 1e3f64.powf(rng.uniform() * 4.0 - 2.0))
            .collect();
        ck.header.centers = (values.iter().map(|v| *v as f32 as f64).collect(), [1000, 2]);
        ck.header.elapsed_s = values[7];
        ck.header.strategy = serde_json::json!({ "w": values[..50] });
        let back = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
        assert_eq!(back.header, ck.header);
    }
}

//! `pairs.csv`: the verification pairs a job was scored on, by image path and subject.

use std::path::Path;

use crate::data::pairs::Pair;
use crate::data::FaceSet;
use crate::error::{Error, Result};
use crate::files::atomic_write;

/// One row of `pairs.csv`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PairRow {
    /// Path of the neutral reference image.
    pub reference: String,
    /// Path of the expression probe.
    pub probe: String,
    /// 1 when both show the same subject, else 0.
    pub same: u8,
    /// Subject of the reference.
    pub reference_subject: String,
    /// Subject of the probe.
    pub probe_subject: String,
}

impl PairRow {
    /// The row of `pair` in `set`.
    pub fn new(set: &FaceSet, pair: &Pair) -> Self {
        let subject = |i: usize| set.subject_names[set.subjects[i] as usize].clone();
        Self {
            reference: set.paths[pair.reference].clone(),
            probe: set.paths[pair.probe].clone(),
            same: pair.same as u8,
            reference_subject: subject(pair.reference),
            probe_subject: subject(pair.probe),
        }
    }

    /// Write `rows` to `path` as CSV with a header, atomically.
    pub fn write_csv(path: &Path, rows: &[PairRow]) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        if rows.is_empty() {
            w.write_record([
                "reference",
                "probe",
                "same",
                "reference_subject",
                "probe_subject",
            ])
            .map_err(|e| Error::log(path, e))?;
        }
        for r in rows {
            w.serialize(r).map_err(|e| Error::log(path, e))?;
        }
        let bytes = w.into_inner().map_err(|e| Error::log(path, e))?;
        atomic_write(path, &bytes)
    }
}

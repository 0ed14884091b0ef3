//! weightlab: multi-task loss-weighting studies, after Ming et al., "Dynamic Multi-Task
//! Learning for Face Recognition with Facial Expression" (arXiv 1911.03281).
//!
//! The pipeline, one module per stage:
//!
//! - [`config`]: the experiment YAML, validated and expanded into [`config::Job`]s;
//! - [`data`]: face images with subject and expression labels (built-in synthetic faces, or
//!   images on disk), subject splits and verification pairs;
//! - [`model`]: the shared trunk with its two task branches (Θ) and the dynamic-weight unit (Ψ);
//! - [`strategy`]: how the task losses are weighted (`static`, `yin`, `l3`), one file each;
//! - [`train`]: one job's training loop and evaluation;
//! - [`runlog`]: the run folder, its parquet logs and status files, written atomically;
//! - [`sweep`]: many jobs in parallel, resumable, with an event stream for progress and index;
//! - [`report`]: Figure 2, weight trajectories, comparison tables and trajectory diffs.
//!
//! ```no_run
//! use weightlab::sweep::{sinks::TracingSink, Sweep};
//! use weightlab::config::BackendKind;
//!
//! let sweep = Sweep::from_experiment("experiments/smoke.yaml".as_ref(), None)?;
//! let failed = sweep.run(2, BackendKind::Flex, false, false, &mut [&mut TracingSink])?;
//! assert_eq!(failed, 0);
//! # Ok::<(), weightlab::error::Error>(())
//! ```
#![deny(missing_docs)]

pub mod config;
pub mod data;
pub mod error;
pub mod model;
pub mod report;
pub mod rng;
pub mod runlog;
pub mod strategy;
pub mod sweep;
pub mod train;

//! weightlab: multi-task loss-weighting studies, after Ming et al., "Dynamic Multi-Task
//! Learning for Face Recognition with Facial Expression" (arXiv 1911.03281).
//!
//! The pipeline, one module per stage:
//!
//! - [`config`]: the experiment YAML, validated and expanded into [`config::Job`]s;
//! - [`data`]: face images with subject and expression labels (built-in synthetic faces, or
//!   images on disk), subject splits and verification pairs;
//! - [`model`]: the shared trunk with its two task branches (Θ) and the dynamic-weight unit (Ψ);
//! - [`strategy`]: how the task losses are weighted (the paper's `static`, `yin` and `l3`, and
//!   `equal`, `uncertainty`, `dwa`, `gradnorm`, `rlw`, `gls`), one file each;
//! - [`train`]: one job's training loop and evaluation, returning named metrics, and
//!   [`train::Parts`], where a program registers a trunk, strategy or data source of its own;
//! - [`runlog`]: the run folder's layout and every file format in it (logs, status, configs);
//! - [`sweep`]: many jobs in parallel, resumable, with an event stream for progress and index;
//! - [`report`]: Figure 2, weight trajectories, comparison tables and trajectory diffs;
//! - [`study`]: a sequential study, rounds of the sweep until each point is decided.
//!
//! [`metrics`] declares what training measures, once; [`files`] is the one way files are
//! written; [`rng`] the one source of randomness.
//!
//! ```no_run
//! use weightlab::sweep::{sinks::TracingSink, RunOptions, Sweep};
//!
//! let sweep = Sweep::load("experiments/smoke.yaml".as_ref(), None)?;
//! let opts = RunOptions { jobs: Some(2), ..RunOptions::default() };
//! let outcome = sweep.run(&opts, &mut [&mut TracingSink::default()])?;
//! assert!(outcome.failed.is_empty());
//! # Ok::<(), weightlab::error::Error>(())
//! ```
#![deny(missing_docs)]

pub mod config;
pub mod data;
pub mod error;
pub mod files;
pub mod metrics;
pub mod model;
pub mod report;
pub mod rng;
pub mod runlog;
pub mod strategy;
pub mod study;
pub mod sweep;
pub mod task;
pub mod train;

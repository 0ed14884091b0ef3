//! [`SweepLogs`]: what researchers take away from a sweep folder, read with polars from its
//! parquet files (no sweep process needed): Figure-2 style plots ([`plot`]), a comparison table
//! with Δp against equal weights ([`compare`]) and trajectory diffs between two folders ([`diff`]).

pub mod compare;
pub mod diff;
mod load;
pub mod plot;

pub use load::{mean_std, JobLogs, Metric, Point, SweepLogs};

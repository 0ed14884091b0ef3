//! [`SweepLogs`]: what researchers take away from a sweep folder, read with polars from its
//! parquet files (no sweep process needed): Figure-2 style plots ([`figures`]), a comparison
//! table with Δp against static w1 = 0.5 ([`compare`]) and trajectory diffs between two folders
//! ([`diff`]).

pub mod compare;
pub mod diff;
pub mod figures;
mod load;

pub use load::{mean_std, JobLogs, Metric, Point, SweepLogs};

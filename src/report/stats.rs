//! The statistics behind a verdict: Student-t confidence intervals, the paired t-test (with an
//! exact sign test where the differences have no spread), Holm's step-down correction, and the
//! power of the paired t-test (minimum detectable effect, seeds needed). They live in the
//! `weightlab-stats` crate (crates/stats, with the sequential designs); this module re-exports
//! what the reports use.

pub use weightlab_stats::{
    holm, incomplete_beta, minimum_detectable_effect, noncentral_t_cdf, normal_cdf, paired_power,
    pairs_needed, t_quantile, t_two_sided_p, PairedTest, Summary, TestKind,
};

//! `runs.parquet`: one row per job of the sweep with its state and final and best metrics.

use super::parquet::JobSummary;
use super::status::JobState;
use super::table::log_table;
use crate::config::Job;

log_table! {
    /// One row of the run index.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct IndexRow {
        /// Stable id of the job.
        run_id: String,
        /// Dataset label.
        dataset: String,
        /// Strategy name.
        strategy: String,
        /// The fixed w1 of a static job.
        static_w1: Option<f64>,
        /// Training seed.
        seed: i64,
        /// pending | running | done | failed.
        status: String,
        /// Why the job failed.
        reason: Option<String>,
        /// Epochs logged.
        epochs: Option<i64>,
        /// Accuracies of the last epoch.
        final_fv_acc: Option<f64>,
        /// See `final_fv_acc`.
        final_ex_acc: Option<f64>,
        /// Highest accuracy over epochs.
        best_fv_acc: Option<f64>,
        /// See `best_fv_acc`.
        best_ex_acc: Option<f64>,
        /// Epoch with the highest sum of the two accuracies.
        best_epoch: Option<i64>,
        /// Mean w_fv over training.
        mean_w_fv: Option<f64>,
        /// Wall seconds of the job.
        wall_s: Option<f64>,
        /// The epoch model selection picks (highest mean validation accuracy).
        selected_epoch: Option<i64> = or absent,
        /// Test accuracies of the selected epoch.
        selected_fv_acc: Option<f64> = or absent,
        /// See `selected_fv_acc`.
        selected_ex_acc: Option<f64> = or absent,
    }
}

impl IndexRow {
    /// The row of `job` in `state`, with its failure reason and wall time from its status
    /// file, and the summary of its epoch log when it is done.
    pub fn new(
        job: &Job,
        state: JobState,
        reason: Option<&str>,
        wall_s: Option<f64>,
        summary: Option<&JobSummary>,
    ) -> Self {
        Self {
            run_id: job.run_id.clone(),
            dataset: job.dataset.name.clone(),
            strategy: job.strategy.name().to_string(),
            static_w1: job.strategy.static_w1(),
            seed: job.seed as i64,
            status: state.as_str().to_string(),
            reason: reason.map(str::to_string),
            epochs: summary.map(|s| s.epochs),
            final_fv_acc: summary.map(|s| s.final_fv_acc),
            final_ex_acc: summary.map(|s| s.final_ex_acc),
            best_fv_acc: summary.map(|s| s.best_fv_acc),
            best_ex_acc: summary.map(|s| s.best_ex_acc),
            best_epoch: summary.map(|s| s.best_epoch),
            mean_w_fv: summary.map(|s| s.mean_w_fv),
            wall_s,
            selected_epoch: summary.and_then(|s| s.selected_epoch),
            selected_fv_acc: summary.and_then(|s| s.selected_fv_acc),
            selected_ex_acc: summary.and_then(|s| s.selected_ex_acc),
        }
    }
}

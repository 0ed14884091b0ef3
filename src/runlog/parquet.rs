//! `epochs.parquet` and `steps.parquet`: the contract's columns, one [`log_table!`] each, and
//! [`JobSummary`], the per-job figures that the run index and the reports share.

use super::table::log_table;
use crate::config::Job;
use crate::metrics::{EpochMetrics, StepMetrics};

log_table! {
    /// One row of `epochs.parquet`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct EpochRow {
        /// Stable id of the job.
        run_id: String,
        /// Dataset label.
        dataset: String,
        /// Strategy name.
        strategy: String,
        /// The fixed w1 of a static job; `None` for dynamic strategies.
        static_w1: Option<f64>,
        /// Training seed.
        seed: i64,
        /// 1-based epoch.
        epoch: i64,
        /// Mean w_fv over the epoch's steps, the weights normalised to sum 1.
        w_fv: f64,
        /// Mean w_ex over the epoch's steps, the weights normalised to sum 1.
        w_ex: f64,
        /// Mean L1.
        loss_fv: f64,
        /// Mean L2.
        loss_ex: f64,
        /// Mean Σ w_i L_i.
        loss_total: f64,
        /// Mean L3 (`l3` only).
        loss_l3: Option<f64>,
        /// Face-verification accuracy on the test pairs.
        fv_acc: f64,
        /// Expression accuracy on the test images.
        ex_acc: f64,
        /// Wall seconds since the job started.
        elapsed_s: f64,
        /// Mean w_fv on the strategy's own scale (e.g. summing to 2 for dwa and gradnorm); logs
        /// from before this column hold static, yin and l3 runs, whose raw weights are `w_fv`.
        raw_w_fv: f64 = or w_fv,
        /// Mean w_ex on the strategy's own scale.
        raw_w_ex: f64 = or w_ex,
        /// Face-verification accuracy on the validation pairs (null without a validation
        /// split, and in logs written before this column).
        val_fv_acc: Option<f64> = or absent,
        /// Expression accuracy on the validation images.
        val_ex_acc: Option<f64> = or absent,
    }
}

impl EpochRow {
    /// The row of `job` for one epoch's metrics.
    pub fn new(job: &Job, m: &EpochMetrics) -> Self {
        Self {
            run_id: job.run_id.clone(),
            dataset: job.dataset.name.clone(),
            strategy: job.strategy.name().to_string(),
            static_w1: job.strategy.static_w1(),
            seed: job.seed as i64,
            epoch: m.epoch as i64,
            w_fv: m.w_fv,
            w_ex: m.w_ex,
            loss_fv: m.loss_fv,
            loss_ex: m.loss_ex,
            loss_total: m.loss_total,
            loss_l3: m.loss_l3,
            fv_acc: m.fv_acc,
            ex_acc: m.ex_acc,
            elapsed_s: m.elapsed_s,
            raw_w_fv: m.raw_w_fv,
            raw_w_ex: m.raw_w_ex,
            val_fv_acc: m.val_fv_acc,
            val_ex_acc: m.val_ex_acc,
        }
    }
}

log_table! {
    /// One row of `steps.parquet`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct StepRow {
        /// Stable id of the job.
        run_id: String,
        /// 1-based epoch.
        epoch: i64,
        /// 1-based global step.
        step: i64,
        /// This step's w_fv.
        w_fv: f64,
        /// This step's w_ex.
        w_ex: f64,
        /// This step's L1.
        loss_fv: f64,
        /// This step's L2.
        loss_ex: f64,
        /// This step's w_fv on the strategy's own scale.
        raw_w_fv: f64 = or w_fv,
        /// This step's w_ex on the strategy's own scale.
        raw_w_ex: f64 = or w_ex,
    }
}

impl StepRow {
    /// The row of job `run_id` for one step's metrics.
    pub fn new(run_id: &str, m: &StepMetrics) -> Self {
        Self {
            run_id: run_id.to_string(),
            epoch: m.epoch as i64,
            step: m.step as i64,
            w_fv: m.w_fv,
            w_ex: m.w_ex,
            loss_fv: m.loss_fv,
            loss_ex: m.loss_ex,
            raw_w_fv: m.raw_w_fv,
            raw_w_ex: m.raw_w_ex,
        }
    }
}

/// What a finished job's epoch log sums up to: the figures of the run index, which the
/// reports read too.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JobSummary {
    /// Epochs logged.
    pub epochs: i64,
    /// Accuracies of the last epoch.
    pub final_fv_acc: f64,
    /// See `final_fv_acc`.
    pub final_ex_acc: f64,
    /// Highest FV accuracy over the epochs.
    pub best_fv_acc: f64,
    /// Highest EX accuracy over the epochs.
    pub best_ex_acc: f64,
    /// The epoch with the highest sum of the two accuracies (the last on ties).
    pub best_epoch: i64,
    /// Mean w_fv over the epochs.
    pub mean_w_fv: f64,
    /// The epoch that model selection picks: the highest mean of the two validation
    /// accuracies (the first on ties); `None` without a validation split.
    pub selected_epoch: Option<i64>,
    /// Test accuracies of the selected epoch.
    pub selected_fv_acc: Option<f64>,
    /// See `selected_fv_acc`.
    pub selected_ex_acc: Option<f64>,
}

impl JobSummary {
    /// The summary of `rows`; `None` for an empty log.
    pub fn of(rows: &[EpochRow]) -> Option<Self> {
        let last = rows.last()?;
        let best = rows
            .iter()
            .max_by(|a, b| (a.fv_acc + a.ex_acc).total_cmp(&(b.fv_acc + b.ex_acc)))?;
        let max = |get: fn(&EpochRow) -> f64| rows.iter().map(get).fold(f64::NAN, f64::max);
        let selected = rows
            .iter()
            .filter_map(|r| Some((r, r.val_fv_acc? + r.val_ex_acc?)))
            .fold(None::<(&EpochRow, f64)>, |best, (r, score)| match best {
                Some((_, b)) if b >= score => best,
                _ => Some((r, score)),
            })
            .map(|(r, _)| r);
        Some(Self {
            epochs: last.epoch,
            final_fv_acc: last.fv_acc,
            final_ex_acc: last.ex_acc,
            best_fv_acc: max(|r| r.fv_acc),
            best_ex_acc: max(|r| r.ex_acc),
            best_epoch: best.epoch,
            mean_w_fv: rows.iter().map(|r| r.w_fv).sum::<f64>() / rows.len() as f64,
            selected_epoch: selected.map(|r| r.epoch),
            selected_fv_acc: selected.map(|r| r.fv_acc),
            selected_ex_acc: selected.map(|r| r.ex_acc),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::table::{read_frame, Table};

    fn row(epoch: i64, fv: f64, ex: f64) -> EpochRow {
        EpochRow {
            run_id: "r".into(),
            dataset: "d".into(),
            strategy: "dynamic".into(),
            static_w1: None,
            seed: 1,
            epoch,
            w_fv: 0.25 * epoch as f64,
            w_ex: 1.0 - 0.25 * epoch as f64,
            loss_fv: 1.0,
            loss_ex: 2.0,
            loss_total: 3.0,
            loss_l3: Some(0.5),
            fv_acc: fv,
            ex_acc: ex,
            elapsed_s: 1.0,
            raw_w_fv: 0.1,
            raw_w_ex: 0.9,
            val_fv_acc: None,
            val_ex_acc: None,
        }
    }

    #[test]
    fn rows_round_trip_and_columns_follow_the_declaration() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("epochs.parquet");
        let rows = vec![row(1, 0.5, 0.6), row(2, 0.7, 0.4)];
        EpochRow::to_parquet(&p, &rows).unwrap();
        assert_eq!(EpochRow::read(&p).unwrap(), rows);
        let names: Vec<String> = read_frame(&p)
            .unwrap()
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, EpochRow::COLUMNS);
    }

    #[test]
    fn old_logs_without_raw_columns_read_the_normalised_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("steps.parquet");
        let rows = vec![StepRow::new(
            "r",
            &StepMetrics {
                epoch: 1,
                step: 1,
                raw_w_fv: 2.0,
                raw_w_ex: 2.0,
                w_fv: 0.3,
                w_ex: 0.7,
                loss_fv: 1.0,
                loss_ex: 1.0,
                loss_total: 2.0,
                loss_l3: None,
            },
        )];
        let mut df = StepRow::frame(&rows).unwrap();
        df = df.drop("raw_w_fv").unwrap().drop("raw_w_ex").unwrap();
        crate::runlog::table::write_frame(&p, df).unwrap();
        let back = StepRow::read(&p).unwrap();
        assert_eq!((back[0].raw_w_fv, back[0].raw_w_ex), (0.3, 0.7));
    }

    #[test]
    fn summary_takes_last_best_and_mean() {
        let s = JobSummary::of(&[row(1, 0.5, 0.9), row(2, 0.8, 0.7), row(3, 0.6, 0.6)]).unwrap();
        assert_eq!((s.epochs, s.final_fv_acc, s.final_ex_acc), (3, 0.6, 0.6));
        assert_eq!((s.best_fv_acc, s.best_ex_acc, s.best_epoch), (0.8, 0.9, 2));
        assert!((s.mean_w_fv - 0.5).abs() < 1e-12);
        assert_eq!(s.selected_epoch, None);
        assert_eq!(JobSummary::of(&[]), None);
    }

    #[test]
    fn selection_takes_the_first_epoch_with_the_best_validation_mean() {
        let val = |epoch, fv, ex, vf, ve| EpochRow {
            val_fv_acc: Some(vf),
            val_ex_acc: Some(ve),
            ..row(epoch, fv, ex)
        };
        // Validation peaks at epochs 2 and 4 (1.5 each); test accuracy peaks at 3.
        let rows = [
            val(1, 0.5, 0.5, 0.6, 0.6),
            val(2, 0.6, 0.7, 0.8, 0.7),
            val(3, 0.9, 0.9, 0.7, 0.7),
            val(4, 0.7, 0.8, 0.7, 0.8),
        ];
        let s = JobSummary::of(&rows).unwrap();
        assert_eq!(s.selected_epoch, Some(2));
        assert_eq!(
            (s.selected_fv_acc, s.selected_ex_acc),
            (Some(0.6), Some(0.7))
        );
        assert_eq!(s.best_epoch, 3);
    }

    #[test]
    fn old_logs_without_validation_columns_read_as_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("epochs.parquet");
        let mut rows = vec![row(1, 0.5, 0.6)];
        rows[0].val_fv_acc = Some(0.4);
        let df = EpochRow::frame(&rows).unwrap();
        let df = df.drop("val_fv_acc").unwrap().drop("val_ex_acc").unwrap();
        crate::runlog::table::write_frame(&p, df).unwrap();
        let back = EpochRow::read(&p).unwrap();
        assert_eq!((back[0].val_fv_acc, back[0].val_ex_acc), (None, None));
        assert_eq!(back[0].fv_acc, 0.5);
    }
}

//! What training measures, by name: [`StepMetrics`] for one step, [`EpochMeans`] over an
//! epoch's steps, [`EpochMetrics`] for one epoch with its evaluation.
//!
//! The list of logged step values is declared once, in the `declare!` call below; the three
//! types, the epoch means and the finiteness check are generated from it. Training fills
//! these types and `runlog` stores them, so neither depends on the other.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Generates the metric types from one list of step values: required ones (`f64`), then
/// optional ones (`Option<f64>`, absent for strategies without them). Field order is the
/// list's order, which the checkpoint header's encoding follows.
macro_rules! declare {
    (
        required { $( $(#[$rdoc:meta])* $r:ident, )* }
        optional { $( $(#[$odoc:meta])* $o:ident, )* }
    ) => {
        /// What one training step measured, read back from the device in one transfer.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        pub struct StepMetrics {
            /// 1-based epoch.
            pub epoch: usize,
            /// 1-based global step.
            pub step: usize,
            $( $(#[$rdoc])* pub $r: f64, )*
            $( $(#[$odoc])* pub $o: Option<f64>, )*
        }

        impl StepMetrics {
            /// The names of the logged step values, in order.
            pub const NAMES: &'static [&'static str] =
                &[$( stringify!($r), )* $( stringify!($o), )*];

            /// The first non-finite value, as a [`Error::NonFinite`] naming its column.
            pub fn check_finite(&self) -> Result<()> {
                let values = [$( (stringify!($r), Some(self.$r)), )* $( (stringify!($o), self.$o), )*];
                match values
                    .iter()
                    .find(|(_, v)| v.is_some_and(|v| !v.is_finite()))
                {
                    Some((what, _)) => Err(Error::NonFinite {
                        what: what.to_string(),
                        epoch: self.epoch,
                        step: self.step,
                    }),
                    None => Ok(()),
                }
            }
        }

        /// Running sums of an epoch's steps, turned into means when it ends.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct EpochMeans {
            steps: usize,
            $( $r: f64, )*
            $( $o: Option<f64>, )*
        }

        impl EpochMeans {
            /// Add one step.
            pub fn add(&mut self, m: &StepMetrics) {
                self.steps += 1;
                $( self.$r += m.$r; )*
                $( if let Some(v) = m.$o {
                    self.$o = Some(self.$o.unwrap_or(0.0) + v);
                } )*
            }

            fn n(&self) -> f64 {
                self.steps.max(1) as f64
            }

            /// The epoch's metrics, with its evaluation on the test split (`test`: FV, EX
            /// accuracy), on the validation split where there is one, and the job's elapsed
            /// seconds.
            pub fn finish(
                &self,
                epoch: usize,
                test: [f64; 2],
                val: Option<[f64; 2]>,
                elapsed_s: f64,
            ) -> EpochMetrics {
                let n = self.n();
                EpochMetrics {
                    epoch,
                    $( $r: self.$r / n, )*
                    $( $o: self.$o.map(|s| s / n), )*
                    fv_acc: test[0],
                    ex_acc: test[1],
                    elapsed_s,
                    val_fv_acc: val.map(|v| v[0]),
                    val_ex_acc: val.map(|v| v[1]),
                }
            }
        }

        /// One epoch: the means of its steps' [`StepMetrics`] and the evaluation after it.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        pub struct EpochMetrics {
            /// 1-based epoch.
            pub epoch: usize,
            $( $(#[$rdoc])* pub $r: f64, )*
            $( $(#[$odoc])* pub $o: Option<f64>, )*
            /// Face-verification accuracy on the test pairs.
            pub fv_acc: f64,
            /// Expression accuracy on the test images.
            pub ex_acc: f64,
            /// Wall seconds since the job started.
            pub elapsed_s: f64,
            /// Face-verification accuracy on the validation pairs (`None` without a
            /// validation split).
            #[serde(default)]
            pub val_fv_acc: Option<f64>,
            /// Expression accuracy on the validation images.
            #[serde(default)]
            pub val_ex_acc: Option<f64>,
        }
    };
}

declare! {
    required {
        /// w_fv on the strategy's own scale (e.g. summing to 2 for dwa and gradnorm); an
        /// epoch's mean of it in [`EpochMetrics`].
        raw_w_fv,
        /// w_ex on the strategy's own scale.
        raw_w_ex,
        /// w_fv normalised so that the two weights sum to 1, comparable across strategies.
        w_fv,
        /// w_ex normalised like `w_fv`.
        w_ex,
        /// L1: identity cross-entropy plus center loss.
        loss_fv,
        /// L2: expression cross-entropy.
        loss_ex,
        /// Σ w_i L_i with the raw weights.
        loss_total,
    }
    optional {
        /// The strategy's own loss term (L3 for `l3`).
        loss_l3,
    }
}

/// Rows a job logged: its epochs and the steps `log.every_steps` keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Epoch rows, in order.
    pub epochs: Vec<EpochMetrics>,
    /// Step rows, in order.
    pub steps: Vec<StepMetrics>,
}

impl EpochMeans {
    /// Mean L1 and L2 over the steps so far (what strategies see at the end of an epoch).
    pub fn mean_losses(&self) -> [f64; 2] {
        [self.loss_fv / self.n(), self.loss_ex / self.n()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(k: usize, l3: Option<f64>) -> StepMetrics {
        StepMetrics {
            epoch: 1,
            step: k,
            raw_w_fv: 0.2 * k as f64,
            raw_w_ex: 1.0,
            w_fv: 0.1 * k as f64,
            w_ex: 1.0 - 0.1 * k as f64,
            loss_fv: k as f64,
            loss_ex: 2.0 * k as f64,
            loss_total: 3.0,
            loss_l3: l3,
        }
    }

    #[test]
    fn epoch_means_are_per_column_means() {
        let mut m = EpochMeans::default();
        for k in 1..=4 {
            m.add(&step(k, Some(k as f64)));
        }
        assert_eq!(m.mean_losses(), [2.5, 5.0]);
        let e = m.finish(3, [0.9, 0.8], Some([0.7, 0.6]), 1.5);
        assert_eq!(
            (e.epoch, e.fv_acc, e.ex_acc, e.elapsed_s),
            (3, 0.9, 0.8, 1.5)
        );
        assert_eq!((e.val_fv_acc, e.val_ex_acc), (Some(0.7), Some(0.6)));
        assert!((e.w_fv - 0.25).abs() < 1e-12 && (e.raw_w_fv - 0.5).abs() < 1e-12);
        assert_eq!(e.loss_total, 3.0);
        assert_eq!(e.loss_l3, Some(2.5));
        let mut none = EpochMeans::default();
        none.add(&step(1, None));
        let e = none.finish(1, [0.0, 0.0], None, 0.0);
        assert_eq!((e.loss_l3, e.val_fv_acc), (None, None));
    }

    #[test]
    fn the_first_non_finite_column_is_named() {
        let mut s = step(2, Some(f64::INFINITY));
        assert!(s
            .check_finite()
            .is_err_and(|e| e.to_string().contains("loss_l3")));
        s.loss_ex = f64::NAN;
        let e = s.check_finite().unwrap_err().to_string();
        assert_eq!(e, "non-finite loss_ex at epoch 1, step 2");
        assert!(step(1, None).check_finite().is_ok());
        assert_eq!(StepMetrics::NAMES.len(), 8);
        assert_eq!(StepMetrics::NAMES[0], "raw_w_fv");
    }
}

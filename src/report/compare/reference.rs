//! What a point is measured against: the baseline point of its dataset, or each task trained
//! alone (the static point that gives the task all the weight).

use std::collections::BTreeMap;

use super::{by_seed, CompareOptions, Reference};
use crate::error::{Error, Result};
use crate::report::load::Point;
use crate::strategy::static_label;
use crate::task::Tasks;

/// The reference metrics of one dataset by seed, and which point is the reference of which
/// task (its label, in task order).
pub(super) struct ReferenceSeeds {
    pub(super) metrics: BTreeMap<i64, Vec<f64>>,
    pub(super) labels: Vec<String>,
}

/// The vertex of the simplex that gives task `k` of `n` all the weight.
fn vertex(k: usize, n: usize) -> Vec<f64> {
    (0..n).map(|i| if i == k { 1.0 } else { 0.0 }).collect()
}

impl ReferenceSeeds {
    /// The reference of `mine`, the points of dataset `dataset` of `folder`; `None` when the
    /// baseline is not among them. The single-task reference needs every vertex: its absence
    /// is an input error naming the flag and the missing points.
    pub(super) fn of(
        mine: &[&Point<'_>],
        tasks: &Tasks,
        opts: &CompareOptions,
        folder: &str,
        dataset: &str,
    ) -> Result<Option<Self>> {
        match opts.reference {
            Reference::Baseline => {
                let label = opts.baseline_label(tasks);
                Ok(mine.iter().find(|p| p.label == label).map(|p| Self {
                    metrics: by_seed(p, opts.metric),
                    labels: vec![label.to_string(); tasks.len()],
                }))
            }
            Reference::SingleTask => {
                let n = tasks.len();
                let ends: Vec<Option<&&Point<'_>>> = (0..n)
                    .map(|k| {
                        mine.iter()
                            .find(|p| p.static_w.as_deref() == Some(&vertex(k, n)[..]))
                    })
                    .collect();
                if ends.iter().any(Option::is_none) {
                    let names = tasks.names();
                    let missing: Vec<String> = (0..n)
                        .filter(|&k| ends[k].is_none())
                        .map(|k| static_label(&vertex(k, n), &names))
                        .collect();
                    return Err(Error::input(
                        "--reference",
                        "reference",
                        format!(
                            "single-task needs every task's single-task point in every dataset; \
                             dataset `{dataset}` of {folder} lacks {}",
                            missing.join(" and ")
                        ),
                    ));
                }
                let ends: Vec<&Point<'_>> = ends.into_iter().flatten().copied().collect();
                let per_end: Vec<BTreeMap<i64, Vec<f64>>> =
                    ends.iter().map(|p| by_seed(p, opts.metric)).collect();
                // A seed counts where every task's own point has it.
                let metrics = per_end[0]
                    .keys()
                    .filter_map(|seed| {
                        (0..n)
                            .map(|k| per_end[k].get(seed).map(|m| m[k]))
                            .collect::<Option<Vec<f64>>>()
                            .map(|m| (*seed, m))
                    })
                    .collect();
                Ok(Some(Self {
                    metrics,
                    labels: ends.iter().map(|p| p.label.clone()).collect(),
                }))
            }
        }
    }
}

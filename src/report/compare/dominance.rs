//! Dominance over N tasks: a static point dominates a row's point when it is better on at
//! least one task after the paired tests (Holm over that row's tests against every static
//! point) and worse on none (each unadjusted test).

use super::{by_seed, CompareOptions, CompareRow};
use crate::report::load::Point;
use crate::report::stats::{holm, PairedTest};

/// For each row, the static point of the same dataset that dominates it, if any; among
/// several, the one with the smallest adjusted p-value.
pub(super) fn dominance(rows: &mut [CompareRow], mine: &[&Point<'_>], opts: &CompareOptions) {
    let statics: Vec<&&Point<'_>> = mine.iter().filter(|p| p.static_w.is_some()).collect();
    for r in rows.iter_mut() {
        let Some(x) = mine.iter().find(|p| p.label == r.point) else {
            continue;
        };
        let signs: Vec<f64> = r
            .tasks
            .iter()
            .map(|t| t.metric.direction().sign())
            .collect();
        let x_metrics = by_seed(x, opts.metric);
        // (static label, task, test of the static point's gain over the row's point).
        let mut tests: Vec<(String, usize, PairedTest)> = Vec::new();
        for s in statics.iter().filter(|s| s.label != x.label) {
            let s_metrics = by_seed(s, opts.metric);
            for (k, sign) in signs.iter().enumerate() {
                let d: Vec<f64> = x_metrics
                    .iter()
                    .filter_map(|(seed, a)| {
                        s_metrics.get(seed).map(|b| 100.0 * sign * (b[k] - a[k]))
                    })
                    .collect();
                if let Some(t) = PairedTest::of(&d, opts.level) {
                    tests.push((s.label.clone(), k, t));
                }
            }
        }
        r.dominance_tested = !tests.is_empty();
        let adjusted = holm(&tests.iter().map(|t| t.2.p).collect::<Vec<_>>());
        let worse_on_any = |label: &str| {
            tests
                .iter()
                .any(|(l, _, t)| l == label && t.p < opts.alpha && t.summary.mean < 0.0)
        };
        r.dominated_by = tests
            .iter()
            .zip(&adjusted)
            .filter(|((l, _, t), &adj)| {
                adj < opts.alpha && t.summary.mean > 0.0 && !worse_on_any(l)
            })
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|((l, _, _), _)| l.clone());
    }
}

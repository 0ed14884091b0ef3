//! Student-t confidence intervals of a mean ([`Summary`]), the paired t-test with an exact sign
//! test where the differences have no spread ([`PairedTest`]), and Holm's step-down
//! correction ([`holm`]).

use crate::dist::{t_quantile, t_two_sided_p};

/// Mean, sample standard deviation and a two-sided `level` confidence interval of the mean
/// (Student t, n − 1 degrees of freedom) of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); `None` below two values.
    pub std: Option<f64>,
    /// The confidence interval of the mean; `None` below two values.
    pub ci: Option<(f64, f64)>,
}

impl Summary {
    /// The summary of `values` with a `level` (e.g. 0.95) confidence interval.
    pub fn of(values: &[f64], level: f64) -> Self {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Self {
                n,
                mean,
                std: None,
                ci: None,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        let half = t_quantile(0.5 + level / 2.0, (n - 1) as f64) * std / (n as f64).sqrt();
        Self {
            n,
            mean,
            std: Some(std),
            ci: Some((mean - half, mean + half)),
        }
    }

    /// The summary of values that lie in [0, 1] (accuracies): the Student-t interval cut to
    /// [0, 1]. The true mean lies in [0, 1], so the cut interval holds it whenever the t
    /// interval does: its coverage is the t interval's.
    pub fn of_fraction(values: &[f64], level: f64) -> Self {
        let mut s = Self::of(values, level);
        s.ci = s.ci.map(|(lo, hi)| (lo.max(0.0), hi.min(1.0)));
        s
    }

    /// Half the width of the confidence interval (0 without one).
    pub fn half_width(&self) -> Option<f64> {
        self.ci.map(|(lo, hi)| 0.5 * (hi - lo))
    }
}

/// Which test gave a p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKind {
    /// The two-sided paired t-test.
    PairedT,
    /// The exact two-sided sign test, used when every difference is the same value: the t
    /// statistic would be ±∞ (or 0/0), which says nothing about n. With n equal non-zero
    /// differences p = 2 · 2⁻ⁿ (the chance that n fair coins all fall one way); with n zeros
    /// p = 1.
    ExactSign,
}

impl TestKind {
    /// Name in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            TestKind::PairedT => "paired t",
            TestKind::ExactSign => "exact sign",
        }
    }
}

/// A two-sided test of paired differences `d` against 0, with the confidence interval of
/// their mean at `level`. `None` below two pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    /// The differences' mean, standard deviation and confidence interval.
    pub summary: Summary,
    /// The t statistic (`None` for the sign test).
    pub t: Option<f64>,
    /// The two-sided p-value.
    pub p: f64,
    /// Which test it is.
    pub kind: TestKind,
}

impl PairedTest {
    /// Test the differences `d`: the paired t-test, or where they have no spread the exact
    /// sign test ([`TestKind::ExactSign`]).
    pub fn of(d: &[f64], level: f64) -> Option<Self> {
        if d.len() < 2 {
            return None;
        }
        let summary = Summary::of(d, level);
        let std = summary.std?;
        let n = d.len();
        if std > 0.0 && std > 1e-12 * summary.mean.abs() {
            let t = summary.mean / (std / (n as f64).sqrt());
            return Some(Self {
                summary,
                t: Some(t),
                p: t_two_sided_p(t, (n - 1) as f64),
                kind: TestKind::PairedT,
            });
        }
        let p = if summary.mean == 0.0 {
            1.0
        } else {
            (2.0 * 0.5f64.powi(n as i32)).min(1.0)
        };
        Some(Self {
            summary,
            t: None,
            p,
            kind: TestKind::ExactSign,
        })
    }
}

/// Holm's step-down adjustment of the p-values `p` (same order): the k-th smallest times
/// (m − k + 1), made monotone, capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_hand_worked_three_seed_example() {
        // Differences 1, 2, 3: mean 2, s = 1, se = 1/√3, t = 2√3 on 2 degrees of freedom,
        // where P(T > t) = (1 − t/√(t² + 2)) / 2, so p = 1 − √12/√14.
        let test = PairedTest::of(&[1.0, 2.0, 3.0], 0.95).unwrap();
        assert!((test.summary.mean - 2.0).abs() < 1e-12);
        assert!((test.summary.std.unwrap() - 1.0).abs() < 1e-12);
        assert!((test.t.unwrap() - 2.0 * 3f64.sqrt()).abs() < 1e-12);
        let p = 1.0 - 12f64.sqrt() / 14f64.sqrt();
        assert!((test.p - p).abs() < 1e-10, "{} vs {p}", test.p);
        let half = 4.302_652_7 / 3f64.sqrt();
        let (lo, hi) = test.summary.ci.unwrap();
        assert!((lo - (2.0 - half)).abs() < 1e-6 && (hi - (2.0 + half)).abs() < 1e-6);
        // Identical differences: the exact sign test (2 · 2⁻ⁿ, never "certain"), p = 1 when
        // all are zero; one pair: no test.
        let same = PairedTest::of(&[0.5, 0.5], 0.95).unwrap();
        assert_eq!(
            (same.p, same.kind, same.t),
            (0.5, TestKind::ExactSign, None)
        );
        assert_eq!(PairedTest::of(&[-0.5; 5], 0.95).unwrap().p, 0.0625);
        assert_eq!(PairedTest::of(&[0.3; 10], 0.95).unwrap().p, 2.0 / 1024.0);
        assert_eq!(PairedTest::of(&[0.0, 0.0], 0.95).unwrap().p, 1.0);
        assert_eq!(test.kind, TestKind::PairedT);
        assert!(PairedTest::of(&[1.0], 0.95).is_none());
        assert_eq!(Summary::of(&[0.7], 0.95).ci, None);
    }

    #[test]
    fn holm_on_a_known_vector() {
        // Sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → monotone.
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        for (got, want) in adjusted.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((got - want).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn accuracy_intervals_stay_inside_zero_and_one() {
        let values = [0.05, 0.6, 0.02, 0.7, 0.01];
        let t = Summary::of(&values, 0.95).ci.unwrap();
        let cut = Summary::of_fraction(&values, 0.95).ci.unwrap();
        assert!(t.0 < 0.0 && cut.0 == 0.0 && cut.1 == t.1, "{t:?} {cut:?}");
        let high = Summary::of_fraction(&[0.99, 1.0, 0.97], 0.95).ci.unwrap();
        assert!(high.1 == 1.0 && high.0 > 0.9);
    }
}

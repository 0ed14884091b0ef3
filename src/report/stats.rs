//! The statistics behind a verdict: Student-t confidence intervals, the paired t-test and
//! Holm's step-down correction, written out here (no statistics crate) and checked against
//! published table values.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// The continued fraction of the incomplete beta function (modified Lentz), valid for
/// x < (a + 1) / (a + b + 2).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        // Odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b).
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (the two-sided p-value).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The quantile q with P(T ≤ q) = `p` for Student's t with `df` degrees of freedom, p in (0, 1).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    // P(T ≤ q) = 1 − p_two_sided(q) / 2 grows with q: bisect on it.
    let target = 2.0 * (1.0 - p);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while t_two_sided_p(hi, df) > target {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_two_sided_p(mid, df) > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

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

    /// Half the width of the confidence interval (0 without one).
    pub fn half_width(&self) -> Option<f64> {
        self.ci.map(|(lo, hi)| 0.5 * (hi - lo))
    }
}

/// A two-sided paired t-test of differences `d` against 0, with the confidence interval of
/// their mean at `level`. `None` below two pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    /// The differences' mean, standard deviation and confidence interval.
    pub summary: Summary,
    /// The t statistic (infinite when every difference is the same non-zero value).
    pub t: f64,
    /// The two-sided p-value.
    pub p: f64,
}

impl PairedTest {
    /// Test the differences `d`.
    pub fn of(d: &[f64], level: f64) -> Option<Self> {
        if d.len() < 2 {
            return None;
        }
        let summary = Summary::of(d, level);
        let std = summary.std?;
        let se = std / (d.len() as f64).sqrt();
        let t = if se > 0.0 {
            summary.mean / se
        } else if summary.mean == 0.0 {
            0.0
        } else {
            summary.mean.signum() * f64::INFINITY
        };
        Some(Self {
            summary,
            t,
            p: t_two_sided_p(t, (d.len() - 1) as f64),
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
    fn t_quantiles_match_the_published_table() {
        // Two-sided 95 % critical values (t_{0.975, df}) from the standard t table.
        for (df, want) in [
            (1.0, 12.706_204_7),
            (2.0, 4.302_652_7),
            (3.0, 3.182_446_3),
            (4.0, 2.776_445_1),
            (9.0, 2.262_157_2),
            (29.0, 2.045_229_6),
            (1e7, 1.959_964_0),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 1e-6, "df {df}: {got} vs {want}");
        }
        // One-sided 99 % and 90 % values.
        assert!((t_quantile(0.99, 5.0) - 3.364_929_9).abs() < 1e-6);
        assert!((t_quantile(0.90, 10.0) - 1.372_183_6).abs() < 1e-6);
        assert!((t_quantile(0.025, 4.0) + 2.776_445_1).abs() < 1e-6);
    }

    #[test]
    fn a_hand_worked_three_seed_example() {
        // Differences 1, 2, 3: mean 2, s = 1, se = 1/√3, t = 2√3 on 2 degrees of freedom,
        // where P(T > t) = (1 − t/√(t² + 2)) / 2, so p = 1 − √12/√14.
        let test = PairedTest::of(&[1.0, 2.0, 3.0], 0.95).unwrap();
        assert!((test.summary.mean - 2.0).abs() < 1e-12);
        assert!((test.summary.std.unwrap() - 1.0).abs() < 1e-12);
        assert!((test.t - 2.0 * 3f64.sqrt()).abs() < 1e-12);
        let p = 1.0 - 12f64.sqrt() / 14f64.sqrt();
        assert!((test.p - p).abs() < 1e-10, "{} vs {p}", test.p);
        let half = 4.302_652_7 / 3f64.sqrt();
        let (lo, hi) = test.summary.ci.unwrap();
        assert!((lo - (2.0 - half)).abs() < 1e-6 && (hi - (2.0 + half)).abs() < 1e-6);
        // Identical differences: certain when non-zero, nothing when zero; one pair: no test.
        assert_eq!(PairedTest::of(&[0.5, 0.5], 0.95).unwrap().p, 0.0);
        assert_eq!(PairedTest::of(&[0.0, 0.0], 0.95).unwrap().p, 1.0);
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
    fn the_t_distribution_has_its_known_tails() {
        // df = 1 is the Cauchy distribution: P(|T| ≥ 1) = 1/2.
        assert!((t_two_sided_p(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert!((t_two_sided_p(0.0, 7.0) - 1.0).abs() < 1e-12);
        assert!((incomplete_beta(2.0, 3.0, 0.4) - 0.5248).abs() < 1e-12);
    }
}

//! The statistics behind a verdict: Student-t confidence intervals, the paired t-test (with an
//! exact sign test where the differences have no spread), Holm's step-down correction, and the
//! power of the paired t-test from the noncentral t distribution (minimum detectable effect,
//! seeds needed). Written out here (no statistics crate) and checked against published table
//! values and against scipy / statsmodels.

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

/// The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), x ≥ 0.
fn upper_gamma(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (a * x.ln() - x - ln_gamma(a)).exp();
    if x < a + 1.0 {
        // The series of P(a, x).
        let (mut term, mut sum, mut k) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            k += 1.0;
            term *= x / k;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * front
    } else {
        // The continued fraction of Q(a, x) (modified Lentz).
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < TINY { TINY } else { d };
            c = b + an / c;
            c = if c.abs() < TINY { TINY } else { c };
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        front * h
    }
}

/// Φ(z), the standard normal distribution function, accurate in both tails.
pub fn normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    // Φ(z) = Q(1/2, z²/2) / 2 for z ≤ 0.
    let tail = 0.5 * upper_gamma(0.5, 0.5 * z * z);
    if z <= 0.0 {
        tail
    } else {
        1.0 - tail
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

/// Nodes and weights of the 20-point Gauss–Legendre rule on [−1, 1], computed once (Newton's
/// method on the Legendre polynomial).
fn gauss_legendre() -> &'static [(f64, f64)] {
    static RULE: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    RULE.get_or_init(|| {
        const N: usize = 20;
        let mut rule = Vec::with_capacity(N);
        for i in 0..N {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (N as f64 + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                // P_N(x) and its derivative by the three-term recurrence.
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=N {
                    let k = k as f64;
                    (p0, p1) = (p1, ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k);
                }
                dp = N as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-16 {
                    break;
                }
            }
            rule.push((x, 2.0 / ((1.0 - x * x) * dp * dp)));
        }
        rule
    })
}

/// ∫ f over [a, b]: 20-point Gauss–Legendre on panels no wider than (b − a)/16, with extra
/// panel edges at `edges` (where f changes fast), so that the cost is bounded whatever f does.
fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, edges: &[f64]) -> f64 {
    let mut cuts: Vec<f64> = vec![a, b];
    cuts.extend(edges.iter().copied().filter(|e| *e > a && *e < b));
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let widest = (b - a) / 16.0;
    let rule = gauss_legendre();
    let mut total = 0.0;
    for w in cuts.windows(2) {
        let pieces = ((w[1] - w[0]) / widest).ceil().max(1.0) as usize;
        let h = (w[1] - w[0]) / pieces as f64;
        for k in 0..pieces {
            let mid = w[0] + (k as f64 + 0.5) * h;
            total += 0.5
                * h
                * rule
                    .iter()
                    .map(|(x, wt)| wt * f(mid + 0.5 * h * x))
                    .sum::<f64>();
        }
    }
    total
}

/// The density of U = √(V/ν) for V ~ χ²(ν): T = (Z + δ) / U is then noncentral t.
fn scaled_chi_density(u: f64, df: f64) -> f64 {
    if u <= 0.0 {
        return if df == 1.0 {
            (2.0 / std::f64::consts::PI).sqrt()
        } else {
            0.0
        };
    }
    let h = 0.5 * df;
    (std::f64::consts::LN_2 + h * h.ln() - ln_gamma(h) + (df - 1.0) * u.ln() - h * u * u).exp()
}

/// The part of U's support worth integrating over (the mass outside is below 1e-30).
fn scaled_chi_range(df: f64) -> (f64, f64) {
    let reach = 12.0 / df.sqrt();
    ((1.0 - reach).max(0.0), 1.0 + reach)
}

/// Panel edges around u = `centre` at the scale `width`: where Φ(c·u − δ) steps from 0 to 1.
fn step_edges(centre: f64, width: f64) -> Vec<f64> {
    [-8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0]
        .iter()
        .map(|k| centre + k * width)
        .collect()
}

/// P(T ≤ t) for the noncentral t distribution with `df` degrees of freedom and noncentrality
/// `ncp`: ∫ Φ(t·u − ncp) f_U(u) du over U = √(χ²(df)/df).
pub fn noncentral_t_cdf(t: f64, df: f64, ncp: f64) -> f64 {
    let f = |u: f64| normal_cdf(t * u - ncp) * scaled_chi_density(u, df);
    let (lo, hi) = scaled_chi_range(df);
    let edges = if t != 0.0 {
        step_edges(ncp / t, 1.0 / t.abs())
    } else {
        Vec::new()
    };
    integrate(&f, lo, hi, &edges).clamp(0.0, 1.0)
}

/// The power of a two-sided one-sample (paired) t-test at level `alpha` with `n` pairs when
/// the differences' true mean is `effect` and their standard deviation `sd`:
/// P(|T| > t_{1−α/2, n−1}) with T noncentral t (n − 1 degrees of freedom, noncentrality
/// effect·√n / sd). `None` below two pairs or without spread.
pub fn paired_power(effect: f64, sd: f64, n: usize, alpha: f64) -> Option<f64> {
    if n < 2 || sd.is_nan() || sd <= 0.0 {
        return None;
    }
    let df = (n - 1) as f64;
    Some(power_at(effect.abs() * (n as f64).sqrt() / sd, df, alpha))
}

/// Two-sided power at noncentrality `ncp`: both tails of the noncentral t beyond ±c, summed
/// under one integral (no 1 − F cancellation).
fn power_at(ncp: f64, df: f64, alpha: f64) -> f64 {
    let c = t_quantile(1.0 - alpha / 2.0, df);
    let f =
        |u: f64| (normal_cdf(ncp - c * u) + normal_cdf(-c * u - ncp)) * scaled_chi_density(u, df);
    let (lo, hi) = scaled_chi_range(df);
    integrate(&f, lo, hi, &step_edges(ncp / c, 1.0 / c)).clamp(0.0, 1.0)
}

/// The smallest |mean difference| that a two-sided paired t-test at level `alpha` with `n`
/// pairs of standard deviation `sd` detects with probability `power`: the minimum detectable
/// effect, in the units of `sd`. `None` below two pairs or without spread.
pub fn minimum_detectable_effect(sd: f64, n: usize, alpha: f64, power: f64) -> Option<f64> {
    if n < 2 || sd.is_nan() || sd <= 0.0 || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let df = (n - 1) as f64;
    if power_at(0.0, df, alpha) >= power {
        return Some(0.0);
    }
    // Power grows with the noncentrality: bracket, then bisect.
    let mut hi = 1.0;
    while power_at(hi, df, alpha) < power {
        hi *= 2.0;
        if hi > 1e9 {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if power_at(mid, df, alpha) < power {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-10 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi) * sd / (n as f64).sqrt())
}

/// The fewest pairs (at least two, at most `cap`) for which a two-sided paired t-test at
/// level `alpha` detects a mean difference `effect` with probability `power`, when the
/// differences' standard deviation is `sd`. `None` without spread or beyond `cap`.
pub fn pairs_needed(effect: f64, sd: f64, alpha: f64, power: f64, cap: usize) -> Option<usize> {
    if sd.is_nan() || sd <= 0.0 || effect == 0.0 || effect.is_nan() {
        return None;
    }
    let enough = |n: usize| paired_power(effect, sd, n, alpha).is_some_and(|p| p >= power);
    if !enough(cap) {
        return None;
    }
    // Power grows with n: bisect on [2, cap].
    let (mut lo, mut hi) = (1usize, cap);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if mid >= 2 && enough(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
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

    // The reference values of the next two tests are scipy's and statsmodels' (an
    // implementation independent of this one): scripts/power-reference.py prints them.

    #[test]
    fn noncentral_t_matches_scipy() {
        for (t, df, ncp, want) in [
            (2.0, 4.0, 1.0, 0.764_567_453_824_324_3),
            (-1.5, 9.0, 0.5, 0.031_897_735_690_487_546),
            (3.0, 1.0, 2.0, 0.524_857_161_733_687_9),
            (10.0, 29.0, 8.0, 0.878_347_942_681_925_1),
            (0.5, 2.0, -1.0, 0.920_304_260_068_485),
            (177.0, 1.0, 230.0, 0.193_801_790_128_427_1),
        ] {
            let got = noncentral_t_cdf(t, df, ncp);
            assert!(
                (got - want).abs() < 1e-9,
                "F({t}; {df}, {ncp}) = {got}, scipy {want}"
            );
        }
        // Zero noncentrality is Student's t.
        let central = noncentral_t_cdf(2.0, 5.0, 0.0);
        assert!((central - (1.0 - t_two_sided_p(2.0, 5.0) / 2.0)).abs() < 1e-10);
        assert!((normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-14);
        assert!((normal_cdf(-8.0) - 6.220_960_574_271_74e-16).abs() < 1e-27);
    }

    #[test]
    fn power_mde_and_pairs_match_statsmodels() {
        let a14 = 0.05 / 14.0;
        // Power of a two-sided paired t-test at effect size d = effect / sd.
        for (d, n, alpha, want) in [
            (0.5, 5, 0.05, 0.140_516_689_990_298),
            (1.2, 5, 0.05, 0.530_221_251_140_278_7),
            (2.0, 5, a14, 0.302_451_145_513_091_4),
            (0.8, 20, a14, 0.604_551_886_156_350_2),
            (0.3, 40, 0.05, 0.456_522_112_706_135_6),
            (3.0, 3, 0.05, 0.745_268_007_006_283_4),
        ] {
            let got = paired_power(d * 2.0, 2.0, n, alpha).unwrap();
            assert!(
                (got - want).abs() < 1e-8,
                "power({d}, {n}, {alpha}) = {got}, {want}"
            );
        }
        // The effect size detected with 80 % power (in units of sd; here sd = 1): the root of
        // scipy's noncentral-t power (statsmodels' solve_power misses it at n = 5, α/14).
        for (n, alpha, want) in [
            (5, 0.05, 1.681_996_965_955_554_7),
            (5, a14, 3.443_709_520_476_372_4),
            (10, 0.05, 0.996_001_371_455_449),
            (20, a14, 0.946_701_597_040_565_1),
            (3, 0.05, 3.264_043_549_699_571_2),
            (8, 0.005, 1.805_161_357_653_713_8),
        ] {
            let got = minimum_detectable_effect(1.0, n, alpha, 0.8).unwrap();
            assert!(
                (got - want).abs() < 1e-6 * want,
                "mde({n}, {alpha}) = {got}, {want}"
            );
            // In the units of sd.
            let scaled = minimum_detectable_effect(1.7, n, alpha, 0.8).unwrap();
            assert!((scaled - 1.7 * want).abs() < 1e-6 * want);
        }
        // Pairs needed: statsmodels' continuous n, rounded up.
        for (effect, sd, alpha, want) in [
            (1.0, 1.5, 0.05, 20),
            (1.0, 1.5, a14, 36),
            (1.0, 2.3, a14, 79),
            (0.5, 0.6, 0.05, 14),
        ] {
            assert_eq!(pairs_needed(effect, sd, alpha, 0.8, 100_000), Some(want));
        }
        assert_eq!(pairs_needed(1.0, 2.3, a14, 0.8, 50), None);
        assert_eq!(paired_power(1.0, 0.0, 5, 0.05), None);
        assert_eq!(minimum_detectable_effect(1.0, 1, 0.05, 0.8), None);
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

    #[test]
    fn the_t_distribution_has_its_known_tails() {
        // df = 1 is the Cauchy distribution: P(|T| ≥ 1) = 1/2.
        assert!((t_two_sided_p(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert!((t_two_sided_p(0.0, 7.0) - 1.0).abs() < 1e-12);
        assert!((incomplete_beta(2.0, 3.0, 0.4) - 0.5248).abs() < 1e-12);
    }
}

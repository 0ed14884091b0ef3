//! The power of the paired t-test from the noncentral t distribution: the power at an effect,
//! the minimum detectable effect, and the pairs needed. Checked against scipy and statsmodels
//! (`scripts/power-reference.py` prints the reference values).

use crate::dist::{integrate, ln_gamma, normal_cdf, t_quantile};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::t_two_sided_p;
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
}

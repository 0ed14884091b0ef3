//! The distributions behind every test here: ln Γ, the regularised incomplete beta and upper
//! incomplete gamma functions, the standard normal (distribution function and quantile),
//! Student's t (two-sided p-value and quantile), and a Gauss–Legendre integrator. Written out
//! (no statistics crate) and checked against published table values.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; relative error below 1e-13).
pub(crate) fn ln_gamma(x: f64) -> f64 {
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

/// φ(z), the standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The quantile z with Φ(z) = `p` for p in (0, 1); ±∞ at 1 and 0. For an upper-tail quantile
/// pass the tail (z_{1−q} = −`normal_quantile(q)`): 1 − q loses the digits of a small q.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -normal_quantile(1.0 - p);
    }
    // Acklam's rational approximation (relative error 1.2e-9) as the start, then Halley steps
    // on Φ, which is accurate in the lower tail, to full precision.
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let mut x = if p < 0.024_25 {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    for _ in 0..3 {
        let e = normal_cdf(x) - p;
        let u = e / normal_pdf(x);
        x -= u / (1.0 + 0.5 * x * u);
    }
    x
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
    // P(T ≤ q) = 1 − P(|T| ≥ q) / 2 for q ≥ 0.
    t_two_sided_quantile(2.0 * (1.0 - p), df)
}

/// The q ≥ 0 with P(|T| ≥ q) = `p` for Student's t with `df` degrees of freedom, p in (0, 1]:
/// the two-sided critical value, accurate for a tiny `p` (where `t_quantile(1 − p/2, df)`
/// would lose its digits in 1 − p/2).
pub fn t_two_sided_quantile(p: f64, df: f64) -> f64 {
    if p >= 1.0 {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while t_two_sided_p(hi, df) > p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_two_sided_p(mid, df) > p {
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
pub(crate) fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, edges: &[f64]) -> f64 {
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
    fn normal_quantiles_invert_the_distribution_function() {
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-13);
        assert!((normal_quantile(0.025) + 1.959_963_984_540_054).abs() < 1e-13);
        assert_eq!(normal_quantile(0.5), 0.0);
        for p in [1e-300, 1e-12, 3.3e-9, 0.001, 0.2, 0.5, 0.77] {
            let z = normal_quantile(p);
            assert!((normal_cdf(z) / p - 1.0).abs() < 1e-12, "p {p}: z {z}");
        }
        // Two-sided t critical values, at ordinary and at tiny levels.
        assert!((t_two_sided_quantile(0.05, 9.0) - 2.262_157_2).abs() < 1e-6);
        let q = t_two_sided_quantile(1e-9, 12.0);
        assert!((t_two_sided_p(q, 12.0) / 1e-9 - 1.0).abs() < 1e-8);
    }

    #[test]
    fn the_t_distribution_has_its_known_tails() {
        // df = 1 is the Cauchy distribution: P(|T| ≥ 1) = 1/2.
        assert!((t_two_sided_p(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert!((t_two_sided_p(0.0, 7.0) - 1.0).abs() < 1e-12);
        assert!((incomplete_beta(2.0, 3.0, 0.4) - 0.5248).abs() < 1e-12);
    }
}

//! The anytime-valid design's statistic: the t-test e-process of Lai (1976) with a Gaussian
//! mixture over the standardised effect, as in Wang & Ramdas (2023, arXiv 2310.03722), and
//! its confidence sequence by inversion.
//!
//! For n differences x_1, …, x_n and a hypothesised mean μ₀, write y_i = x_i − μ₀. Scaling
//! the data does not change whether μ₀ is the mean, so the test looks only at the direction
//! u = y/‖y‖ (the maximal invariant of scaling). For a standardised effect θ = (μ − μ₀)/σ the
//! likelihood ratio of u against θ = 0 is
//!
//! ```text
//!   LR_n(θ) = ∫₀^∞ λ^{n−1} exp(−½ Σ(λu_i − θ)²) dλ / ∫₀^∞ λ^{n−1} exp(−½ λ²) dλ,
//! ```
//!
//! and its mixture over θ ~ N(0, g) has the closed form (the θ integral is Gaussian, then
//! the λ integrals are both Γ(n/2) integrals)
//!
//! ```text
//!   E_n = (1 + n g)^{−1/2} · (1 − S²/((n + 1/g) Q))^{−n/2},   S = Σ y_i,  Q = Σ y_i²,
//! ```
//!
//! a test martingale under H₀ for the filtration of the u's (E_1 = 1: one value says nothing
//! about its own scale). Ville's inequality bounds P(sup_n E_n ≥ 1/a) ≤ a, so 1 / max_{n' ≤
//! n} E_{n'} is an anytime p-value, and {μ₀ : E_n(μ₀) < 1/a} a (1 − a) confidence sequence.
//! With mean m and sum of squared deviations W, E_n(μ₀) grows with |m − μ₀|, and the
//! sequence is the interval m ± h_n √W with
//!
//! ```text
//!   r = (a / √(1 + n g))^{2/n},   h_n² = (n + 1/g)(1 − r) / (n (r (n + 1/g) − 1/g)),
//! ```
//!
//! the whole line while r (n + 1/g) ≤ 1/g. The unit tests check the closed form against a
//! numerical integration of the two integrals above.

/// The prior variance g of the standardised effect (μ − μ₀)/σ in the mixture: 1, an effect
/// of one standard deviation of a paired difference as the typical alternative.
pub const PRIOR_VARIANCE: f64 = 1.0;

/// ln E_n(μ₀): the log mixture e-value of `n` differences with mean `mean` and sum of squared
/// deviations `ssd` against H₀: μ = `mu0`, prior variance `g` (see the module doc). 0 below
/// two values.
pub fn log_e_value(n: usize, mean: f64, ssd: f64, mu0: f64, g: f64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let nf = n as f64;
    let c = nf + 1.0 / g;
    let d = mean - mu0;
    // 1 − S²/((n + 1/g) Q) with S = n d and Q = W + n d², written without the cancellation.
    let denom = c * (ssd + nf * d * d);
    let rest = if denom > 0.0 {
        (ssd * c + nf * d * d / g) / denom
    } else {
        // Every value equals μ₀: no evidence against it.
        1.0
    };
    -0.5 * (nf * g).ln_1p() - 0.5 * nf * rest.ln()
}

/// h_n of the module doc: the (1 − `alpha`) confidence sequence at n values is mean ± h_n·√W
/// (W the sum of squared deviations); `f64::INFINITY` where it is the whole line.
pub fn cs_coefficient(n: usize, alpha: f64, g: f64) -> f64 {
    if n < 2 {
        return f64::INFINITY;
    }
    let nf = n as f64;
    let c = nf + 1.0 / g;
    let r = ((2.0 / nf) * (alpha.ln() - 0.5 * (nf * g).ln_1p())).exp();
    let room = r * c - 1.0 / g;
    if room <= 0.0 {
        return f64::INFINITY;
    }
    (c * (1.0 - r) / (nf * room)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::mixture_by_integration;

    fn moments(x: &[f64]) -> (f64, f64) {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        (mean, x.iter().map(|v| (v - mean).powi(2)).sum())
    }

    #[test]
    fn the_closed_form_mixture_matches_numerical_integration() {
        let samples: [&[f64]; 4] = [
            &[0.3, -1.2, 0.8, 2.1, 0.4],
            &[1.1, 0.9, 1.4, 0.7, 1.2, 1.6, 0.8, 1.0, 1.3, 0.95, 1.05, 1.2],
            &[-0.2, 0.1, 0.05, -0.15, 0.3, -0.1, 0.0],
            &[2.0, 3.5],
        ];
        for x in samples {
            let (mean, ssd) = moments(x);
            for (mu0, g) in [(0.0, 1.0), (0.5, 1.0), (0.0, 0.25), (-0.3, 4.0)] {
                let closed = log_e_value(x.len(), mean, ssd, mu0, g).exp();
                let numeric = mixture_by_integration(x, mu0, g);
                assert!(
                    (closed / numeric - 1.0).abs() < 1e-8,
                    "n {} μ₀ {mu0} g {g}: closed {closed}, integrated {numeric}",
                    x.len()
                );
            }
        }
        // One value carries no scale-free evidence; neither does scaling the data.
        assert!(log_e_value(1, 3.0, 0.0, 0.0, 1.0).abs() < 1e-15);
        let x = [0.3, -1.2, 0.8, 2.1, 0.4];
        let (m, w) = moments(&x);
        let scaled = log_e_value(5, 100.0 * m, 1e4 * w, 0.0, 1.0);
        assert!((scaled - log_e_value(5, m, w, 0.0, 1.0)).abs() < 1e-12);
    }

    #[test]
    fn the_confidence_sequence_inverts_the_e_value() {
        let x = [1.1, 0.9, 1.4, 0.7, 1.2, 1.6, 0.8, 1.0, 1.3, 0.95, 1.05, 1.2];
        let (mean, ssd) = moments(&x);
        for alpha in [0.05, 0.05 / 14.0] {
            let h = cs_coefficient(x.len(), alpha, 1.0);
            assert!(h.is_finite());
            for end in [mean - h * ssd.sqrt(), mean + h * ssd.sqrt()] {
                let log_e = log_e_value(x.len(), mean, ssd, end, 1.0);
                assert!(
                    (log_e + alpha.ln()).abs() < 1e-9,
                    "{log_e} vs {}",
                    -alpha.ln()
                );
            }
        }
        // Too few values for any evidence at α/14: the whole line.
        assert_eq!(cs_coefficient(2, 0.05 / 14.0, 1.0), f64::INFINITY);
    }
}

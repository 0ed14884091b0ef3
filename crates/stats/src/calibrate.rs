//! The group-sequential design's multipliers for the t statistic: [`t_boundaries`] turns the
//! normal-theory spending boundaries into Student-t multipliers at each look, and raises those
//! that a simulation of the t statistics shows to be liberal.
//!
//! The variance of the paired differences is unknown, so each look tests
//! T_k = mean_k / (s_k / √n_k), not a Z statistic. Step 1 keeps each look's nominal level:
//! the multiplier is the t quantile with n_k − 1 degrees of freedom at the two-sided level
//! 2(1 − Φ(c_k)) of the normal boundary c_k (Jennison & Turnbull's significance-level
//! approach). Each T_k then has exactly its look's marginal level, but the joint law of
//! (T_1, …, T_K) is not that of the Z's, and at small n_k the spending can run over. Step 2
//! measures it: under the null the T's are pivotal (their joint law depends neither on σ nor
//! on anything else), so a simulation of N null studies (the sufficient statistics of each
//! round drawn exactly: the round's sum as a normal, its within-round sum of squares as a
//! χ²) gives the cumulative crossing probability at every look. Look by look from the second,
//! where more simulated paths have crossed than the target, the multiplier is raised to the
//! order statistic that brings the count back to it. The target is N·α(t_k) less
//! [`SAFETY`] of its Monte Carlo standard errors √(N α(t_k)(1 − α(t_k))): aimed at α(t_k)
//! itself, the calibrated level would be α(t_k) give or take the simulation's own error, as
//! likely above as below; aimed this much lower, it is at most α(t_k) with probability 0.98.
//! A multiplier is never lowered, and the first look's never raised (a single t statistic has
//! exactly its nominal level). The draws are seeded ([`Calibration::seed`]) and each path has
//! its own stream, so the multipliers are the same on every machine and for any number of
//! threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::boundary::{obrien_fleming_spending, spending_bounds};
use crate::dist::{normal_cdf, t_two_sided_quantile};
use crate::rng::Rng;

/// How many Monte Carlo standard errors the calibration's target lies below the spending.
pub const SAFETY: f64 = 2.0;

/// How many null paths calibrate the t multipliers, and their seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    /// Simulated null studies; 0 keeps the uncalibrated t multipliers.
    pub paths: u64,
    /// The seed of their streams.
    pub seed: u64,
}

impl Calibration {
    /// The default: 2²² paths (a few seconds on two cores), seed 33. A calibrated
    /// look's cumulative level then lies about 2√(α(1 − α)/2²²) below α: 2.1e-4 at α = 0.05
    /// (0.4 %), 5.8e-5 at α = 0.05/14 (1.6 %).
    pub const DEFAULT: Calibration = Calibration {
        paths: 1 << 22,
        seed: 33,
    };
}

impl Default for Calibration {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One look of a group-sequential design: where it is, what it spends, and its multipliers.
#[derive(Debug, Clone, PartialEq)]
pub struct LookBoundary {
    /// Seeds (paired differences) at this look.
    pub seeds: usize,
    /// Information fraction t = seeds / the last look's seeds.
    pub fraction: f64,
    /// Cumulative two-sided level α(t) spent by this look (per point).
    pub spent: f64,
    /// The normal-theory boundary on the Z scale.
    pub z: f64,
    /// The t multiplier at the normal boundary's nominal level (step 1).
    pub t_multiplier: f64,
    /// The multiplier used: `t_multiplier`, or higher where the calibration raised it.
    pub multiplier: f64,
    /// Cumulative crossing fraction of the calibration paths by this look with the
    /// multipliers used (NaN without calibration).
    pub simulated_spent: f64,
    /// The same with the uncalibrated t multipliers at every look (NaN without calibration):
    /// how liberal step 1 alone would have been.
    pub simulated_spent_uncalibrated: f64,
}

/// The boundaries of the O'Brien–Fleming-type spending design at the seed counts `looks`
/// (increasing, the first at least 2) with per-point two-sided level `alpha`, as Student-t
/// multipliers calibrated by `calibration`.
pub fn t_boundaries(looks: &[usize], alpha: f64, calibration: Calibration) -> Vec<LookBoundary> {
    let last = *looks.last().expect("at least one look") as f64;
    let info: Vec<f64> = looks.iter().map(|&n| n as f64).collect();
    let z = spending_bounds(&info, alpha);
    let mut out: Vec<LookBoundary> = looks
        .iter()
        .zip(&z)
        .map(|(&n, &c)| {
            let nominal = 2.0 * normal_cdf(-c);
            let t = t_two_sided_quantile(nominal, (n - 1) as f64);
            LookBoundary {
                seeds: n,
                fraction: n as f64 / last,
                spent: obrien_fleming_spending(n as f64 / last, alpha),
                z: c,
                t_multiplier: t,
                multiplier: t,
                simulated_spent: f64::NAN,
                simulated_spent_uncalibrated: f64::NAN,
            }
        })
        .collect();
    if calibration.paths > 0 {
        calibrate(&mut out, looks, calibration);
    }
    out
}

/// The |T_k| of one look that reach that look's uncalibrated multiplier: only these can
/// cross, since a multiplier is never lowered.
type Exceedances = Vec<(u64, f64)>;

/// Step 2 of the module doc: simulate, then raise the liberal looks' multipliers.
fn calibrate(out: &mut [LookBoundary], looks: &[usize], calibration: Calibration) {
    let floors: Vec<f64> = out.iter().map(|b| b.t_multiplier).collect();
    let per_look = simulate_exceedances(looks, &floors, calibration);
    let n = calibration.paths;
    let mut crossed = vec![false; n as usize];
    let mut crossed_plain = vec![false; n as usize];
    let (mut total, mut total_plain) = (0u64, 0u64);
    for (k, exceed) in per_look.iter().enumerate() {
        // The uncalibrated design, for the report.
        for &(path, _) in exceed {
            if !crossed_plain[path as usize] {
                crossed_plain[path as usize] = true;
                total_plain += 1;
            }
        }
        let mut alive: Vec<(u64, f64)> = exceed
            .iter()
            .copied()
            .filter(|(path, _)| !crossed[*path as usize])
            .collect();
        let p = out[k].spent;
        let nf = n as f64;
        let target = (nf * p - SAFETY * (nf * p * (1.0 - p)).sqrt())
            .floor()
            .max(0.0) as u64;
        let allowed = target.saturating_sub(total) as usize;
        if k > 0 && alive.len() > allowed {
            alive.sort_by(|a, b| b.1.total_cmp(&a.1));
            let c = if allowed == 0 {
                alive[0].1 * (1.0 + 1e-12)
            } else {
                0.5 * (alive[allowed - 1].1 + alive[allowed].1)
            };
            out[k].multiplier = c.max(out[k].t_multiplier);
        }
        for &(path, t) in &alive {
            if t >= out[k].multiplier {
                crossed[path as usize] = true;
                total += 1;
            }
        }
        out[k].simulated_spent = total as f64 / n as f64;
        out[k].simulated_spent_uncalibrated = total_plain as f64 / n as f64;
    }
}

/// Paths per unit of work handed to a thread.
const CHUNK: u64 = 1 << 14;

/// The number of threads for a simulation: the machine's, at most 16.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16)
}

/// Simulate the null paths of (|T_1|, …, |T_K|) and keep, per look, the paths whose |T_k|
/// reaches `floors[k]`, in path order.
fn simulate_exceedances(
    looks: &[usize],
    floors: &[f64],
    calibration: Calibration,
) -> Vec<Exceedances> {
    let chunks = calibration.paths.div_ceil(CHUNK) as usize;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Vec<Exceedances>>>> = Mutex::new(vec![None; chunks]);
    std::thread::scope(|scope| {
        for _ in 0..threads().min(chunks) {
            scope.spawn(|| loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let start = c as u64 * CHUNK;
                let end = (start + CHUNK).min(calibration.paths);
                let mut found = vec![Vec::new(); looks.len()];
                for path in start..end {
                    null_path(looks, calibration.seed, path, |k, t| {
                        if t >= floors[k] {
                            found[k].push((path, t));
                        }
                    });
                }
                results.lock().expect("no panics while held")[c] = Some(found);
            });
        }
    });
    let mut per_look = vec![Vec::new(); looks.len()];
    for chunk in results.into_inner().expect("no panics while held") {
        for (k, found) in chunk.expect("every chunk ran").into_iter().enumerate() {
            per_look[k].extend(found);
        }
    }
    per_look
}

/// One null path's |T_k| at every look, from the sufficient statistics of each round: the
/// round's sum B ~ N(0, m), its within-round sum of squared deviations V ~ χ²(m − 1), and the
/// sum of squared deviations W updated by V and the between-round term.
fn null_path(looks: &[usize], seed: u64, path: u64, mut visit: impl FnMut(usize, f64)) {
    let mut rng = Rng::stream(seed, path);
    let (mut n, mut sum, mut ssd) = (0usize, 0.0f64, 0.0f64);
    for (k, &look) in looks.iter().enumerate() {
        let m = look - n;
        let mf = m as f64;
        let b = mf.sqrt() * rng.normal();
        let v = if m >= 2 {
            rng.chi_square(mf - 1.0)
        } else {
            0.0
        };
        if n > 0 {
            let nf = n as f64;
            let gap = b / mf - sum / nf;
            ssd += v + nf * mf / (nf + mf) * gap * gap;
        } else {
            ssd = v;
        }
        sum += b;
        n = look;
        let nf = n as f64;
        let t = sum / (nf * ssd / (nf - 1.0)).sqrt();
        visit(k, t.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::t_two_sided_p;

    #[test]
    fn one_look_is_the_t_test() {
        let plain = Calibration { paths: 0, seed: 0 };
        let b = t_boundaries(&[12], 0.05, plain);
        assert!((b[0].multiplier - 2.200_985_2).abs() < 1e-6, "{b:?}");
        assert!(b[0].simulated_spent.is_nan());
        // A single t statistic has its nominal level: the calibration measures it (within its
        // noise) and leaves the multiplier.
        let calibration = Calibration {
            paths: 1 << 16,
            seed: 1,
        };
        let b = t_boundaries(&[12], 0.05, calibration);
        assert_eq!(b[0].multiplier, b[0].t_multiplier);
        assert!((b[0].simulated_spent - 0.05).abs() < 0.003, "{b:?}");
    }

    #[test]
    fn the_simulated_t_statistic_has_the_t_law() {
        // |T| at a single look of 5 and at 5 + 3 (one between-round term): P(|T| ≥ q) from
        // the simulated paths against Student's t.
        let looks = [5usize, 8];
        let paths = 1u64 << 16;
        let mut hits = [0u64; 2];
        let q = [2.0, 2.5];
        for path in 0..paths {
            null_path(&looks, 9, path, |k, t| {
                if t >= q[k] {
                    hits[k] += 1;
                }
            });
        }
        for k in 0..2 {
            let want = t_two_sided_p(q[k], (looks[k] - 1) as f64);
            let got = hits[k] as f64 / paths as f64;
            let se = (want * (1.0 - want) / paths as f64).sqrt();
            assert!((got - want).abs() < 4.0 * se, "look {k}: {got} vs {want}");
        }
    }

    #[test]
    fn calibration_keeps_the_spending_and_only_raises() {
        let looks: Vec<usize> = (0..7).map(|k| 10 + 5 * k).collect();
        let calibration = Calibration {
            paths: 1 << 17,
            seed: 5,
        };
        let b = t_boundaries(&looks, 0.05, calibration);
        for look in &b[1..] {
            assert!(look.multiplier >= look.t_multiplier);
            // At or below the spending by the safety margin, unless the first look, whose
            // multiplier stays, had overspent on these paths.
            let n = calibration.paths as f64;
            let margin = SAFETY * (look.spent * (1.0 - look.spent) / n).sqrt();
            let first_excess = (b[0].simulated_spent - b[0].spent).max(0.0);
            assert!(
                look.simulated_spent <= look.spent - margin + first_excess + 1e-12,
                "{look:?}"
            );
        }
        // Deterministic: the same seed gives the same multipliers.
        assert_eq!(b, t_boundaries(&looks, 0.05, calibration));
    }
}

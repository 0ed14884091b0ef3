//! The simulation checks of the sequential designs: [`simulate`] runs seeded studies through a
//! [`Monitor`] (the same [`Monitor::assess`] the main crate calls) and counts every claim and
//! every false one. `make verify-sequential` (`examples/verify_sequential.rs`) runs it on 10⁶
//! paths per check; the unit tests on a few thousand.
//!
//! Which claims are false depends on the true mean μ of a point's differences:
//!
//! | claim | false when |
//! |---|---|
//! | better (μ > 0) | μ ≤ 0 |
//! | worse (μ < 0) | μ ≥ 0 |
//! | equivalent, or better/worse within the margin (−m < μ < m) | \|μ\| ≥ m |
//!
//! So at μ = 0 an equivalence claim is true (m > 0) and only better/worse are errors; at
//! μ = ±m the equivalence claim and the wrong direction are errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::calibrate::threads;
use crate::dist::{integrate, t_quantile};
use crate::monitor::{Decision, Monitor, PointTrace};
use crate::rng::Rng;

/// How the points' differences depend on each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correlation {
    /// Independent points.
    Independent,
    /// A shared reference: point j's difference at a seed is (x_j − r)/√2 with x_j and the
    /// reference's r independent standard normals, so any two points correlate at 0.5.
    SharedReference,
}

/// Simulated studies: K points with given true means, all in units of the standard deviation
/// of a paired difference.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Each point's true mean difference (K = `means.len()`, the monitor's K).
    pub means: Vec<f64>,
    /// The equivalence margin.
    pub margin: f64,
    /// How the points relate.
    pub correlation: Correlation,
    /// Simulated studies.
    pub families: u64,
    /// Seed of their streams (study i draws from stream i).
    pub seed: u64,
    /// Data scales: every study is assessed once per scale, its differences and the margin
    /// multiplied by it (the decisions must not change).
    pub scales: Vec<f64>,
}

/// Claims over the simulated studies at one data scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Studies.
    pub families: u64,
    /// Points assessed: studies × K.
    pub points: u64,
    /// Points decided better.
    pub better: u64,
    /// Points decided worse.
    pub worse: u64,
    /// Points decided equivalent.
    pub equivalent: u64,
    /// Decided points whose interval lies inside ±margin (equivalence claims, the better and
    /// worse ones within the margin included).
    pub margin_claims: u64,
    /// False better claims (μ ≤ 0).
    pub false_better: u64,
    /// False worse claims (μ ≥ 0).
    pub false_worse: u64,
    /// False equivalence claims (|μ| ≥ margin).
    pub false_equivalence: u64,
    /// Studies with at least one false claim.
    pub families_with_false_claim: u64,
    /// Seeds used by the points, summed.
    pub seeds: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.families += o.families;
        self.points += o.points;
        self.better += o.better;
        self.worse += o.worse;
        self.equivalent += o.equivalent;
        self.margin_claims += o.margin_claims;
        self.false_better += o.false_better;
        self.false_worse += o.false_worse;
        self.false_equivalence += o.false_equivalence;
        self.families_with_false_claim += o.families_with_false_claim;
        self.seeds += o.seeds;
    }

    /// Count one study's traces, the points' true means `means` and margin `margin` in the
    /// data's units.
    fn count(&mut self, traces: &[PointTrace], means: &[f64], margin: f64) {
        self.families += 1;
        let mut any_false = false;
        for (trace, &mu) in traces.iter().zip(means) {
            self.points += 1;
            self.seeds += trace.seeds_used() as u64;
            let Some(last) = trace.last() else { continue };
            let claims_margin = last.decision.is_decided() && last.within_margin;
            match last.decision {
                Decision::Better => {
                    self.better += 1;
                    if mu <= 0.0 {
                        self.false_better += 1;
                        any_false = true;
                    }
                }
                Decision::Worse => {
                    self.worse += 1;
                    if mu >= 0.0 {
                        self.false_worse += 1;
                        any_false = true;
                    }
                }
                Decision::Equivalent => self.equivalent += 1,
                Decision::Open => {}
            }
            if claims_margin {
                self.margin_claims += 1;
                if mu.abs() >= margin {
                    self.false_equivalence += 1;
                    any_false = true;
                }
            }
        }
        if any_false {
            self.families_with_false_claim += 1;
        }
    }
}

/// Studies per unit of work handed to a thread.
const CHUNK: u64 = 1 << 10;

/// Run `scenario`'s studies through `monitor` (whose K must be the scenario's), one tally per
/// scale. Deterministic: the same counts for any number of threads.
pub fn simulate(monitor: &Monitor, scenario: &Scenario) -> Vec<Tally> {
    let k = scenario.means.len();
    assert_eq!(k, monitor.plan().points(), "one mean per point of the plan");
    let n = monitor.plan().max_seeds();
    let monitors: Vec<Monitor> = scenario
        .scales
        .iter()
        .map(|s| {
            monitor
                .with_margin(scenario.margin * s)
                .expect("a positive margin and scale")
        })
        .collect();
    let chunks = scenario.families.div_ceil(CHUNK) as usize;
    let next = AtomicUsize::new(0);
    let total = Mutex::new(vec![Tally::default(); scenario.scales.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads().min(chunks.max(1)) {
            scope.spawn(|| {
                let mut mine = vec![Tally::default(); scenario.scales.len()];
                let mut base = vec![vec![0.0; n]; k];
                let mut scaled = vec![vec![0.0; n]; k];
                let mut reference = vec![0.0; n];
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        break;
                    }
                    let start = c as u64 * CHUNK;
                    let end = (start + CHUNK).min(scenario.families);
                    for family in start..end {
                        let mut rng = Rng::stream(scenario.seed, family);
                        draw(&mut rng, scenario, &mut base, &mut reference);
                        for ((scale, m), tally) in
                            scenario.scales.iter().zip(&monitors).zip(&mut mine)
                        {
                            for (s, b) in scaled.iter_mut().zip(&base) {
                                for (x, y) in s.iter_mut().zip(b) {
                                    *x = y * scale;
                                }
                            }
                            let slices: Vec<&[f64]> = scaled.iter().map(|v| v.as_slice()).collect();
                            let a = m.run(&slices, false);
                            tally.count(&a.points, &scenario.means, scenario.margin);
                        }
                    }
                }
                let mut total = total.lock().expect("no panics while held");
                for (t, m) in total.iter_mut().zip(&mine) {
                    t.add(m);
                }
            });
        }
    });
    total.into_inner().expect("no panics while held")
}

/// One study's differences, in units of their standard deviation.
fn draw(rng: &mut Rng, scenario: &Scenario, base: &mut [Vec<f64>], reference: &mut [f64]) {
    match scenario.correlation {
        Correlation::Independent => {
            for (row, mu) in base.iter_mut().zip(&scenario.means) {
                for x in row.iter_mut() {
                    *x = mu + rng.normal();
                }
            }
        }
        Correlation::SharedReference => {
            for r in reference.iter_mut() {
                *r = rng.normal();
            }
            for (row, mu) in base.iter_mut().zip(&scenario.means) {
                for (x, r) in row.iter_mut().zip(reference.iter()) {
                    *x = mu + (rng.normal() - r) * std::f64::consts::FRAC_1_SQRT_2;
                }
            }
        }
    }
}

/// An estimated rate plus three of its standard errors, √(p(1 − p)/n) at the bound p: the
/// most a rate measured on `n` paths may show when its true value is at most `p`.
pub fn allowed_rate(p: f64, n: u64) -> f64 {
    p + 3.0 * (p * (1.0 - p) / n as f64).sqrt()
}

/// The multipliers of a fixed-level two-sided t-test at every look (t_{1−α/2, n_k − 1}): the
/// naive design, which does not control the error over looks (the negative control).
pub fn fixed_level_multipliers(looks: &[usize], alpha: f64) -> Vec<f64> {
    looks
        .iter()
        .map(|&n| t_quantile(1.0 - alpha / 2.0, (n - 1) as f64))
        .collect()
}

/// The mixture e-value E_n(μ₀) of [`crate::anytime`] by numerical integration of its
/// defining integrals (θ over the prior N(0, g) outside, the scale λ inside), on the direction
/// of y = x − μ₀: the check of the closed form.
pub fn mixture_by_integration(x: &[f64], mu0: f64, g: f64) -> f64 {
    let y: Vec<f64> = x.iter().map(|v| v - mu0).collect();
    let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
    let su = y.iter().sum::<f64>() / norm;
    let n = y.len() as f64;
    // Panel edges where the integrands peak, so that a sharp peak (large n) is not missed:
    // λ^{n−1} e^{−λ²/2} peaks at √(n − 1) with width about 1/√2; the θ integrand near
    // √n·Σu/(n + 1/g) with width 1/√(n + 1/g).
    let lambda_max = n.sqrt() + 40.0;
    let lambda_edges: Vec<f64> = (-20..=20)
        .map(|j| (n - 1.0).sqrt() + 0.25 * j as f64)
        .collect();
    let theta_width = 1.0 / (n + 1.0 / g).sqrt();
    let theta_centre = n.sqrt() * su / (n + 1.0 / g);
    let theta_edges: Vec<f64> = (-40..=40)
        .map(|j| theta_centre + 0.25 * theta_width * j as f64)
        .collect();
    let denominator = integrate(
        &|l: f64| l.powf(n - 1.0) * (-0.5 * l * l).exp(),
        0.0,
        lambda_max,
        &lambda_edges,
    );
    let lr = |theta: f64| {
        // Σ(λu_i − θ)² = λ² − 2λθ Σu_i + nθ² since ‖u‖ = 1.
        let f = |l: f64| {
            l.powf(n - 1.0) * (-0.5 * (l * l - 2.0 * l * theta * su + n * theta * theta)).exp()
        };
        integrate(&f, 0.0, lambda_max, &lambda_edges) / denominator
    };
    let sd = g.sqrt();
    let prior = |t: f64| (-0.5 * t * t / g).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt());
    integrate(
        &|t: f64| prior(t) * lr(t),
        -12.0 * sd,
        12.0 * sd,
        &theta_edges,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::Calibration;
    use crate::plan::{Design, Looks, Plan};

    const LOOKS: Looks = Looks::Every {
        first: 10,
        every: 5,
        max: 40,
    };

    fn monitor(design: Design, points: usize) -> Monitor {
        let plan = Plan::new(design, &LOOKS, 0.05, 1.0, points)
            .unwrap()
            .with_calibration(Calibration {
                paths: 1 << 18,
                seed: 11,
            });
        Monitor::new(plan)
    }

    fn null(points: usize, families: u64, margin: f64) -> Scenario {
        Scenario {
            means: vec![0.0; points],
            margin,
            correlation: Correlation::Independent,
            families,
            seed: 77,
            scales: vec![0.01, 1.0, 100.0],
        }
    }

    // The small versions of `make verify-sequential`'s checks: 20,000 paths, a bound of
    // α + 4 standard errors (the full run uses 10⁶ paths and 3).

    #[test]
    fn type_one_error_at_the_planned_looks() {
        let n = 20_000;
        for design in [Design::GroupSequential, Design::AnytimeValid] {
            let tallies = simulate(&monitor(design, 1), &null(1, n, 0.05));
            let t = tallies[1];
            let rate = (t.better + t.worse) as f64 / n as f64;
            let bound = 0.05 + 4.0 * (0.05 * 0.95 / n as f64).sqrt();
            assert!(rate <= bound, "{design:?}: {rate} > {bound}");
            assert!(tallies.iter().all(|x| *x == t), "{design:?}: {tallies:?}");
        }
    }

    #[test]
    fn the_naive_repeated_test_is_caught() {
        let plan = Plan::new(Design::GroupSequential, &LOOKS, 0.05, 0.05, 1).unwrap();
        let looks = plan.looks().to_vec();
        let naive = Monitor::with_multipliers(plan, fixed_level_multipliers(&looks, 0.05)).unwrap();
        let n = 20_000;
        let mut scenario = null(1, n, 0.05);
        scenario.scales = vec![1.0];
        let t = simulate(&naive, &scenario)[0];
        let rate = (t.better + t.worse) as f64 / n as f64;
        assert!(rate > allowed_rate(0.05, n), "not flagged: {rate}");
        assert!(rate > 0.13 && rate < 0.23, "{rate}");
    }

    #[test]
    fn false_claims_over_correlated_points_and_at_the_margin() {
        let families = 1_500;
        for design in [Design::GroupSequential, Design::AnytimeValid] {
            let m = monitor(design, 14);
            let mut mixed = vec![0.0; 7];
            mixed.extend([1.0; 7]);
            for means in [vec![0.0; 14], vec![1.0; 14], mixed] {
                let scenario = Scenario {
                    means,
                    margin: 1.0,
                    correlation: Correlation::SharedReference,
                    families,
                    seed: 5,
                    scales: vec![1.0],
                };
                let t = simulate(&m, &scenario)[0];
                let rate = t.families_with_false_claim as f64 / families as f64;
                let bound = 0.05 + 4.0 * (0.05 * 0.95 / families as f64).sqrt();
                assert!(rate <= bound, "{design:?} {:?}: {rate}", scenario.means);
            }
            // At μ = +margin the equivalence claims of single points.
            let scenario = Scenario {
                means: vec![1.0; 14],
                margin: 1.0,
                correlation: Correlation::Independent,
                families,
                seed: 6,
                scales: vec![1.0],
            };
            let t = simulate(&m, &scenario)[0];
            let rate = t.false_equivalence as f64 / t.points as f64;
            let p = 0.05 / 28.0;
            assert!(
                rate <= p + 4.0 * (p / t.points as f64).sqrt(),
                "{design:?}: {rate}"
            );
        }
    }
}

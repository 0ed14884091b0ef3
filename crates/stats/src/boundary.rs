//! Two-sided group-sequential boundaries for a normal statistic with known variance: the
//! probability of leaving the continuation region at each look by recursive numerical
//! integration ([`exit_probabilities`]), Lan–DeMets alpha spending of O'Brien–Fleming type
//! ([`spending_bounds`]), and the classical constant boundaries of Pocock and of O'Brien &
//! Fleming ([`constant_bound`]).
//!
//! The statistic at look k is Z_k = S_k / √I_k, where the score S_k has independent
//! increments S_k − S_{k−1} ~ N(θ·ΔI, ΔI) (the information I_k is the seed count here). The
//! sub-density of Z_k on the continuation region (−c_k, c_k) is carried from look to look on a
//! grid (Armitage, McPherson & Rowe 1969; the grid and Simpson's rule of Jennison & Turnbull
//! 2000, ch. 19): dense within ±3 of the mean, logarithmically spaced out to ±17, cut at the
//! boundary, with the boundary points themselves on the grid.

use crate::dist::{normal_cdf, normal_pdf, normal_quantile};

/// Jennison & Turnbull's grid parameter r: 6r − 1 template points before the Simpson
/// midpoints. They report r = 16 accurate to about 1e-6 in a crossing probability; 32 leaves
/// a margin for the third decimal of the textbook constants at a few milliseconds per look.
const GRID_R: usize = 32;

/// The grid reaches ±(3 + 4 ln r) around the mean; a boundary beyond it is cut there (the
/// normal mass past 16.9 standard deviations is below 1e-60).
fn grid_reach() -> f64 {
    3.0 + 4.0 * (GRID_R as f64).ln() + 0.1
}

/// The largest boundary a look gets when it spends nothing: beyond the grid's reach.
const NO_EXIT: f64 = 40.0;

/// Nodes and Simpson weights on (lo, hi) for a statistic centred at `centre`.
struct Grid {
    z: Vec<f64>,
    w: Vec<f64>,
}

impl Grid {
    fn new(lo: f64, hi: f64, centre: f64) -> Self {
        let lo = lo.max(centre - grid_reach());
        let hi = hi.min(centre + grid_reach());
        if lo >= hi {
            return Self {
                z: Vec::new(),
                w: Vec::new(),
            };
        }
        let r = GRID_R as f64;
        let mut x = vec![lo];
        for i in 1..6 * GRID_R {
            let i_f = i as f64;
            let t = if i < GRID_R {
                -3.0 - 4.0 * (r / i_f).ln()
            } else if i <= 5 * GRID_R {
                -3.0 + 3.0 * (i_f - r) / (2.0 * r)
            } else {
                3.0 + 4.0 * (r / (6.0 * r - i_f)).ln()
            };
            let v = centre + t;
            if v > lo && v < hi {
                x.push(v);
            }
        }
        x.push(hi);
        // Simpson's rule on each interval of the cut template, with its midpoint.
        let m = x.len();
        let mut z = vec![0.0; 2 * m - 1];
        let mut w = vec![0.0; 2 * m - 1];
        for j in 0..m - 1 {
            let d = x[j + 1] - x[j];
            z[2 * j] = x[j];
            z[2 * j + 1] = 0.5 * (x[j] + x[j + 1]);
            z[2 * j + 2] = x[j + 1];
            w[2 * j] += d / 6.0;
            w[2 * j + 1] += 4.0 * d / 6.0;
            w[2 * j + 2] += d / 6.0;
        }
        Self { z, w }
    }
}

/// The sub-density of Z_k on its continuation region: the paths that have not left by look k.
struct Density {
    grid: Grid,
    h: Vec<f64>,
    info: f64,
}

impl Density {
    /// Look 1: Z_1 ~ N(θ√I_1, 1), cut to (−c, c).
    fn first(info: f64, c: f64, drift: f64) -> Self {
        let centre = drift * info.sqrt();
        let grid = Grid::new(-c, c, centre);
        let h = grid.z.iter().map(|z| normal_pdf(z - centre)).collect();
        Self { grid, h, info }
    }

    /// P(still inside before, outside (−c, c) at the next look with information `info`).
    fn exit_next(&self, info: f64, c: f64, drift: f64) -> f64 {
        let delta = info - self.info;
        let sd = delta.sqrt();
        let (root_prev, root) = (self.info.sqrt(), info.sqrt());
        let mut total = 0.0;
        for ((z, w), h) in self.grid.z.iter().zip(&self.grid.w).zip(&self.h) {
            let s = z * root_prev + drift * delta;
            let out = normal_cdf((-c * root - s) / sd) + normal_cdf((s - c * root) / sd);
            total += w * h * out;
        }
        total
    }

    /// The sub-density at the next look with boundary `c`.
    fn next(&self, info: f64, c: f64, drift: f64) -> Self {
        let delta = info - self.info;
        let sd = delta.sqrt();
        let (root_prev, root) = (self.info.sqrt(), info.sqrt());
        let grid = Grid::new(-c, c, drift * root);
        let h = grid
            .z
            .iter()
            .map(|zn| {
                let target = zn * root;
                let mut sum = 0.0;
                for ((z, w), h) in self.grid.z.iter().zip(&self.grid.w).zip(&self.h) {
                    let s = z * root_prev + drift * delta;
                    sum += w * h * normal_pdf((target - s) / sd);
                }
                sum * root / sd
            })
            .collect();
        Self { grid, h, info }
    }
}

/// The probability of first leaving (−b_k, b_k) at each look k, for a normal statistic with
/// information levels `info` (increasing) and drift θ per unit of information (E Z_k =
/// θ√I_k; 0 under the null). A boundary of `f64::INFINITY` never stops.
pub fn exit_probabilities(bounds: &[f64], info: &[f64], drift: f64) -> Vec<f64> {
    assert_eq!(bounds.len(), info.len(), "one boundary per look");
    let mut exits = Vec::with_capacity(bounds.len());
    let mut density: Option<Density> = None;
    for (&b, &i) in bounds.iter().zip(info) {
        let b = b.min(NO_EXIT);
        density = Some(match density {
            None => {
                let centre = drift * i.sqrt();
                exits.push(normal_cdf(-b - centre) + normal_cdf(-b + centre));
                Density::first(i, b, drift)
            }
            Some(d) => {
                exits.push(d.exit_next(i, b, drift));
                d.next(i, b, drift)
            }
        });
    }
    exits
}

/// The cumulative two-sided α spent by information fraction `t` under Lan & DeMets'
/// O'Brien–Fleming-type spending function: α(t) = 2 − 2Φ(z_{1−α/2} / √t).
pub fn obrien_fleming_spending(t: f64, alpha: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    if t >= 1.0 {
        return alpha;
    }
    let z = -normal_quantile(alpha / 2.0);
    2.0 * normal_cdf(-z / t.sqrt())
}

/// The two-sided boundaries c_k on the Z scale that spend α(t_k) − α(t_{k−1}) at each look
/// under the null, for the O'Brien–Fleming-type spending function at information fractions
/// t_k = I_k / I_K of the levels `info`: each look's boundary is the root of its exit
/// probability given the earlier boundaries (bisection, to 1e-12).
pub fn spending_bounds(info: &[f64], alpha: f64) -> Vec<f64> {
    let last = *info.last().expect("at least one look");
    let mut bounds = Vec::with_capacity(info.len());
    let mut density: Option<Density> = None;
    let mut spent = 0.0;
    for &i in info {
        let cumulative = obrien_fleming_spending(i / last, alpha);
        let target = (cumulative - spent).max(0.0);
        spent = cumulative;
        let c = match &density {
            None if target <= 1e-300 => NO_EXIT,
            None => -normal_quantile(target / 2.0),
            Some(d) => {
                let (mut lo, mut hi) = (0.0, NO_EXIT);
                if d.exit_next(i, hi, 0.0) >= target {
                    hi
                } else {
                    for _ in 0..200 {
                        let mid = 0.5 * (lo + hi);
                        if d.exit_next(i, mid, 0.0) > target {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                        if hi - lo < 1e-12 {
                            break;
                        }
                    }
                    0.5 * (lo + hi)
                }
            }
        };
        density = Some(match density {
            None => Density::first(i, c, 0.0),
            Some(d) => d.next(i, c, 0.0),
        });
        bounds.push(c);
    }
    bounds
}

/// The shape of a classical constant-boundary design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Pocock (1977): the same boundary C at every look.
    Pocock,
    /// O'Brien & Fleming (1979): C·√(I_K / I_k), i.e. C·√(K/k) at equally spaced looks.
    OBrienFleming,
}

impl Shape {
    /// The boundary at information `info` of `last`, per unit of the constant.
    fn factor(self, info: f64, last: f64) -> f64 {
        match self {
            Shape::Pocock => 1.0,
            Shape::OBrienFleming => (last / info).sqrt(),
        }
    }
}

/// The constant C of a classical design: the boundaries `shape`·C at the information levels
/// `info` have a two-sided type-I error `alpha` under the null (bisection, to 1e-9).
pub fn constant_bound(shape: Shape, info: &[f64], alpha: f64) -> f64 {
    let last = *info.last().expect("at least one look");
    let error = |c: f64| {
        let bounds: Vec<f64> = info.iter().map(|&i| c * shape.factor(i, last)).collect();
        exit_probabilities(&bounds, info, 0.0).iter().sum::<f64>()
    };
    let (mut lo, mut hi) = (0.0, 10.0);
    while hi - lo > 1e-9 {
        let mid = 0.5 * (lo + hi);
        if error(mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_textbook_tables() {
        // Jennison & Turnbull (2000), tables 2.1 and 2.3: two-sided α = 0.05, equally spaced.
        for (shape, k, want) in [
            (Shape::Pocock, 4, 2.361),
            (Shape::Pocock, 5, 2.413),
            (Shape::OBrienFleming, 4, 2.024),
            (Shape::OBrienFleming, 5, 2.040),
        ] {
            let info: Vec<f64> = (1..=k).map(|i| i as f64).collect();
            let c = constant_bound(shape, &info, 0.05);
            assert!((c - want).abs() < 5e-4, "{shape:?} K = {k}: {c} vs {want}");
        }
    }

    #[test]
    fn one_look_is_the_fixed_test_and_spending_adds_up() {
        assert!((constant_bound(Shape::Pocock, &[1.0], 0.05) - 1.959_964).abs() < 1e-6);
        let info: Vec<f64> = (0..7).map(|k| 10.0 + 5.0 * k as f64).collect();
        let bounds = spending_bounds(&info, 0.05);
        let exits = exit_probabilities(&bounds, &info, 0.0);
        let mut spent = 0.0;
        for (k, e) in exits.iter().enumerate() {
            spent += e;
            let want = obrien_fleming_spending(info[k] / 40.0, 0.05);
            assert!((spent - want).abs() < 1e-9, "look {k}: {spent} vs {want}");
        }
        // O'Brien–Fleming-type: decreasing boundaries, the last near the fixed 1.96.
        assert!(bounds.windows(2).all(|w| w[0] > w[1]), "{bounds:?}");
        assert!(bounds[6] > 1.96 && bounds[6] < 2.15, "{bounds:?}");
    }

    #[test]
    fn exits_match_a_simulated_score_process() {
        // The integration against a direct simulation of S_k at the looks, under a drift.
        let info: Vec<f64> = (0..7).map(|k| 10.0 + 5.0 * k as f64).collect();
        let bounds = spending_bounds(&info, 0.05);
        let drift = 0.4;
        let exits = exit_probabilities(&bounds, &info, drift);
        let paths = 100_000;
        let mut hits = [0u32; 7];
        let mut rng = crate::rng::Rng::new(21);
        for _ in 0..paths {
            let (mut s, mut prev) = (0.0, 0.0);
            for (k, &i) in info.iter().enumerate() {
                s += drift * (i - prev) + (i - prev).sqrt() * rng.normal();
                prev = i;
                if (s / i.sqrt()).abs() >= bounds[k] {
                    hits[k] += 1;
                    break;
                }
            }
        }
        for k in 0..7 {
            let got = hits[k] as f64 / paths as f64;
            let se = (exits[k] * (1.0 - exits[k]) / paths as f64).sqrt();
            assert!(
                (got - exits[k]).abs() < 4.0 * se + 1e-5,
                "look {k}: {got} vs {}",
                exits[k]
            );
        }
    }
}

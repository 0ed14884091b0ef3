//! [`Monitor`]: the decisions of a sequential study. Given each point's paired differences in
//! seed order, [`Monitor::assess`] replays the looks and says, after each, every point's seeds,
//! estimate, interval and decision; [`Monitor::continuation`] says which points go on and to
//! how many seeds.
//!
//! A look is taken when every point still open has its seeds; decided points get no more
//! (values past a point's decision, or past the last look, are ignored). At a look with n
//! seeds a point is
//!
//! - `better` / `worse` when its interval lies above / below 0 (group-sequential), or when
//!   its Holm-adjusted anytime p-value is at most α, in the direction of the estimate where
//!   its evidence peaked, provided the current estimate lies on the same side (anytime-valid);
//! - else `equivalent` when its interval lies inside (−margin, +margin);
//! - else `open`, and still open after the last look: undecided.
//!
//! A `better` or `worse` point whose interval also lies inside ±margin says so
//! ([`LookState::within_margin`]): better, by less than the margin.

use std::fmt;

use crate::anytime::{cs_coefficient, log_e_value, PRIOR_VARIANCE};
use crate::calibrate::{t_boundaries, LookBoundary};
use crate::paired::holm;
use crate::plan::{Design, Plan, PlanError};

/// A point's state after a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not decided: it gets the next round's seeds (or, after the last look, undecided).
    Open,
    /// Better than the reference (the paired differences' mean is above 0).
    Better,
    /// Worse than the reference.
    Worse,
    /// Equivalent within ±margin, and not separated from the reference.
    Equivalent,
}

impl Decision {
    /// The name in tables and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Open => "open",
            Decision::Better => "better",
            Decision::Worse => "worse",
            Decision::Equivalent => "equivalent",
        }
    }

    /// Whether the point stops here.
    pub fn is_decided(self) -> bool {
        self != Decision::Open
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One point after one look.
#[derive(Debug, Clone, PartialEq)]
pub struct LookState {
    /// The look, from 1.
    pub look: usize,
    /// Paired seeds used.
    pub seeds: usize,
    /// Mean paired difference.
    pub estimate: f64,
    /// The repeated confidence interval (group-sequential) or the running intersection of
    /// the confidence sequence (anytime-valid; ±∞ while it is the whole line), each at the
    /// point's level α/K.
    pub interval: (f64, f64),
    /// Whether the interval lies inside (−margin, +margin).
    pub within_margin: bool,
    /// The Holm-adjusted anytime p-value over the K points (anytime-valid; `None` for the
    /// group-sequential design).
    pub p_value: Option<f64>,
    /// The decision.
    pub decision: Decision,
}

/// One point's states, look by look, up to its decision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointTrace {
    /// Its state after each look it took part in.
    pub looks: Vec<LookState>,
    /// It ran out of values before a look it needed (replays of a finished study only).
    pub exhausted: bool,
}

impl PointTrace {
    /// Its latest state.
    pub fn last(&self) -> Option<&LookState> {
        self.looks.last()
    }

    /// Its decision so far.
    pub fn decision(&self) -> Decision {
        self.last().map_or(Decision::Open, |s| s.decision)
    }

    /// The look (from 1) at which it was decided.
    pub fn decided_at(&self) -> Option<usize> {
        self.last()
            .filter(|s| s.decision.is_decided())
            .map(|s| s.look)
    }

    /// The seeds its latest state used.
    pub fn seeds_used(&self) -> usize {
        self.last().map_or(0, |s| s.seeds)
    }
}

/// Every point after the looks taken so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// One trace per point, in the plan's order.
    pub points: Vec<PointTrace>,
    /// How many looks have been taken.
    pub looks_done: usize,
}

/// What runs next: each point's seed target and the reference's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    /// Per point, the seeds it must reach for the next look; `None` when it is decided, out
    /// of seeds, or past the last look.
    pub points: Vec<Option<usize>>,
    /// The seeds the reference must reach: the most any point needs (`None`: the study is
    /// over).
    pub reference: Option<usize>,
}

/// Data that cannot be assessed.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// Not one series per point of the plan.
    Points {
        /// The plan's K.
        expected: usize,
        /// Series given.
        got: usize,
    },
    /// A value that is NaN or infinite.
    NotFinite {
        /// The point (0-based).
        point: usize,
        /// Its position in the point's series (0-based).
        seed: usize,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Points { expected, got } => write!(
                f,
                "points: the plan has {expected} points, the data {got} series"
            ),
            DataError::NotFinite { point, seed } => write!(
                f,
                "point {point}, seed {seed}: a paired difference must be a finite number"
            ),
        }
    }
}

impl std::error::Error for DataError {}

/// How a monitor turns a point's running statistics into an interval and a test.
#[derive(Debug, Clone)]
enum Rule {
    /// mean ± c_k · s/√n at look k.
    Repeated {
        multipliers: Vec<f64>,
        boundaries: Option<Vec<LookBoundary>>,
    },
    /// The mixture e-process; `coefficients[n]` is h_n of [`crate::anytime`] at α/K.
    Anytime { g: f64, coefficients: Vec<f64> },
}

/// The decision engine of one plan (the group-sequential multipliers are computed once, in
/// [`Monitor::new`]).
#[derive(Debug, Clone)]
pub struct Monitor {
    plan: Plan,
    rule: Rule,
}

/// A point's statistics over its first `n` values (Welford's updates), and for the
/// anytime-valid design its best evidence so far and the running intersection of its
/// confidence sequence.
#[derive(Debug, Clone)]
struct Running {
    n: usize,
    mean: f64,
    ssd: f64,
    best_log_e: f64,
    best_sign: f64,
    lo: f64,
    hi: f64,
}

impl Running {
    fn new() -> Self {
        Self {
            n: 0,
            mean: 0.0,
            ssd: 0.0,
            best_log_e: 0.0,
            best_sign: 0.0,
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        }
    }

    fn push(&mut self, x: f64, rule: &Rule) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.ssd += d * (x - self.mean);
        if let Rule::Anytime { g, coefficients } = rule {
            if self.n >= 2 {
                let log_e = log_e_value(self.n, self.mean, self.ssd, 0.0, *g);
                if log_e > self.best_log_e {
                    self.best_log_e = log_e;
                    self.best_sign = self.mean.signum();
                }
                let half = half_width(coefficients[self.n], self.ssd);
                self.lo = self.lo.max(self.mean - half);
                self.hi = self.hi.min(self.mean + half);
            }
        }
    }
}

/// coefficient · √ssd, where an infinite coefficient (the whole line) stays infinite.
fn half_width(coefficient: f64, ssd: f64) -> f64 {
    if coefficient.is_infinite() {
        f64::INFINITY
    } else {
        coefficient * ssd.sqrt()
    }
}

/// The decision from what the look showed: a direction first, then equivalence.
fn decide(above: bool, below: bool, within_margin: bool) -> Decision {
    if above {
        Decision::Better
    } else if below {
        Decision::Worse
    } else if within_margin {
        Decision::Equivalent
    } else {
        Decision::Open
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    Decided,
    Exhausted,
}

impl Monitor {
    /// The monitor of `plan`: for the group-sequential design this computes the boundaries
    /// and calibrates the t multipliers ([`crate::calibrate`]; a few seconds on two cores with
    /// the default calibration).
    pub fn new(plan: Plan) -> Self {
        let rule = match plan.design() {
            Design::GroupSequential => {
                let b = t_boundaries(plan.looks(), plan.point_alpha(), plan.calibration());
                Rule::Repeated {
                    multipliers: b.iter().map(|l| l.multiplier).collect(),
                    boundaries: Some(b),
                }
            }
            Design::AnytimeValid => {
                let g = PRIOR_VARIANCE;
                let coefficients = (0..=plan.max_seeds())
                    .map(|n| cs_coefficient(n, plan.point_alpha(), g))
                    .collect();
                Rule::Anytime { g, coefficients }
            }
        };
        Self { plan, rule }
    }

    /// A monitor with repeated t intervals mean ± c_k·s/√n of the caller's multipliers c_k,
    /// one per look, whatever the plan's design. Nothing checks that they control any error:
    /// the verification's negative control (a fixed-level t-test at every look) is built so.
    pub fn with_multipliers(plan: Plan, multipliers: Vec<f64>) -> Result<Self, PlanError> {
        if multipliers.len() != plan.looks().len()
            || multipliers.iter().any(|c| !(*c > 0.0 && c.is_finite()))
        {
            return Err(PlanError::Multipliers {
                expected: plan.looks().len(),
                got: multipliers.len(),
            });
        }
        Ok(Self {
            plan,
            rule: Rule::Repeated {
                multipliers,
                boundaries: None,
            },
        })
    }

    /// The same monitor with another equivalence margin (the multipliers do not depend on it,
    /// so nothing is recomputed).
    pub fn with_margin(&self, margin: f64) -> Result<Self, PlanError> {
        Ok(Self {
            plan: self.plan.clone().with_margin(margin)?,
            rule: self.rule.clone(),
        })
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Each look's interval half-width in units of s/√n: the calibrated t multiplier
    /// (group-sequential) or the confidence sequence's at that seed count before the running
    /// intersection (anytime-valid; ∞ while it is the whole line).
    pub fn multipliers(&self) -> Vec<f64> {
        match &self.rule {
            Rule::Repeated { multipliers, .. } => multipliers.clone(),
            Rule::Anytime { coefficients, .. } => self
                .plan
                .looks()
                .iter()
                .map(|&n| coefficients[n] * (((n - 1) * n) as f64).sqrt())
                .collect(),
        }
    }

    /// The group-sequential design's looks in detail (spending, normal boundary, t and
    /// calibrated multipliers); `None` for the other designs.
    pub fn group_sequential(&self) -> Option<&[LookBoundary]> {
        match &self.rule {
            Rule::Repeated {
                boundaries: Some(b),
                ..
            } => Some(b),
            _ => None,
        }
    }

    /// The state of every point after each look its data allow: `points[j]` holds point j's
    /// paired differences (point − reference, per seed, in seed order).
    pub fn assess<D: AsRef<[f64]>>(&self, points: &[D]) -> Result<Assessment, DataError> {
        if points.len() != self.plan.points() {
            return Err(DataError::Points {
                expected: self.plan.points(),
                got: points.len(),
            });
        }
        let data: Vec<&[f64]> = points.iter().map(|d| d.as_ref()).collect();
        for (point, series) in data.iter().enumerate() {
            if let Some(seed) = series.iter().position(|v| !v.is_finite()) {
                return Err(DataError::NotFinite { point, seed });
            }
        }
        Ok(self.run(&data, false))
    }

    /// The seeds each point and the reference must reach for the next look, after
    /// `assessment` (from [`Monitor::assess`] on this monitor).
    pub fn continuation(&self, assessment: &Assessment) -> Continuation {
        let next = self.plan.looks().get(assessment.looks_done).copied();
        let points: Vec<Option<usize>> = assessment
            .points
            .iter()
            .map(|t| {
                if t.decision().is_decided() || t.exhausted {
                    None
                } else {
                    next
                }
            })
            .collect();
        let reference = points.iter().flatten().max().copied();
        Continuation { points, reference }
    }

    /// The looks over `data` (finite values, one series per point). With `exhaust` a point
    /// short of a look's seeds stops there, open, and the others go on (a replay of a
    /// finished study); without, the assessment stops at the first look not every open point
    /// has reached (a running study).
    pub(crate) fn run(&self, data: &[&[f64]], exhaust: bool) -> Assessment {
        let k_points = data.len();
        let margin = self.plan.margin();
        let mut status = vec![Status::Open; k_points];
        let mut traces = vec![PointTrace::default(); k_points];
        let mut running = vec![Running::new(); k_points];
        let mut looks_done = 0;
        for (k, &n) in self.plan.looks().iter().enumerate() {
            let mut ready = Vec::with_capacity(k_points);
            let mut short = false;
            for j in 0..k_points {
                if status[j] == Status::Open {
                    if data[j].len() >= n {
                        ready.push(j);
                    } else {
                        short = true;
                    }
                }
            }
            if short {
                if !exhaust {
                    break;
                }
                for j in 0..k_points {
                    if status[j] == Status::Open && data[j].len() < n {
                        status[j] = Status::Exhausted;
                        traces[j].exhausted = true;
                    }
                }
            }
            if ready.is_empty() {
                break;
            }
            looks_done = k + 1;
            for &j in &ready {
                let r = &mut running[j];
                while r.n < n {
                    r.push(data[j][r.n], &self.rule);
                }
            }
            let adjusted = match &self.rule {
                Rule::Anytime { .. } => {
                    // Holm over all K points: decided and exhausted ones keep the p-value of
                    // their last look (a stopped anytime p-value is still valid).
                    let p: Vec<f64> = running
                        .iter()
                        .map(|r| (-r.best_log_e).exp().min(1.0))
                        .collect();
                    Some(holm(&p))
                }
                Rule::Repeated { .. } => None,
            };
            for &j in &ready {
                let r = &running[j];
                let state = match &self.rule {
                    Rule::Repeated { multipliers, .. } => {
                        let half = multipliers[k] * (r.ssd / ((n - 1) * n) as f64).sqrt();
                        let interval = (r.mean - half, r.mean + half);
                        let within = interval.0 > -margin && interval.1 < margin;
                        let decision = decide(interval.0 > 0.0, interval.1 < 0.0, within);
                        LookState {
                            look: k + 1,
                            seeds: n,
                            estimate: r.mean,
                            interval,
                            within_margin: within,
                            p_value: None,
                            decision,
                        }
                    }
                    Rule::Anytime { coefficients, .. } => {
                        let p = adjusted.as_ref().expect("computed for this rule")[j];
                        // An empty running intersection means the sequence has missed the
                        // mean somewhere: show the current interval, and claim no margin.
                        let nonempty = r.lo <= r.hi;
                        let interval = if nonempty {
                            (r.lo, r.hi)
                        } else {
                            let half = half_width(coefficients[n], r.ssd);
                            (r.mean - half, r.mean + half)
                        };
                        let within = nonempty && r.lo > -margin && r.hi < margin;
                        // The direction is where the evidence peaked; a point whose estimate
                        // has since crossed 0 claims nothing yet.
                        let separated = p <= self.plan.alpha() && r.best_sign * r.mean > 0.0;
                        let decision =
                            decide(separated && r.mean > 0.0, separated && r.mean < 0.0, within);
                        LookState {
                            look: k + 1,
                            seeds: n,
                            estimate: r.mean,
                            interval,
                            within_margin: within,
                            p_value: Some(p),
                            decision,
                        }
                    }
                };
                if state.decision.is_decided() {
                    status[j] = Status::Decided;
                }
                traces[j].looks.push(state);
            }
        }
        Assessment {
            points: traces,
            looks_done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::Calibration;
    use crate::plan::Looks;

    fn plan(design: Design, points: usize, margin: f64) -> Plan {
        let looks = Looks::Every {
            first: 10,
            every: 5,
            max: 40,
        };
        Plan::new(design, &looks, 0.05, margin, points)
            .unwrap()
            .with_calibration(Calibration {
                paths: 1 << 15,
                seed: 1,
            })
    }

    /// Values with mean `mean` and a spread of about one, deterministic.
    fn series(mean: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| mean + ((i * 7919) % 13) as f64 / 13.0 * 3.4 - 1.57)
            .collect()
    }

    #[test]
    fn clear_points_stop_early_and_the_rest_continue() {
        for design in [Design::GroupSequential, Design::AnytimeValid] {
            let monitor = Monitor::new(plan(design, 3, 0.5));
            // A large gain, a large loss, and no difference: the first two are decided at the
            // first look, the third goes on.
            let data = vec![series(8.0, 10), series(-8.0, 10), series(0.0, 10)];
            let a = monitor.assess(&data).unwrap();
            assert_eq!(a.looks_done, 1, "{design:?}");
            let decisions: Vec<Decision> = a.points.iter().map(|t| t.decision()).collect();
            assert_eq!(
                decisions,
                [Decision::Better, Decision::Worse, Decision::Open],
                "{design:?}"
            );
            assert_eq!(a.points[0].decided_at(), Some(1));
            let next = monitor.continuation(&a);
            assert_eq!(next.points, vec![None, None, Some(15)]);
            assert_eq!(next.reference, Some(15));
            // The open point's seeds arrive; the decided ones' extra values are ignored.
            let data = vec![series(8.0, 12), series(-8.0, 10), series(0.0, 40)];
            let a = monitor.assess(&data).unwrap();
            assert_eq!(a.points[0].seeds_used(), 10);
            let last = a.points[2].last().unwrap();
            assert!(last.seeds >= 15);
            let (lo, hi) = last.interval;
            assert!(lo < 0.0 && hi > 0.0 && lo < last.estimate && last.estimate < hi);
            if last.decision == Decision::Open {
                assert_eq!(a.looks_done, 7);
                assert_eq!(monitor.continuation(&a).reference, None);
            } else {
                assert_eq!(last.decision, Decision::Equivalent, "{design:?}");
                assert!(last.within_margin);
            }
        }
    }

    #[test]
    fn decisions_do_not_depend_on_the_scale() {
        for design in [Design::GroupSequential, Design::AnytimeValid] {
            let monitor = Monitor::new(plan(design, 2, 0.4));
            let data = vec![series(0.9, 40), series(0.1, 40)];
            let base = monitor.assess(&data).unwrap();
            for scale in [0.01, 100.0] {
                let scaled: Vec<Vec<f64>> = data
                    .iter()
                    .map(|s| s.iter().map(|v| v * scale).collect())
                    .collect();
                let m = monitor.with_margin(0.4 * scale).unwrap();
                let a = m.assess(&scaled).unwrap();
                for (x, y) in base.points.iter().zip(&a.points) {
                    assert_eq!(x.decision(), y.decision(), "{design:?} × {scale}");
                    assert_eq!(x.decided_at(), y.decided_at());
                }
            }
        }
    }

    #[test]
    fn differences_without_spread_give_a_point_interval() {
        let monitor = Monitor::new(plan(Design::GroupSequential, 2, 0.5));
        let a = monitor.assess(&[vec![0.0; 10], vec![0.2; 10]]).unwrap();
        assert_eq!(a.points[0].decision(), Decision::Equivalent);
        assert_eq!(a.points[1].decision(), Decision::Better);
        assert!(a.points[1].last().unwrap().within_margin);
        let any = Monitor::new(plan(Design::AnytimeValid, 1, 0.5));
        let a = any.assess(&[vec![0.0; 10]]).unwrap();
        assert_eq!(a.points[0].decision(), Decision::Equivalent);
    }

    #[test]
    fn bad_data_is_named() {
        let monitor = Monitor::new(plan(Design::AnytimeValid, 2, 0.5));
        assert_eq!(
            monitor.assess(&[vec![1.0; 10]]).unwrap_err(),
            DataError::Points {
                expected: 2,
                got: 1
            }
        );
        let mut bad = vec![1.0; 10];
        bad[4] = f64::NAN;
        assert_eq!(
            monitor.assess(&[vec![1.0; 10], bad]).unwrap_err(),
            DataError::NotFinite { point: 1, seed: 4 }
        );
        // Too few seeds for the first look: nothing is decided yet, everyone runs to 10.
        let a = monitor.assess(&[vec![1.0; 4], vec![1.0; 12]]).unwrap();
        assert_eq!(a.looks_done, 0);
        assert_eq!(monitor.continuation(&a).points, vec![Some(10), Some(10)]);
        assert!(Monitor::with_multipliers(monitor.plan().clone(), vec![2.0; 3]).is_err());
    }
}

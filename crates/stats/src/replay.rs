//! [`replay`]: what a sequential plan would have done on a finished fixed-seed study, over
//! many random seed orders: the jobs it would have run, and how its decisions compare with
//! the fixed study's verdicts.
//!
//! Each replay shuffles the study's seeds (seeded; every order equally likely) and feeds each
//! point its paired differences in that order, skipping the seeds where its difference is
//! missing (a failed job: the sequential study would have run one more seed in its place).
//! A point that runs out of values before its decision stays open. Jobs are counted as run:
//! a point used every seed up to the one that gave its last value used (all of them when it
//! ran out), and the reference every seed that any point used.

use std::fmt;

use crate::monitor::{Decision, Monitor};
use crate::rng::Rng;

/// A fixed study's verdict on a point (the caller's, e.g. from its Holm-adjusted paired
/// t-tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Better than the reference.
    Better,
    /// Worse than the reference.
    Worse,
    /// Not separated from the reference.
    Tie,
}

impl Verdict {
    /// Its name in tables: `better`, `worse`, `tie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Tie => "tie",
        }
    }
}

/// How a replay's final decision on a point compares with the fixed study's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// better/better, worse/worse, or equivalent/tie.
    Same,
    /// Still open after the last look (or out of seeds).
    Undecided,
    /// better where the fixed study says worse, or the other way round.
    Reversed,
    /// better or worse where the fixed study says tie.
    SeparatedWhereFixedTied,
    /// equivalent where the fixed study separates the point.
    EquivalentWhereFixedSeparated,
}

impl Agreement {
    /// The comparison of a sequential decision with a fixed verdict.
    pub fn of(decision: Decision, verdict: Verdict) -> Self {
        match (decision, verdict) {
            (Decision::Open, _) => Agreement::Undecided,
            (Decision::Better, Verdict::Better)
            | (Decision::Worse, Verdict::Worse)
            | (Decision::Equivalent, Verdict::Tie) => Agreement::Same,
            (Decision::Better, Verdict::Worse) | (Decision::Worse, Verdict::Better) => {
                Agreement::Reversed
            }
            (Decision::Better | Decision::Worse, Verdict::Tie) => {
                Agreement::SeparatedWhereFixedTied
            }
            (Decision::Equivalent, _) => Agreement::EquivalentWhereFixedSeparated,
        }
    }
}

/// How often each [`Agreement`] came out over the replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgreementCounts {
    /// [`Agreement::Same`].
    pub same: usize,
    /// [`Agreement::Undecided`].
    pub undecided: usize,
    /// [`Agreement::Reversed`].
    pub reversed: usize,
    /// [`Agreement::SeparatedWhereFixedTied`].
    pub separated_where_fixed_tied: usize,
    /// [`Agreement::EquivalentWhereFixedSeparated`].
    pub equivalent_where_fixed_separated: usize,
}

impl AgreementCounts {
    fn add(&mut self, a: Agreement) {
        match a {
            Agreement::Same => self.same += 1,
            Agreement::Undecided => self.undecided += 1,
            Agreement::Reversed => self.reversed += 1,
            Agreement::SeparatedWhereFixedTied => self.separated_where_fixed_tied += 1,
            Agreement::EquivalentWhereFixedSeparated => self.equivalent_where_fixed_separated += 1,
        }
    }
}

/// One point over the replays.
#[derive(Debug, Clone, PartialEq)]
pub struct PointReplay {
    /// The fixed study's verdict.
    pub verdict: Verdict,
    /// The replays' agreement with it.
    pub agreement: AgreementCounts,
    /// Mean jobs the point ran per replay.
    pub mean_jobs: f64,
}

/// Mean and order statistics of a count over the replays (percentiles by nearest rank).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: f64,
    /// 5th percentile.
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let rank = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self {
            mean: values.iter().sum::<f64>() / n as f64,
            min: values[0],
            p05: rank(0.05),
            p50: rank(0.5),
            p95: rank(0.95),
            max: values[n - 1],
        }
    }
}

/// What the replays found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySummary {
    /// Replays run.
    pub orders: usize,
    /// Seeds in the fixed study.
    pub seeds: usize,
    /// Jobs the fixed study ran: (K + 1) × seeds, the reference's included.
    pub fixed_jobs: usize,
    /// Jobs per replay, the reference's included.
    pub jobs: Spread,
    /// Per point, in the plan's order.
    pub points: Vec<PointReplay>,
}

/// How many seed orders, and their seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Random seed orders (the default 1,000).
    pub orders: usize,
    /// Seed of the orders.
    pub seed: u64,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            orders: 1000,
            seed: 33,
        }
    }
}

/// A study that cannot be replayed.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayError {
    /// Not one row per point of the plan.
    Points {
        /// The plan's K.
        expected: usize,
        /// Rows given.
        got: usize,
    },
    /// Rows of different lengths.
    Ragged {
        /// The row (0-based).
        point: usize,
        /// Its length.
        len: usize,
        /// The first row's.
        expected: usize,
    },
    /// Not one verdict per point.
    Verdicts {
        /// The plan's K.
        expected: usize,
        /// Verdicts given.
        got: usize,
    },
    /// An infinite value (missing ones are NaN).
    Infinite {
        /// The point (0-based).
        point: usize,
        /// The seed's column (0-based).
        seed: usize,
    },
    /// Zero replays asked for.
    Orders,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Points { expected, got } => {
                write!(
                    f,
                    "points: the plan has {expected} points, the study {got} rows"
                )
            }
            ReplayError::Ragged {
                point,
                len,
                expected,
            } => write!(
                f,
                "seeds: row {point} has {len} seeds, the first row {expected}"
            ),
            ReplayError::Verdicts { expected, got } => {
                write!(f, "verdicts: {got} given for {expected} points")
            }
            ReplayError::Infinite { point, seed } => write!(
                f,
                "point {point}, seed {seed}: an infinite difference (a missing one is NaN)"
            ),
            ReplayError::Orders => write!(f, "orders: at least one replay is needed"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Replay the finished study `matrix` (points × seeds of paired differences, NaN where
/// missing) under `monitor`'s plan in `options.orders` random seed orders, and compare the
/// decisions with the fixed study's `verdicts`.
pub fn replay<D: AsRef<[f64]>>(
    monitor: &Monitor,
    matrix: &[D],
    verdicts: &[Verdict],
    options: ReplayOptions,
) -> Result<ReplaySummary, ReplayError> {
    let k = monitor.plan().points();
    if matrix.len() != k {
        return Err(ReplayError::Points {
            expected: k,
            got: matrix.len(),
        });
    }
    if verdicts.len() != k {
        return Err(ReplayError::Verdicts {
            expected: k,
            got: verdicts.len(),
        });
    }
    if options.orders == 0 {
        return Err(ReplayError::Orders);
    }
    let rows: Vec<&[f64]> = matrix.iter().map(|r| r.as_ref()).collect();
    let seeds = rows[0].len();
    for (point, row) in rows.iter().enumerate() {
        if row.len() != seeds {
            return Err(ReplayError::Ragged {
                point,
                len: row.len(),
                expected: seeds,
            });
        }
        if let Some(seed) = row.iter().position(|v| v.is_infinite()) {
            return Err(ReplayError::Infinite { point, seed });
        }
    }
    let mut agreement = vec![AgreementCounts::default(); k];
    let mut point_jobs = vec![0usize; k];
    let mut totals = Vec::with_capacity(options.orders);
    let mut order: Vec<usize> = (0..seeds).collect();
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(seeds); k];
    let mut positions: Vec<Vec<usize>> = vec![Vec::with_capacity(seeds); k];
    for r in 0..options.orders {
        order.sort_unstable();
        Rng::stream(options.seed, r as u64).shuffle(&mut order);
        for j in 0..k {
            values[j].clear();
            positions[j].clear();
            for (pos, &s) in order.iter().enumerate() {
                let v = rows[j][s];
                if !v.is_nan() {
                    values[j].push(v);
                    positions[j].push(pos + 1);
                }
            }
        }
        let data: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
        let assessment = monitor.run(&data, true);
        let mut reference = 0;
        let mut total = 0;
        for (j, trace) in assessment.points.iter().enumerate() {
            let used = trace.seeds_used();
            let jobs = if trace.exhausted || used == 0 {
                seeds
            } else {
                positions[j][used - 1]
            };
            point_jobs[j] += jobs;
            total += jobs;
            reference = reference.max(jobs);
            agreement[j].add(Agreement::of(trace.decision(), verdicts[j]));
        }
        totals.push((total + reference) as f64);
    }
    let points = (0..k)
        .map(|j| PointReplay {
            verdict: verdicts[j],
            agreement: agreement[j],
            mean_jobs: point_jobs[j] as f64 / options.orders as f64,
        })
        .collect();
    Ok(ReplaySummary {
        orders: options.orders,
        seeds,
        fixed_jobs: (k + 1) * seeds,
        jobs: Spread::of(&mut totals),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::Calibration;
    use crate::plan::{Design, Looks, Plan};

    #[test]
    fn a_replay_counts_jobs_and_agreements() {
        let looks = Looks::Every {
            first: 10,
            every: 5,
            max: 20,
        };
        let plan = Plan::new(Design::GroupSequential, &looks, 0.05, 0.3, 3)
            .unwrap()
            .with_calibration(Calibration {
                paths: 1 << 14,
                seed: 2,
            });
        let monitor = Monitor::new(plan);
        let mut rng = Rng::new(4);
        // A clear gain (decided at 10 seeds whatever the order), noise, and a point whose
        // every other value is missing (it runs out before the second look).
        let gain: Vec<f64> = (0..20).map(|_| 5.0 + 0.5 * rng.normal()).collect();
        let noise: Vec<f64> = (0..20).map(|_| rng.normal()).collect();
        let gappy: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { rng.normal() } else { f64::NAN })
            .collect();
        let matrix = vec![gain, noise, gappy];
        let verdicts = [Verdict::Better, Verdict::Tie, Verdict::Tie];
        let options = ReplayOptions {
            orders: 200,
            seed: 9,
        };
        let s = replay(&monitor, &matrix, &verdicts, options).unwrap();
        assert_eq!((s.orders, s.seeds, s.fixed_jobs), (200, 20, 80));
        assert_eq!(s.points[0].agreement.same, 200);
        assert_eq!(s.points[0].mean_jobs, 10.0);
        // The gappy point has 10 values: it takes the first look, then runs out.
        assert_eq!(s.points[2].mean_jobs, 20.0);
        assert!(s.jobs.max <= 80.0 && s.jobs.min >= 60.0);
        let counts = s.points[1].agreement;
        assert_eq!(
            counts.same + counts.undecided + counts.separated_where_fixed_tied,
            200
        );
        // Deterministic.
        assert_eq!(s, replay(&monitor, &matrix, &verdicts, options).unwrap());
        assert_eq!(
            replay(&monitor, &matrix[..2], &verdicts, options).unwrap_err(),
            ReplayError::Points {
                expected: 3,
                got: 2
            }
        );
        assert_eq!(
            Agreement::of(Decision::Worse, Verdict::Better),
            Agreement::Reversed
        );
    }
}

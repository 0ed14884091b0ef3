//! A sequential study read back: each point's paired Δp against the reference, seed by seed in
//! the order of the experiment's `seeds:`, through the design's looks ([`assess`]); what the
//! next round must run ([`next_round`]); and the replay of a finished fixed-seed study under a
//! design ([`replay`], `weightlab report replay`).

use std::collections::{BTreeMap, BTreeSet};

use weightlab_stats::{
    Assessment, Continuation, Decision, Monitor, PointTrace, ReplayOptions, ReplaySummary,
};

use super::compare::{compare, delta_p, CompareOptions, Verdict};
use super::load::{Metric, SweepLogs};
use crate::config::SequentialConfig;
use crate::error::{Error, Result};

/// What a seed gives a point's series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeedValue {
    /// Both jobs are done: the paired Δp.
    Value(f64),
    /// One of them failed: the seed is left out, and the next one takes its place.
    Skip,
    /// One of them is not done yet: the series stops here.
    Stop,
}

/// One point's series: its values and the seeds they came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Paired Δp (%), in seed order.
    pub values: Vec<f64>,
    /// The seed of each value.
    pub seeds: Vec<u64>,
}

/// `seeds` in order through `value` (for point `j`): the values up to the first seed that is
/// not ready.
pub fn series(seeds: &[u64], value: impl Fn(u64) -> SeedValue) -> Series {
    let mut s = Series::default();
    for &seed in seeds {
        match value(seed) {
            SeedValue::Value(v) => {
                s.values.push(v);
                s.seeds.push(seed);
            }
            SeedValue::Skip => {}
            SeedValue::Stop => break,
        }
    }
    s
}

/// One dataset of a sequential study: its points (the reference left out), their series and
/// the design's verdicts so far.
#[derive(Debug, Clone)]
pub struct DatasetState {
    /// Dataset label.
    pub dataset: String,
    /// The reference's label.
    pub reference: String,
    /// The other points' labels, in the order of `series` and of the assessment.
    pub labels: Vec<String>,
    /// Each point's series.
    pub series: Vec<Series>,
    /// The looks taken and every point's trace.
    pub assessment: Assessment,
    /// What the next look needs, in values per point.
    pub continuation: Continuation,
    /// The monitor (plan and boundaries).
    pub monitor: Monitor,
}

impl DatasetState {
    /// The trace of the point labelled `label`.
    pub fn trace(&self, label: &str) -> Option<&PointTrace> {
        let i = self.labels.iter().position(|l| l == label)?;
        self.assessment.points.get(i)
    }
}

/// Each task's metric of every job of `logs` under `metric`, by (dataset, point label, seed).
pub fn metrics_by_seed(
    logs: &SweepLogs,
    metric: Metric,
) -> BTreeMap<(String, String, u64), Vec<f64>> {
    let mut out = BTreeMap::new();
    for p in logs.points() {
        for j in &p.jobs {
            out.insert(
                (p.dataset.clone(), p.label.clone(), j.seed as u64),
                j.metrics(metric),
            );
        }
    }
    out
}

/// Assess every dataset of a sequential study: `labels` are the points of each dataset (the
/// reference among them), `value(dataset, label, seed)` says what a seed gives that point
/// against the reference.
pub fn assess(
    seq: &SequentialConfig,
    seeds: &[u64],
    reference: &str,
    labels: &BTreeMap<String, Vec<String>>,
    value: &dyn Fn(&str, &str, u64) -> SeedValue,
) -> Result<Vec<DatasetState>> {
    let mut states = Vec::new();
    for (dataset, all) in labels {
        let others: Vec<String> = all.iter().filter(|l| *l != reference).cloned().collect();
        if others.is_empty() {
            continue;
        }
        let plan = seq
            .plan(others.len())
            .map_err(|e| Error::input("sequential", e.field(), e.to_string()))?;
        let monitor = Monitor::new(plan);
        let series: Vec<Series> = others
            .iter()
            .map(|l| self::series(seeds, |s| value(dataset, l, s)))
            .collect();
        let data: Vec<&[f64]> = series.iter().map(|s| s.values.as_slice()).collect();
        let assessment = monitor
            .assess(&data)
            .map_err(|e| Error::Failed(format!("sequential study of {dataset}: {e}")))?;
        let continuation = monitor.continuation(&assessment);
        states.push(DatasetState {
            dataset: dataset.clone(),
            reference: reference.to_string(),
            labels: others,
            series,
            assessment,
            continuation,
            monitor,
        });
    }
    Ok(states)
}

/// The seeds each point of `state` and its reference must have done for the next look: per
/// point, the first seeds of `seeds` that are not skipped, as many as the look needs.
pub fn next_round(
    state: &DatasetState,
    seeds: &[u64],
    skipped: &dyn Fn(&str, u64) -> bool,
) -> BTreeMap<String, BTreeSet<u64>> {
    let mut need: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (label, target) in state.labels.iter().zip(&state.continuation.points) {
        let Some(n) = *target else { continue };
        let mine: Vec<u64> = seeds
            .iter()
            .copied()
            .filter(|s| !skipped(label, *s))
            .take(n)
            .collect();
        need.entry(state.reference.clone())
            .or_default()
            .extend(mine.iter().copied());
        need.entry(label.clone()).or_default().extend(mine);
    }
    need
}

/// The states of the sequential study in `logs` (whose experiment has `seq`), from its done
/// jobs: a seed that either side lacks is left out (failed, or never run because the point was
/// decided first).
pub fn states_of(
    logs: &SweepLogs,
    seq: &SequentialConfig,
    metric: Metric,
) -> Result<Vec<DatasetState>> {
    let by_seed = metrics_by_seed(logs, metric);
    let reference = seq
        .reference
        .clone()
        .unwrap_or_else(|| crate::strategy::default_baseline(logs.tasks.len()));
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in logs.points() {
        labels
            .entry(p.dataset.clone())
            .or_default()
            .push(p.label.clone());
    }
    let value = |dataset: &str, label: &str, seed: u64| {
        let key = |l: &str| (dataset.to_string(), l.to_string(), seed);
        match (by_seed.get(&key(label)), by_seed.get(&key(&reference))) {
            (Some(m), Some(r)) => SeedValue::Value(delta_p(m, r, &logs.tasks)),
            _ => SeedValue::Skip,
        }
    };
    assess(seq, &logs.seeds, &reference, &labels, &value)
}

/// The verdicts of a replay's comparison.
fn replay_verdict(v: Verdict) -> weightlab_stats::Verdict {
    match v {
        Verdict::Better => weightlab_stats::Verdict::Better,
        Verdict::Worse => weightlab_stats::Verdict::Worse,
        _ => weightlab_stats::Verdict::Tie,
    }
}

/// One dataset's replay.
#[derive(Debug, Clone)]
pub struct DatasetReplay {
    /// Dataset label.
    pub dataset: String,
    /// The reference's label.
    pub reference: String,
    /// The points' labels, in the summary's order.
    pub labels: Vec<String>,
    /// What the replays found.
    pub summary: ReplaySummary,
    /// The plan's looks.
    pub looks: Vec<usize>,
}

/// Replay the finished fixed-seed study in `logs` under the design `seq` (its reference, or the
/// comparison's baseline): per dataset, the points × seeds matrix of paired Δp (NaN where a
/// job is missing) in `options.orders` seed orders, against the fixed study's verdicts.
pub fn replay(
    logs: &SweepLogs,
    seq: &SequentialConfig,
    opts: &CompareOptions,
    options: ReplayOptions,
) -> Result<Vec<DatasetReplay>> {
    let reference = seq
        .reference
        .clone()
        .unwrap_or_else(|| opts.baseline_label(&logs.tasks));
    let opts = CompareOptions {
        baseline: Some(reference.clone()),
        ..opts.clone()
    };
    let rows = compare(logs, "replay", &opts)?;
    let by_seed = metrics_by_seed(logs, opts.metric);
    let seeds: BTreeSet<u64> = by_seed.keys().map(|k| k.2).collect();
    let mut out = Vec::new();
    for dataset in logs.datasets() {
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.dataset == dataset && r.point != reference)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let matrix: Vec<Vec<f64>> = mine
            .iter()
            .map(|r| {
                seeds
                    .iter()
                    .map(|&s| {
                        let key = |l: &str| (dataset.clone(), l.to_string(), s);
                        match (by_seed.get(&key(&r.point)), by_seed.get(&key(&reference))) {
                            (Some(m), Some(b)) => delta_p(m, b, &logs.tasks),
                            _ => f64::NAN,
                        }
                    })
                    .collect()
            })
            .collect();
        let verdicts: Vec<_> = mine.iter().map(|r| replay_verdict(r.verdict)).collect();
        let plan = seq
            .plan(mine.len())
            .map_err(|e| Error::input("sequential", e.field(), e.to_string()))?;
        let looks = plan.looks().to_vec();
        let monitor = Monitor::new(plan);
        let summary = weightlab_stats::replay(&monitor, &matrix, &verdicts, options)
            .map_err(|e| Error::Failed(format!("replay of {dataset}: {e}")))?;
        out.push(DatasetReplay {
            dataset,
            reference: reference.clone(),
            labels: mine.iter().map(|r| r.point.clone()).collect(),
            summary,
            looks,
        });
    }
    Ok(out)
}

/// The replays as CSV, one row per (folder, dataset, point): the fixed verdict, how many orders the
/// design agreed with it (and how it did not), the point's mean jobs, and the dataset's jobs
/// per order (mean, 5/50/95 %) against the fixed study's, repeated on each of its rows.
pub fn replay_csv(
    replays: &[(String, DatasetReplay)],
    seq: &SequentialConfig,
    orders: usize,
) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "folder",
        "dataset",
        "point",
        "reference",
        "design",
        "margin",
        "orders",
        "fixed_verdict",
        "same",
        "undecided",
        "reversed",
        "separated_where_fixed_tied",
        "equivalent_where_fixed_separated",
        "mean_jobs",
        "dataset_jobs_mean",
        "dataset_jobs_p05",
        "dataset_jobs_p50",
        "dataset_jobs_p95",
        "fixed_jobs",
    ]);
    for (folder, r) in replays {
        let j = &r.summary.jobs;
        for (label, p) in r.labels.iter().zip(&r.summary.points) {
            let a = &p.agreement;
            let _ = w.write_record([
                folder.clone(),
                r.dataset.clone(),
                label.clone(),
                r.reference.clone(),
                seq.design.design().as_str().to_string(),
                seq.margin.to_string(),
                orders.to_string(),
                p.verdict.as_str().to_string(),
                a.same.to_string(),
                a.undecided.to_string(),
                a.reversed.to_string(),
                a.separated_where_fixed_tied.to_string(),
                a.equivalent_where_fixed_separated.to_string(),
                p.mean_jobs.to_string(),
                j.mean.to_string(),
                j.p05.to_string(),
                j.p50.to_string(),
                j.p95.to_string(),
                r.summary.fixed_jobs.to_string(),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The replays as a table: per dataset the jobs the design would have run against the fixed
/// study's, then per point how often its decision matched the fixed verdict.
pub fn replay_table(
    replays: &[(String, DatasetReplay)],
    seq: &SequentialConfig,
    orders: usize,
) -> String {
    let mut s = String::new();
    let folders = replays.iter().any(|(f, _)| *f != replays[0].0);
    for (folder, r) in replays {
        let j = &r.summary.jobs;
        let saved = 100.0 * (1.0 - j.mean / r.summary.fixed_jobs as f64);
        let label = if folders {
            format!("{folder} {}", r.dataset)
        } else {
            r.dataset.clone()
        };
        s.push_str(&format!(
            "{}: {} design, looks at {:?} seeds, margin ±{} %, α = {} over {} points against `{}`; {} seed orders\n",
            label,
            seq.design.design().as_str(),
            r.looks,
            seq.margin,
            seq.alpha,
            r.labels.len(),
            r.reference,
            orders
        ));
        s.push_str(&format!(
            "jobs: {:.1} on average (5–95 %: {:.0}–{:.0}, median {:.0}) against {} for the fixed study: {saved:.1} % fewer\n",
            j.mean, j.p05, j.p95, j.p50, r.summary.fixed_jobs
        ));
        s.push_str(&format!(
            "{:<44} {:>7} {:>8} {:>9} {:>9} {:>10} {:>11} {:>9}\n",
            "point", "fixed", "same", "undecided", "reversed", "sep/tie", "equiv/sep", "jobs"
        ));
        let mut reversed = 0;
        for (label, p) in r.labels.iter().zip(&r.summary.points) {
            let a = &p.agreement;
            reversed += a.reversed;
            s.push_str(&format!(
                "{:<44} {:>7} {:>8} {:>9} {:>9} {:>10} {:>11} {:>9.1}\n",
                label,
                p.verdict.as_str(),
                a.same,
                a.undecided,
                a.reversed,
                a.separated_where_fixed_tied,
                a.equivalent_where_fixed_separated,
                p.mean_jobs
            ));
        }
        s.push_str(&format!(
            "reversed verdicts over all points and orders: {reversed}\n\n"
        ));
    }
    s
}

/// A point's decision as a comparison verdict.
pub fn verdict_of(decision: Decision) -> Verdict {
    match decision {
        Decision::Better => Verdict::Better,
        Decision::Worse => Verdict::Worse,
        Decision::Equivalent => Verdict::Equivalent,
        Decision::Open => Verdict::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DesignName, LooksConfig};

    fn design(design: DesignName) -> SequentialConfig {
        SequentialConfig {
            design,
            looks: LooksConfig::Every {
                first: 5,
                every: 5,
                max: 20,
            },
            margin: 1.0,
            alpha: 0.05,
            reference: None,
            budget: None,
        }
    }

    /// Four points against a reference on 20 seeds: a clear gain, a clear loss, a difference
    /// well inside ±1 %, and a difference that never settles (±3 % in turn).
    fn values() -> BTreeMap<(String, u64), f64> {
        let mut rng = crate::rng::Rng::new(5);
        let mut v = BTreeMap::new();
        for seed in 1..=20u64 {
            v.insert(("better".to_string(), seed), 5.0 + rng.normal());
            v.insert(("worse".to_string(), seed), -5.0 + rng.normal());
            v.insert(("same".to_string(), seed), 0.05 * rng.normal());
            v.insert(
                ("open".to_string(), seed),
                if seed % 2 == 0 { 3.0 } else { -3.0 },
            );
        }
        v
    }

    #[test]
    fn constructed_points_are_decided_as_they_should() {
        let v = values();
        let labels = BTreeMap::from([(
            "d".to_string(),
            ["ref", "better", "worse", "same", "open"]
                .map(String::from)
                .to_vec(),
        )]);
        let seeds: Vec<u64> = (1..=20).collect();
        for d in [DesignName::GroupSequential, DesignName::AnytimeValid] {
            let value = |_: &str, l: &str, s: u64| SeedValue::Value(v[&(l.to_string(), s)]);
            let states = assess(&design(d), &seeds, "ref", &labels, &value).unwrap();
            let s = &states[0];
            let decision = |l: &str| s.trace(l).unwrap().decision();
            assert_eq!(decision("better"), Decision::Better, "{d:?}");
            assert_eq!(decision("worse"), Decision::Worse, "{d:?}");
            assert_eq!(decision("same"), Decision::Equivalent, "{d:?}");
            assert_eq!(decision("open"), Decision::Open, "{d:?}");
            // The clear ones stop early and get no more seeds; the open one goes to the end.
            assert!(s.trace("better").unwrap().seeds_used() < 20, "{d:?}");
            assert_eq!(s.trace("open").unwrap().seeds_used(), 20, "{d:?}");
            assert_eq!(s.continuation.reference, None, "{d:?}: the study is over");
        }
        // Half-way: only the first 10 seeds are done. The decided points need nothing more,
        // the open ones the next look's seeds, and the reference as many as the most any
        // open point needs.
        let value = |_: &str, l: &str, s: u64| {
            if s <= 10 {
                SeedValue::Value(v[&(l.to_string(), s)])
            } else {
                SeedValue::Stop
            }
        };
        let states = assess(
            &design(DesignName::GroupSequential),
            &seeds,
            "ref",
            &labels,
            &value,
        )
        .unwrap();
        let need = next_round(&states[0], &seeds, &|_, _| false);
        assert_eq!(need.get("open").map(|s| s.len()), Some(15));
        assert!(!need.contains_key("better") && !need.contains_key("worse"));
        assert_eq!(need.get("ref").map(|s| s.len()), Some(15));
        // A failed seed is skipped: the next seed takes its place.
        let need = next_round(&states[0], &seeds, &|l, s| l == "open" && s == 3);
        let open: Vec<u64> = need["open"].iter().copied().collect();
        assert_eq!(open.len(), 15);
        assert!(!open.contains(&3) && open.contains(&16));
    }

    #[test]
    fn a_series_stops_at_the_first_seed_not_ready_and_skips_failed_ones() {
        let s = series(&[1, 2, 3, 4, 5], |seed| match seed {
            2 => SeedValue::Skip,
            4 => SeedValue::Stop,
            s => SeedValue::Value(s as f64),
        });
        assert_eq!(s.values, [1.0, 3.0]);
        assert_eq!(s.seeds, [1, 3]);
    }
}

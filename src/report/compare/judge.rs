//! Holm's correction, the verdicts and the power of each test, and the sentence that says what
//! a study can detect.

use super::{CompareOptions, CompareRow, Power, Verdict, SEEDS_CAP};
use crate::report::stats::{holm, minimum_detectable_effect, pairs_needed};

/// Holm's correction over one dataset's tested rows (Δp and each task separately), then the
/// verdicts, the flags and the power of each test.
pub(super) fn judge(rows: &mut [CompareRow], opts: &CompareOptions) {
    let tested: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].p_value.is_some())
        .collect();
    let p: Vec<f64> = tested.iter().filter_map(|&i| rows[i].p_value).collect();
    for (&i, adjusted) in tested.iter().zip(holm(&p)) {
        rows[i].p_holm = Some(adjusted);
    }
    let n_tasks = rows.first().map_or(0, |r| r.tasks.len());
    for k in 0..n_tasks {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].deltas[k].is_some())
            .collect();
        let p: Vec<f64> = idx
            .iter()
            .filter_map(|&i| rows[i].deltas[k].map(|t| t.p_value))
            .collect();
        for (&i, adjusted) in idx.iter().zip(holm(&p)) {
            if let Some(t) = rows[i].deltas[k].as_mut() {
                t.p_holm = Some(adjusted);
            }
        }
    }
    let holm_level = opts.alpha / tested.len().max(1) as f64;
    for &i in &tested {
        let r = &mut rows[i];
        let mean = r.delta_p.map_or(0.0, |d| d.mean);
        let significant = r.p_holm.is_some_and(|p| p < opts.alpha);
        r.verdict = if significant && mean > 0.0 {
            Verdict::Better
        } else if significant && mean < 0.0 {
            Verdict::Worse
        } else {
            Verdict::Tie
        };
        let gains: Vec<f64> = r
            .deltas
            .iter()
            .zip(r.tasks.iter())
            .filter_map(|(d, t)| d.and_then(|d| d.gain(opts.alpha, t.metric.direction().sign())))
            .collect();
        r.opposite_effects = r.verdict == Verdict::Tie
            && gains.iter().any(|g| *g > 0.0)
            && gains.iter().any(|g| *g < 0.0);
        let sd = r.delta_p.and_then(|d| d.std).unwrap_or(f64::NAN);
        let n = r.paired_seeds;
        r.power = Some(Power {
            sd,
            holm_level,
            mde_holm: minimum_detectable_effect(sd, n, holm_level, opts.power),
            mde_alpha: minimum_detectable_effect(sd, n, opts.alpha, opts.power),
            seeds_needed: pairs_needed(opts.effect, sd, holm_level, opts.power, SEEDS_CAP),
            seeds_needed_alpha: pairs_needed(opts.effect, sd, opts.alpha, opts.power, SEEDS_CAP),
        });
    }
}

/// What one dataset's study can detect, in one sentence: the paired SD of Δp over its static
/// points (all tested points when it has none), the minimum detectable |Δp| of the median one
/// at α and at Holm's first level, and the seeds that the options' effect needs.
pub fn detectability(rows: &[CompareRow], opts: &CompareOptions) -> Vec<(String, String)> {
    let mut datasets: Vec<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
    datasets.dedup();
    let mut out = Vec::new();
    for dataset in datasets {
        // A point whose every paired difference is zero (the reference itself under another
        // name, such as static 0.5 against equal) says nothing about the noise.
        let tested: Vec<&CompareRow> = rows
            .iter()
            .filter(|r| {
                r.dataset == dataset && r.power.is_some_and(|p| p.sd.is_finite() && p.sd > 0.0)
            })
            .collect();
        let statics: Vec<&CompareRow> = tested
            .iter()
            .filter(|r| r.static_w.is_some())
            .copied()
            .collect();
        let (over, which) = if statics.is_empty() {
            (tested, "tested points")
        } else {
            (statics, "static points")
        };
        if over.is_empty() {
            out.push((
                dataset.to_string(),
                format!(
                    "{dataset}: no point has two paired seeds with spread, so this study cannot \
                     tell a difference from noise; run more seeds."
                ),
            ));
            continue;
        }
        let mut sds: Vec<f64> = over.iter().filter_map(|r| r.power.map(|p| p.sd)).collect();
        sds.sort_by(f64::total_cmp);
        let median = median_of(&sds);
        let mut ns: Vec<usize> = over.iter().map(|r| r.paired_seeds).collect();
        ns.sort_unstable();
        let n = ns[(ns.len() - 1) / 2];
        let power = over[0].power.map_or(opts.alpha, |p| p.holm_level);
        let m = (opts.alpha / power).round();
        let pct = (opts.power * 100.0).round();
        let mde = |alpha: f64| {
            minimum_detectable_effect(median, n, alpha, opts.power)
                .map_or("—".to_string(), |v| format!("{v:.2} %"))
        };
        let needed = |sd: f64| {
            pairs_needed(opts.effect, sd, power, opts.power, SEEDS_CAP)
                .map_or(format!("more than {SEEDS_CAP}"), |n| n.to_string())
        };
        out.push((
            dataset.to_string(),
            format!(
                "{dataset}: with {n} paired seeds (paired SD of Δp {:.2}–{:.2} %, median {median:.2} % \
                 over the {which}), this study detects a |Δp| of {} at α = {} and {} at Holm's \
                 first level (α/{m} = {power:.4}) with {pct} % power for the median point; a \
                 smaller difference reads as a tie: not separated at this power, not equal. \
                 Separating {} % at Holm's level takes {} seeds for the median point ({} for \
                 every one of them).",
                sds[0],
                sds[sds.len() - 1],
                mde(opts.alpha),
                opts.alpha,
                mde(power),
                opts.effect,
                needed(median),
                needed(sds[sds.len() - 1]),
            ),
        ));
    }
    out
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median_of(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

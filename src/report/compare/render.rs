//! The comparison as people and programs read it: a Markdown table with what the study can
//! detect, a CSV with one column group per task, the `report power` table, and the texts of
//! verdicts, dominance and warnings.

use super::judge::detectability;
use super::{CompareOptions, CompareRow, TaskEffect, Verdict};
use crate::report::stats::Summary;
use crate::task::Tasks;

/// Warnings about the rows: points with fewer paired seeds than their reference has, unless a
/// sequential study stopped the point there by design.
pub fn warnings(rows: &[CompareRow]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.verdict != Verdict::Baseline && r.paired_seeds < r.reference_seeds)
        .filter(|r| {
            r.sequential
                .as_ref()
                .is_none_or(|s| s.decided_at.is_none() || s.seeds != r.paired_seeds)
        })
        .map(|r| {
            format!(
                "{} {}: {} of the reference's {} seeds paired (a job missing, failed or still \
                 running); its tests use those {} only",
                r.dataset, r.point, r.paired_seeds, r.reference_seeds, r.paired_seeds
            )
        })
        .collect()
}

fn metric_cell(s: &Summary) -> String {
    match (s.std, s.ci) {
        (Some(std), Some((lo, hi))) => format!("{:.4} ± {std:.4} [{lo:.4}, {hi:.4}]", s.mean),
        _ => format!("{:.4}", s.mean),
    }
}

fn delta_cell(d: &Option<Summary>) -> String {
    match d {
        Some(Summary {
            mean,
            ci: Some((lo, hi)),
            ..
        }) => format!("{mean:+.2} [{lo:+.2}, {hi:+.2}]"),
        Some(s) => format!("{:+.2}", s.mean),
        None => String::new(),
    }
}

/// A task's paired difference with its interval, as tables write it: accuracies in points
/// with two decimals; a metric in its own units whose interval lies within ±0.1 (an error of
/// 0.05, say) with three significant digits of the interval's largest end, so that its effect
/// does not read as 0.
pub fn effect_text(s: &Summary, task: &crate::task::Task) -> String {
    let largest = s.ci.map_or(s.mean.abs(), |(lo, hi)| {
        s.mean.abs().max(lo.abs()).max(hi.abs())
    });
    if task.metric.is_fraction() || largest == 0.0 || largest >= 0.1 || !largest.is_finite() {
        return delta_cell(&Some(*s));
    }
    let d = (2.0 - largest.log10().floor()) as usize;
    match s.ci {
        Some((lo, hi)) => format!("{:+.d$} [{lo:+.d$}, {hi:+.d$}]", s.mean),
        None => format!("{:+.d$}", s.mean),
    }
}

/// A task's effect cell of the Markdown table: the difference and its Holm-adjusted p.
pub(super) fn task_cell(t: &Option<TaskEffect>, task: &crate::task::Task) -> String {
    match t {
        Some(t) => format!(
            "{} (p_H {})",
            effect_text(&t.summary, task),
            p_cell(t.p_holm.or(Some(t.p_value)))
        ),
        None => String::new(),
    }
}

fn p_cell(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
        None => String::new(),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or(String::new(), |x| format!("{x:.digits$}"))
}

/// The dominance outcome as a table reads it: the dominating static point, or `not dominated`
/// (empty for a point with no other static point to compare with).
pub fn dominance_text(r: &CompareRow) -> String {
    match (&r.dominated_by, r.dominance_tested) {
        (Some(s), _) => s.clone(),
        (None, true) => "not dominated".to_string(),
        (None, false) => String::new(),
    }
}

/// The verdict as a table reads it: a tie says what it means, an untested row why, a
/// sequential study's verdict how it was reached.
pub fn verdict_text(r: &CompareRow, alpha: f64) -> String {
    if let Some(s) = &r.sequential {
        let mut at = match s.decided_at {
            Some(k) => format!("decided at look {k}, {} seeds", s.seeds),
            None => format!("{} seeds", s.seeds),
        };
        match s.interval {
            Some((lo, hi)) if lo.is_finite() && hi.is_finite() => {
                at.push_str(&format!("; design's interval [{lo:+.2}, {hi:+.2}]"))
            }
            Some(_) => at.push_str("; design's interval unbounded"),
            None => {}
        }
        return match r.verdict {
            Verdict::Equivalent => format!("equivalent within ±{} % ({at})", s.margin),
            Verdict::Open => format!("open: not decided after its last look ({at})"),
            v => format!("{} ({at}){}", v.as_str(), trade(r, alpha)),
        };
    }
    match r.verdict {
        Verdict::Tie => {
            let mde = r
                .power
                .and_then(|p| p.mde_holm)
                .map_or(String::new(), |m| format!(" (MDE {m:.2} %)"));
            let mut s = format!("tie: not separated at this power{mde}");
            if r.opposite_effects {
                s.push_str(&format!(
                    "; hides opposite task effects ({} after Holm)",
                    separated_effects(r, alpha).join(", ")
                ));
            }
            s
        }
        Verdict::Untested => format!("untested: {}", r.untested.as_deref().unwrap_or("no test")),
        v => format!("{}{}", v.as_str(), trade(r, alpha)),
    }
}

/// The tasks a point is separated on after Holm, e.g. `["fv worse", "ex better"]`.
fn separated_effects(r: &CompareRow, alpha: f64) -> Vec<String> {
    r.deltas
        .iter()
        .zip(r.tasks.iter())
        .filter_map(|(d, t)| {
            let gain = d.and_then(|d| d.gain(alpha, t.metric.direction().sign()))?;
            Some(format!(
                "{} {}",
                t.name,
                if gain > 0.0 { "better" } else { "worse" }
            ))
        })
        .collect()
}

/// For a `better` or `worse` point that gains on one task and loses on another (both after
/// Holm), what its Δp verdict averages over: `; trades tasks (digit worse, inpaint better)`.
fn trade(r: &CompareRow, alpha: f64) -> String {
    if !matches!(r.verdict, Verdict::Better | Verdict::Worse) {
        return String::new();
    }
    let effects = separated_effects(r, alpha);
    let gains = effects.iter().any(|e| e.ends_with("better"));
    let losses = effects.iter().any(|e| e.ends_with("worse"));
    if gains && losses {
        format!("; trades tasks ({} after Holm)", effects.join(", "))
    } else {
        String::new()
    }
}

/// For the rows of a sequential study, one sentence per dataset that says how its verdicts
/// were reached (the design, its looks and margin, the seeds spent); `None` for a fixed study.
pub fn sequential_sentences(rows: &[CompareRow]) -> Option<Vec<String>> {
    let first = rows.iter().find_map(|r| r.sequential.as_ref())?;
    let mut studies: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        let key = (r.folder.as_str(), r.dataset.as_str());
        if !studies.contains(&key) {
            studies.push(key);
        }
    }
    let folders = {
        let mut f: Vec<&str> = studies.iter().map(|s| s.0).collect();
        f.dedup();
        f.len() > 1
    };
    let max = first.looks.last().copied().unwrap_or(0);
    Some(
        studies
            .into_iter()
            .filter(|&(f, d)| {
                rows.iter()
                    .any(|r| r.folder == f && r.dataset == d && r.sequential.is_some())
            })
            .map(|(f, d)| {
                let mine: Vec<&CompareRow> = rows
                    .iter()
                    .filter(|r| r.folder == f && r.dataset == d && r.sequential.is_some())
                    .collect();
                let count = |v: Verdict| mine.iter().filter(|r| r.verdict == v).count();
                let used: usize = mine
                    .iter()
                    .filter_map(|r| r.sequential.as_ref().map(|s| s.seeds))
                    .sum();
                let reference = rows
                    .iter()
                    .find(|r| r.folder == f && r.dataset == d && r.verdict == Verdict::Baseline)
                    .map_or(0, |r| r.seeds);
                // Jobs with logs, a point's seeds past its reference's pair included.
                let jobs = mine.iter().map(|r| r.seeds).sum::<usize>() + reference;
                let fixed = max * (mine.len() + 1);
                let running = mine.iter().any(|r| {
                    r.sequential
                        .as_ref()
                        .is_some_and(|s| s.decided_at.is_none() && s.seeds < max)
                });
                let cost = if running {
                    format!("{jobs} jobs done so far against {fixed} for the fixed study")
                } else {
                    let change = 100.0 * (1.0 - jobs as f64 / fixed.max(1) as f64);
                    let word = if change >= 0.0 { "fewer" } else { "more" };
                    format!(
                        "{jobs} jobs done against {fixed} for the fixed study ({:.1} % {word})",
                        change.abs()
                    )
                };
                let label = if folders {
                    format!("{f} {d}")
                } else {
                    d.to_string()
                };
                format!(
                    "{label}: a sequential study ({} design, looks at {:?} paired seeds, α = {} over its {} points, \
                     equivalence margin ±{} % on Δp): each point got seeds until its verdict was decided, \
                     {} better, {} worse, {} equivalent, {} open after the last look; the points' verdicts rest on \
                     {used} paired seeds against {} for a fixed study of {max} seeds each; with the reference's \
                     {reference}, {cost}.",
                    first.design,
                    first.looks,
                    first.alpha,
                    mine.len(),
                    first.margin,
                    count(Verdict::Better),
                    count(Verdict::Worse),
                    count(Verdict::Equivalent),
                    count(Verdict::Open),
                    max * mine.len()
                )
            })
            .collect(),
    )
}

/// The tasks the rows describe (every row of one table has the same).
fn tasks_of(rows: &[CompareRow]) -> Tasks {
    rows.first().map(|r| r.tasks.clone()).unwrap_or_default()
}

/// A Markdown table of `rows`, with a folder column when they come from several folders,
/// what the study can detect, warnings, and a note that says how to read it.
pub fn to_markdown(rows: &[CompareRow], opts: &CompareOptions) -> String {
    let folders = {
        let mut f: Vec<&str> = rows.iter().map(|r| r.folder.as_str()).collect();
        f.dedup();
        f.len() > 1
    };
    let tasks = tasks_of(rows);
    let m = opts.metric.as_str();
    let mut header: Vec<String> = Vec::new();
    if folders {
        header.push("folder".into());
    }
    header.extend(["dataset", "strategy", "seeds (paired)"].map(String::from));
    header.extend(tasks.iter().map(|t| format!("{} ({m})", t.metric_label())));
    header.extend([
        format!("Δp vs {} (%)", opts.reference_label(&tasks)),
        "p".into(),
        "p (Holm)".into(),
        "verdict".into(),
    ]);
    header.extend(
        tasks
            .iter()
            .map(|t| format!("Δ{} ({})", t.name, t.metric.display_unit())),
    );
    header.extend([
        "dominated by".into(),
        "SD of Δp".into(),
        "best epoch".into(),
        "selected epoch".into(),
        format!("mean w ({})", tasks.names().join("/")),
        "wall s".into(),
    ]);
    let mut s = format!("| {} |\n", header.join(" | "));
    s.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for r in rows {
        let mut cells: Vec<String> = Vec::new();
        if folders {
            cells.push(r.folder.clone());
        }
        cells.extend([
            r.dataset.clone(),
            r.point.clone(),
            format!("{} ({})", r.seeds, r.paired_seeds),
        ]);
        cells.extend(r.metrics.iter().map(metric_cell));
        cells.extend([
            delta_cell(&r.delta_p),
            p_cell(r.p_value),
            p_cell(r.p_holm),
            verdict_text(r, opts.alpha),
        ]);
        cells.extend(
            r.deltas
                .iter()
                .zip(r.tasks.iter())
                .map(|(d, t)| task_cell(d, t)),
        );
        cells.extend([
            dominance_text(r),
            opt(r.power.map(|p| p.sd), 2),
            format!("{:.1}", r.best_epoch),
            opt(r.selected_epoch, 1),
            r.mean_w
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect::<Vec<_>>()
                .join("/"),
            opt(r.wall_s, 1),
        ]);
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s.push('\n');
    match sequential_sentences(rows) {
        Some(sentences) => {
            for sentence in sentences {
                s.push_str(&format!(
                    "**How these verdicts were reached.** {sentence}\n\n"
                ));
            }
        }
        None => {
            for (_, sentence) in detectability(rows, opts) {
                s.push_str(&format!("**What this study can detect.** {sentence}\n\n"));
            }
        }
    }
    for w in warnings(rows) {
        s.push_str(&format!("**Warning:** {w}.\n\n"));
    }
    let level = (opts.level * 100.0).round();
    let pct = (opts.power * 100.0).round();
    let directions: Vec<String> = tasks
        .iter()
        .map(|t| {
            format!(
                "{} {}-is-better",
                t.metric_column(),
                t.metric.direction().as_str()
            )
        })
        .collect();
    s.push_str(&format!(
        "Metrics: mean ± std over seeds [{level} % confidence interval, Student t; accuracies cut \
         to [0, 1]] ({}). Δp: mean over the seeds shared with {} of the per-seed Δp (mean over \
         tasks of ±(M − M_ref) / M_ref, the sign making a gain positive), [{level} % CI]. Δ per \
         task: per-seed paired differences M − M_ref (accuracies in points, × 100) [{level} % \
         CI], p_H after Holm over the dataset's points. p: two-sided paired t-test (the exact \
         sign test where every paired difference is the same); Holm over the tested points of \
         each dataset; verdict at α = {} after Holm. A tie is not separated at this power; MDE: \
         the |Δp| detected with {pct} % power at Holm's first level (α / number of tested \
         points). Dominated by: a static point better on one task (paired, Holm over the static \
         points) and worse on none. Best epoch: the best selection score of the test metrics; \
         selected epoch: the best selection score of the validation metrics, which `selected` \
         reports.\n",
        directions.join(", "),
        opts.reference_label(&tasks),
        opts.alpha
    ));
    s
}

/// The CSV columns that are not per task, in the order [`csv_header`] interleaves them.
pub const CSV_FIXED: [&str; 24] = [
    "dataset",
    "strategy",
    "seeds",
    "delta_p",
    "best_epoch",
    "wall_s",
    "delta_p_ci_low",
    "delta_p_ci_high",
    "p_value",
    "p_holm",
    "verdict",
    "folder",
    "paired_seeds",
    "sd_delta_p",
    "mde_delta_p",
    "mde_level",
    "mde_delta_p_alpha",
    "seeds_needed",
    "seeds_needed_alpha",
    "effect",
    "dominated_by",
    "opposite_effects",
    "test",
    "reference",
];

/// The CSV header for `tasks`: the columns of earlier versions in their order, each per-task
/// group repeated for every task (`fv_acc_mean`, `ex_acc_mean`, …, `fv_delta`, …), then
/// `selected_epoch` and `epochs`.
pub fn csv_header(tasks: &Tasks) -> Vec<String> {
    let per = |f: &dyn Fn(&crate::task::Task) -> Vec<String>| -> Vec<String> {
        tasks.iter().flat_map(f).collect()
    };
    let fixed = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut h = fixed(&CSV_FIXED[..3]);
    h.extend(per(&|t| {
        let c = t.metric_column();
        vec![format!("{c}_mean"), format!("{c}_std")]
    }));
    h.extend(fixed(&CSV_FIXED[3..5]));
    h.extend(
        tasks
            .iter()
            .take(weight_columns(tasks))
            .map(|t| format!("mean_w_{}", t.name)),
    );
    h.extend(fixed(&CSV_FIXED[5..6]));
    h.extend(per(&|t| {
        let c = t.metric_column();
        vec![format!("{c}_ci_low"), format!("{c}_ci_high")]
    }));
    h.extend(fixed(&CSV_FIXED[6..20]));
    h.extend(per(&|t| {
        let n = &t.name;
        vec![
            format!("{n}_delta"),
            format!("{n}_delta_ci_low"),
            format!("{n}_delta_ci_high"),
            format!("{n}_p_value"),
            format!("{n}_p_holm"),
        ]
    }));
    h.extend(fixed(&CSV_FIXED[20..]));
    h.extend(["selected_epoch".to_string(), "epochs".to_string()]);
    h
}

/// The columns a sequential study's rows add to the CSV: how each verdict was reached.
pub const CSV_SEQUENTIAL: [&str; 6] = [
    "design",
    "decided_at_look",
    "design_seeds",
    "design_ci_low",
    "design_ci_high",
    "margin",
];

/// A sequential row's values of [`CSV_SEQUENTIAL`] (empty cells for the reference).
fn sequential_cells(r: &CompareRow) -> Vec<String> {
    let f = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    match &r.sequential {
        Some(s) => vec![
            s.design.to_string(),
            s.decided_at.map_or(String::new(), |k| k.to_string()),
            s.seeds.to_string(),
            f(s.interval.map(|i| i.0)),
            f(s.interval.map(|i| i.1)),
            s.margin.to_string(),
        ],
        None => vec![String::new(); CSV_SEQUENTIAL.len()],
    }
}

/// How many `mean_w_<task>` columns the CSV has: with two tasks only the first task's, as in
/// earlier versions (the other is one minus it), so a two-task table keeps its columns.
fn weight_columns(tasks: &Tasks) -> usize {
    if tasks.len() == 2 {
        1
    } else {
        tasks.len()
    }
}

/// A CSV table of `rows` (full precision, empty cells for missing values).
pub fn to_csv(rows: &[CompareRow], opts: &CompareOptions) -> String {
    let tasks = tasks_of(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    let sequential = rows.iter().any(|r| r.sequential.is_some());
    let mut header = csv_header(&tasks);
    if sequential {
        header.extend(CSV_SEQUENTIAL.iter().map(|c| c.to_string()));
    }
    let _ = w.write_record(header);
    let f = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let n = |v: Option<usize>| v.map_or(String::new(), |x| x.to_string());
    for r in rows {
        let d_ci = r.delta_p.and_then(|d| d.ci);
        let pw = r.power;
        let mut record = vec![r.dataset.clone(), r.point.clone(), r.seeds.to_string()];
        for m in &r.metrics {
            record.extend([m.mean.to_string(), f(m.std)]);
        }
        record.extend([f(r.delta_p.map(|d| d.mean)), r.best_epoch.to_string()]);
        record.extend(
            r.mean_w
                .iter()
                .take(weight_columns(&tasks))
                .map(|w| w.to_string()),
        );
        record.push(f(r.wall_s));
        for m in &r.metrics {
            record.extend([f(m.ci.map(|c| c.0)), f(m.ci.map(|c| c.1))]);
        }
        record.extend([
            f(d_ci.map(|c| c.0)),
            f(d_ci.map(|c| c.1)),
            f(r.p_value),
            f(r.p_holm),
            r.verdict.as_str().to_string(),
            r.folder.clone(),
            r.paired_seeds.to_string(),
            f(pw.map(|p| p.sd).filter(|s| s.is_finite())),
            f(pw.and_then(|p| p.mde_holm)),
            f(pw.map(|p| p.holm_level)),
            f(pw.and_then(|p| p.mde_alpha)),
            n(pw.and_then(|p| p.seeds_needed)),
            n(pw.and_then(|p| p.seeds_needed_alpha)),
            opts.effect.to_string(),
        ]);
        for t in &r.deltas {
            let ci = t.and_then(|t| t.summary.ci);
            record.extend([
                f(t.map(|t| t.summary.mean)),
                f(ci.map(|c| c.0)),
                f(ci.map(|c| c.1)),
                f(t.map(|t| t.p_value)),
                f(t.and_then(|t| t.p_holm)),
            ]);
        }
        record.extend([
            r.dominated_by.clone().unwrap_or_default(),
            r.opposite_effects.to_string(),
            r.test.map_or(String::new(), |t| t.as_str().to_string()),
            if r.delta_p.is_some() {
                opts.reference_label(&r.tasks)
            } else {
                String::new()
            },
            f(r.selected_epoch),
            r.epochs.to_string(),
        ]);
        if sequential {
            record.extend(sequential_cells(r));
        }
        let _ = w.write_record(record);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `report power`: per tested point the paired SD of Δp, the minimum detectable |Δp| at α and
/// at Holm's first level, and the seeds the options' effect needs at each; then what the
/// study can detect.
pub fn power_table(rows: &[CompareRow], opts: &CompareOptions) -> String {
    let pct = (opts.power * 100.0).round();
    let e = opts.effect;
    let mut s = String::new();
    let mut datasets: Vec<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
    datasets.dedup();
    for dataset in datasets {
        let mine: Vec<&CompareRow> = rows
            .iter()
            .filter(|r| r.dataset == dataset && r.power.is_some())
            .collect();
        let level = mine
            .first()
            .and_then(|r| r.power)
            .map_or(opts.alpha, |p| p.holm_level);
        s.push_str(&format!(
            "{dataset}: Δp against {}, {} tested points, power {pct} %, Holm's first level α/{} = {level:.5}\n",
            opts.reference_label(&tasks_of(rows)),
            mine.len(),
            mine.len()
        ));
        s.push_str(&format!(
            "{:<44} {:>6} {:>9} {:>12} {:>12} {:>14} {:>14}\n",
            "point",
            "paired",
            "SD Δp %",
            format!("MDE α={}", opts.alpha),
            "MDE Holm",
            format!("seeds {e}% α"),
            format!("seeds {e}% Holm")
        ));
        let num = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
        let cnt = |v: Option<usize>| v.map_or("—".to_string(), |x| x.to_string());
        for r in &mine {
            let p = r.power.expect("filtered");
            s.push_str(&format!(
                "{:<44} {:>6} {:>9} {:>12} {:>12} {:>14} {:>14}\n",
                r.point,
                r.paired_seeds,
                num(Some(p.sd).filter(|s| s.is_finite())),
                num(p.mde_alpha),
                num(p.mde_holm),
                cnt(p.seeds_needed_alpha),
                cnt(p.seeds_needed)
            ));
        }
        s.push('\n');
    }
    for (_, sentence) in detectability(rows, opts) {
        s.push_str(&sentence);
        s.push('\n');
    }
    for w in warnings(rows) {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

//! `report html`: one self-contained page per sweep, for a browser and for sharing: the
//! figures inlined as SVG, the comparison table with its intervals and verdicts (sortable by
//! any column), every job's state, reason and wall time, and the experiment YAML. No network,
//! no file beside it.

use std::path::{Path, PathBuf};

use super::compare::{
    detectability, dominance_text, effect_text, sequential_sentences, verdict_text, warnings,
    CompareOptions, CompareRow, TaskEffect,
};
use super::stats::Summary;
use crate::error::{Error, Result};
use crate::files::atomic_write;
use crate::runlog::{JobState, RunDir};

/// One line of the jobs table.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLine {
    /// Run id.
    pub run_id: String,
    /// State on disk.
    pub state: JobState,
    /// Why it failed or stopped.
    pub reason: Option<String>,
    /// Wall seconds of a finished job.
    pub wall_s: Option<f64>,
}

/// The jobs of the sweep folder `dir`, from their status files.
pub fn job_lines(dir: &Path) -> Result<Vec<JobLine>> {
    let mut lines = Vec::new();
    for jd in RunDir::new(dir).job_dirs()? {
        let status = jd.read_status()?;
        lines.push(JobLine {
            run_id: jd.run_id(),
            state: status.as_ref().map_or(JobState::Pending, |s| s.state),
            reason: status.as_ref().and_then(|s| s.reason.clone()),
            wall_s: status.as_ref().and_then(|s| s.wall_s),
        });
    }
    Ok(lines)
}

/// Text made safe inside HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG file's markup without its XML prolog, to sit inside the page.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// A table cell that sorts by `key` (numbers sort as numbers; empty cells last).
fn cell(text: &str, key: Option<f64>) -> String {
    match key {
        Some(k) if k.is_finite() => format!("<td data-key=\"{k}\">{}</td>", escape(text)),
        _ => format!("<td>{}</td>", escape(text)),
    }
}

/// A p-value with three decimals, or in scientific notation below 0.001.
fn p_text(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
        None => String::new(),
    }
}

fn summary_text(s: &Summary) -> String {
    match s.ci {
        Some((lo, hi)) => format!("{:.4} [{lo:.4}, {hi:.4}]", s.mean),
        None => format!("{:.4}", s.mean),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\
h1{margin-bottom:0}.sub{color:#666;margin-top:.3em}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f2f2f2;cursor:pointer;user-select:none}th.sorted{background:#dde7f3}\
td.better{background:#e3f4e3}td.worse{background:#f8e0e0}td.failed{color:#b00}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
pre{background:#f7f7f7;padding:1em;overflow:auto}p.warn{color:#8a4b00}";

/// Sorts a table by a clicked header: by `data-key` where cells have one, else by text. A link
/// ending in `#sort=K` (or `#sort=K-desc`) opens the comparison sorted by its K-th column.
const SCRIPT: &str = "document.querySelectorAll('table.sortable th').forEach(function(th,col){\
th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0];\
var up=th.dataset.dir!=='asc';t.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted');delete h.dataset.dir;});\
th.dataset.dir=up?'asc':'desc';th.classList.add('sorted');\
var rows=Array.prototype.slice.call(b.rows),key=function(r){var c=r.cells[col];\
return c.dataset.key!==undefined?parseFloat(c.dataset.key):c.textContent;};\
rows.sort(function(x,y){var a=key(x),z=key(y);var r=(typeof a==='number'&&typeof z==='number')?a-z:String(a).localeCompare(String(z));return up?r:-r;});\
rows.forEach(function(r){b.appendChild(r);});});});\
var m=/^#sort=(\\d+)(-desc)?$/.exec(location.hash);if(m){var h=document.querySelectorAll('#compare th')[+m[1]];\
if(h){h.click();if(m[2])h.click();}}\
document.body.dataset.ready='1';";

/// The page of a sweep named `name`: `figures` are (title, SVG markup) in order.
pub fn page(
    name: &str,
    folder: &str,
    rows: &[CompareRow],
    opts: &CompareOptions,
    figures: &[(String, String)],
    jobs: &[JobLine],
    experiment_yaml: &str,
) -> String {
    let count = |s: JobState| jobs.iter().filter(|j| j.state == s).count();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!("<title>weightlab: {}</title>", escape(name)));
    h.push_str(&format!("<style>{STYLE}</style></head><body>\n"));
    h.push_str(&format!("<h1>{}</h1>\n", escape(name)));
    h.push_str(&format!(
        "<p class=\"sub\">Sweep folder <code>{}</code>: {} jobs, {} done, {} failed, {} running, {} pending. weightlab {}.</p>\n",
        escape(folder),
        jobs.len(),
        count(JobState::Done),
        count(JobState::Failed),
        count(JobState::Running),
        count(JobState::Pending),
        env!("CARGO_PKG_VERSION")
    ));

    let tasks = rows.first().map(|r| r.tasks.clone()).unwrap_or_default();
    let level = (opts.level * 100.0).round();
    h.push_str(&format!(
        "<h2>Comparison</h2>\n<p>{} metrics, mean over seeds [{level} % confidence interval; accuracies cut to [0, 1]]; Δp and the per-task differences (accuracies in points, other metrics in their own unit, M − M_ref) against <b>{}</b>, paired by seed, with their intervals; p from a two-sided paired t-test (the exact sign test where every paired difference is the same), Holm-adjusted over each dataset's points; verdict at α = {}; a tie is not separated at this power (MDE: the |Δp| detected with {} % power at Holm's first level). Click a header to sort.</p>\n",
        opts.metric.as_str(),
        escape(&opts.reference_label(&tasks)),
        opts.alpha,
        (opts.power * 100.0).round()
    ));
    match sequential_sentences(rows) {
        Some(sentences) => {
            for sentence in sentences {
                h.push_str(&format!(
                    "<p class=\"detect\"><b>How these verdicts were reached.</b> {}</p>\n",
                    escape(&sentence)
                ));
            }
        }
        None => {
            for (_, sentence) in detectability(rows, opts) {
                h.push_str(&format!(
                    "<p class=\"detect\"><b>What this study can detect.</b> {}</p>\n",
                    escape(&sentence)
                ));
            }
        }
    }
    for w in warnings(rows) {
        h.push_str(&format!(
            "<p class=\"warn\"><b>Warning:</b> {}</p>\n",
            escape(&w)
        ));
    }
    let th = |s: &str| format!("<th>{}</th>", escape(s));
    let mut head: Vec<String> = ["dataset", "strategy", "seeds", "paired"]
        .iter()
        .map(|s| th(s))
        .collect();
    head.extend(tasks.iter().map(|t| th(&t.metric_label())));
    head.extend(["Δp (%)", "p", "p (Holm)", "verdict"].iter().map(|s| th(s)));
    head.extend(
        tasks
            .iter()
            .map(|t| th(&format!("Δ{} ({})", t.name, t.metric.display_unit()))),
    );
    head.extend(
        ["dominated by", "SD of Δp", "MDE (Holm)"]
            .iter()
            .map(|s| th(s)),
    );
    head.extend(tasks.iter().map(|t| th(&format!("mean w_{}", t.name))));
    head.push(th("wall s"));
    h.push_str(&format!(
        "<table id=\"compare\" class=\"sortable\"><thead><tr>{}</tr></thead><tbody>\n",
        head.concat()
    ));
    for r in rows {
        let delta = r.delta_p.map(|d| match d.ci {
            Some((lo, hi)) => format!("{:+.2} [{lo:+.2}, {hi:+.2}]", d.mean),
            None => format!("{:+.2}", d.mean),
        });
        let task = |t: &Option<TaskEffect>, task: &crate::task::Task| {
            let text = t.map_or(String::new(), |t| {
                format!(
                    "{} p_H {}",
                    effect_text(&t.summary, task),
                    p_text(t.p_holm.or(Some(t.p_value)))
                )
            });
            cell(&text, t.map(|t| t.summary.mean))
        };
        h.push_str("<tr>");
        h.push_str(&cell(&r.dataset, None));
        h.push_str(&cell(&r.point, None));
        h.push_str(&cell(&r.seeds.to_string(), Some(r.seeds as f64)));
        h.push_str(&cell(
            &r.paired_seeds.to_string(),
            Some(r.paired_seeds as f64),
        ));
        for m in &r.metrics {
            h.push_str(&cell(&summary_text(m), Some(m.mean)));
        }
        h.push_str(&cell(
            delta.as_deref().unwrap_or(""),
            r.delta_p.map(|d| d.mean),
        ));
        h.push_str(&cell(&p_text(r.p_value), r.p_value));
        h.push_str(&cell(&p_text(r.p_holm), r.p_holm));
        h.push_str(&format!(
            "<td class=\"{}\">{}</td>",
            escape(r.verdict.as_str()),
            escape(&verdict_text(r, opts.alpha))
        ));
        for (d, t) in r.deltas.iter().zip(r.tasks.iter()) {
            h.push_str(&task(d, t));
        }
        h.push_str(&cell(&dominance_text(r), None));
        let sd = r.power.map(|p| p.sd).filter(|s| s.is_finite());
        h.push_str(&cell(&sd.map_or(String::new(), |s| format!("{s:.2}")), sd));
        let mde = r.power.and_then(|p| p.mde_holm);
        h.push_str(&cell(
            &mde.map_or(String::new(), |m| format!("{m:.2}")),
            mde,
        ));
        for w in &r.mean_w {
            h.push_str(&cell(&format!("{w:.3}"), Some(*w)));
        }
        h.push_str(&cell(
            &r.wall_s.map_or(String::new(), |w| format!("{w:.1}")),
            r.wall_s,
        ));
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");

    for (title, svg) in figures {
        h.push_str(&format!(
            "<figure><figcaption><h2>{}</h2></figcaption>{}</figure>\n",
            escape(title),
            inline_svg(svg)
        ));
    }

    h.push_str("<h2>Jobs</h2>\n<table id=\"jobs\" class=\"sortable\"><thead><tr><th>run id</th><th>state</th><th>wall s</th><th>reason</th></tr></thead><tbody>\n");
    for j in jobs {
        let state = j.state.as_str();
        h.push_str("<tr>");
        h.push_str(&cell(&j.run_id, None));
        h.push_str(&format!("<td class=\"{state}\">{state}</td>"));
        h.push_str(&cell(
            &j.wall_s.map_or(String::new(), |w| format!("{w:.1}")),
            j.wall_s,
        ));
        h.push_str(&cell(j.reason.as_deref().unwrap_or(""), None));
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    h.push_str(&format!(
        "<h2>Experiment</h2>\n<pre id=\"experiment\">{}</pre>\n",
        escape(experiment_yaml)
    ));
    h.push_str(&format!("<script>{SCRIPT}</script>\n</body></html>\n"));
    h
}

/// Figure files (stem, title) inlined in the page, in this order, where present.
pub const FIGURES: [(&str, &str); 6] = [
    ("fig2", "Figure 2: each task against the static weight"),
    ("simplex", "The static grid on the simplex of the weights"),
    ("pareto", "The trade-off between the tasks"),
    ("compare", "Strategies compared"),
    ("weights", "Weight trajectories"),
    ("curves", "Each task's metric per epoch"),
];

/// Write `<out>/report.html` for the sweep folder `dirs[0]` (or the pool of `dirs`), whose
/// figures are already in `out`. The experiment shown is the first folder's; the jobs are all
/// folders'.
pub fn write(
    dirs: &[PathBuf],
    out: &Path,
    name: &str,
    rows: &[CompareRow],
    opts: &CompareOptions,
) -> Result<PathBuf> {
    let mut figures = Vec::new();
    for (stem, title) in FIGURES {
        let path = out.join(format!("{stem}.svg"));
        if let Ok(svg) = std::fs::read_to_string(&path) {
            figures.push((title.to_string(), svg));
        }
    }
    let Some(first) = dirs.first() else {
        return Err(Error::input("DIR", "DIR", "no sweep folder given"));
    };
    let yaml_path = RunDir::new(first).experiment();
    let yaml =
        std::fs::read_to_string(&yaml_path).map_err(|e| Error::io(&yaml_path, "cannot read", e))?;
    let mut jobs = Vec::new();
    for dir in dirs {
        jobs.extend(job_lines(dir)?);
    }
    let folder = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let text = page(name, &folder, rows, opts, &figures, &jobs, &yaml);
    let path = out.join("report.html");
    atomic_write(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_svg_loses_its_prolog() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg a>"), "<svg a>");
        let p = page(
            "s<1>",
            "runs/s",
            &[],
            &CompareOptions::default(),
            &[("F".into(), "<svg id=\"f\"></svg>".into())],
            &[JobLine {
                run_id: "r1".into(),
                state: JobState::Failed,
                reason: Some("non-finite <loss>".into()),
                wall_s: None,
            }],
            "name: s\n",
        );
        assert!(p.contains("<h1>s&lt;1&gt;</h1>") && p.contains("<svg id=\"f\">"));
        assert!(p.contains("non-finite &lt;loss&gt;") && p.contains("1 failed"));
        assert!(!p.contains("http"), "the page must not reach the network");
    }
}

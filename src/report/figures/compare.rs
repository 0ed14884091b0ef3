//! `compare` figure: per dataset, one row per strategy point (best Δp on top) with each task's
//! metric and its verdict against the baseline; its rows are
//! [`crate::report::compare::compare`]'s. Tasks scored by fractions (accuracies) share a panel;
//! a task with a metric of its own unit (a tilt error in degrees) gets its own.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_legend, task_colour, DrawResult, Glyph, FONT};
use crate::report::compare::{CompareOptions, CompareRow, Verdict};
use crate::report::stats::Summary;
use crate::task::Tasks;

/// The label of a row: the point, its mean Δp and its verdict.
pub fn row_label(r: &CompareRow) -> String {
    match (r.delta_p, r.verdict) {
        (_, Verdict::Baseline) => format!("{} (baseline)", r.point),
        (Some(d), Verdict::Untested) => format!("{} ({:+.1} %)", r.point, d.mean),
        (Some(d), v) => format!("{} ({:+.1} %, {})", r.point, d.mean, v.as_str()),
        (None, _) => r.point.clone(),
    }
}

/// The tasks of each panel: the fraction-scored tasks together, every other task alone.
pub fn groups(tasks: &Tasks) -> Vec<Vec<usize>> {
    let fractions: Vec<usize> = (0..tasks.len())
        .filter(|&k| tasks[k].metric.is_fraction())
        .collect();
    let mut groups = Vec::new();
    if !fractions.is_empty() {
        groups.push(fractions);
    }
    groups.extend(
        (0..tasks.len())
            .filter(|&k| !tasks[k].metric.is_fraction())
            .map(|k| vec![k]),
    );
    groups
}

/// Draw the comparison of `rows` for `datasets`: each task's metric, mean with its confidence
/// interval over seeds, and each point's Δp and verdict against the baseline in its label.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    rows: &[CompareRow],
    opts: &CompareOptions,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let tasks = rows.first().map(|r| r.tasks.clone()).unwrap_or_default();
    let groups = groups(&tasks);
    for (cell, dataset) in root.split_evenly((datasets.len(), 1)).iter().zip(datasets) {
        // The legend in a column of its own, beside the data.
        let (w, _) = cell.dim_in_pixel();
        let (plots, side) = cell.split_horizontally(w as i32 - 90);
        let mine: Vec<_> = rows.iter().filter(|r| &r.dataset == dataset).collect();
        let n = mine.len().max(1) as f64;
        let label = |k: usize| mine.get(k).map_or(String::new(), |r| row_label(r));
        // The first panel carries the row labels: it is wider by their column.
        let (pw, _) = plots.dim_in_pixel();
        let first_w = (pw as i32 - 330 * (groups.len() as i32 - 1)).max(330);
        let mut panels = Vec::new();
        let mut rest = plots.clone();
        for g in 0..groups.len() {
            if g + 1 == groups.len() {
                panels.push(rest.clone());
            } else {
                let width = if g == 0 { first_w } else { 330 };
                let (left, right) = rest.split_horizontally(width);
                panels.push(left);
                rest = right;
            }
        }
        for (g, (panel, group)) in panels.iter().zip(&groups).enumerate() {
            let fraction = tasks[group[0]].metric.is_fraction();
            let low = |s: &Summary| s.ci.map_or(s.mean, |c| c.0);
            let high = |s: &Summary| s.ci.map_or(s.mean, |c| c.1);
            let all = || {
                mine.iter()
                    .flat_map(|r| group.iter().map(|&k| r.metrics[k]))
            };
            let (lo, hi) = if fraction {
                let lo = all().map(|s| low(&s)).fold(1.0, f64::min);
                (((lo - 0.02).max(0.0) * 20.0).floor() / 20.0, 1.0)
            } else {
                let lo = all().map(|s| low(&s)).fold(f64::INFINITY, f64::min);
                let hi = all().map(|s| high(&s)).fold(f64::NEG_INFINITY, f64::max);
                let pad = 0.05 * (hi - lo).max(1e-9);
                (lo - pad, hi + pad)
            };
            let what = if fraction {
                let names: Vec<&str> = group.iter().map(|&k| tasks[k].name.as_str()).collect();
                format!("{} {}", names.join(", "), tasks[group[0]].metric.name)
            } else {
                tasks[group[0]].metric_label()
            };
            let caption = if g == 0 {
                format!(
                    "{dataset}: {} test {what} per strategy (Δp vs {}, verdict at α = {})",
                    opts.metric.as_str(),
                    opts.reference_label(&tasks),
                    opts.alpha
                )
            } else {
                format!("test {what}")
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, (FONT, 16))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(if g == 0 { 330 } else { 10 })
                .build_cartesian_2d(lo..hi, -0.5f64..n - 0.5)?;
            let ci = mine
                .iter()
                .any(|r| group.iter().any(|&k| r.metrics[k].ci.is_some()));
            chart
                .configure_mesh()
                .x_desc(if ci {
                    format!(
                        "mean over seeds, {} % confidence interval",
                        (opts.level * 100.0).round()
                    )
                } else {
                    "one seed".to_string()
                })
                .y_labels(if g == 0 { mine.len().max(1) } else { 0 })
                .y_label_formatter(&|y| {
                    let k = y.round();
                    if (y - k).abs() < 1e-6 && k >= 0.0 {
                        label(mine.len() - 1 - k as usize)
                    } else {
                        String::new()
                    }
                })
                .label_style((FONT, 12))
                .axis_desc_style((FONT, 14))
                .light_line_style(TRANSPARENT)
                .draw()?;
            for (i, &k) in group.iter().enumerate() {
                let color = task_colour(k);
                // Spread a row's tasks over ±0.15 of it, first on top.
                let offset = if group.len() == 1 {
                    0.0
                } else {
                    0.15 - 0.3 * i as f64 / (group.len() - 1) as f64
                };
                let at = |row: usize| (n - 1.0 - row as f64) + offset;
                let values: Vec<(f64, Option<(f64, f64)>)> = mine
                    .iter()
                    .map(|r| (r.metrics[k].mean, r.metrics[k].ci))
                    .collect();
                chart.draw_series(values.iter().enumerate().filter_map(|(row, (m, ci))| {
                    ci.map(|(lo, hi)| {
                        ErrorBar::new_horizontal(at(row), lo, *m, hi, color.stroke_width(1), 6)
                    })
                }))?;
                chart.draw_series(
                    values
                        .iter()
                        .enumerate()
                        .map(|(row, (m, _))| Circle::new((*m, at(row)), 4, color.filled())),
                )?;
            }
        }
        let entries: Vec<(Glyph, String)> = tasks
            .iter()
            .enumerate()
            .map(|(k, t)| (Glyph::Dot(task_colour(k)), t.name.clone()))
            .collect();
        draw_legend(&side, &entries, 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_share_a_panel_other_metrics_get_their_own() {
        let three: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
        assert_eq!(groups(&three), vec![vec![0, 1], vec![2]]);
        assert_eq!(groups(&Tasks::default()), vec![vec![0, 1]]);
    }
}

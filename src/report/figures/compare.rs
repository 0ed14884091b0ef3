//! `compare` figure: per dataset, one row per strategy point (best Δp on top) with its FV and
//! EX accuracy and its verdict against the baseline; its rows are
//! [`crate::report::compare::compare`]'s.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_legend, DrawResult, Glyph, EX, FONT, FV};
use crate::report::compare::{CompareOptions, CompareRow, Verdict};
use crate::report::stats::Summary;

/// The label of a row: the point, its mean Δp and its verdict.
pub fn row_label(r: &CompareRow) -> String {
    match (r.delta_p, r.verdict) {
        (_, Verdict::Baseline) => format!("{} (baseline)", r.point),
        (Some(d), Verdict::Untested) => format!("{} ({:+.1} %)", r.point, d.mean),
        (Some(d), v) => format!("{} ({:+.1} %, {})", r.point, d.mean, v.as_str()),
        (None, _) => r.point.clone(),
    }
}

/// Draw the comparison of `rows` for `datasets`: FV and EX accuracy, mean with its confidence
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
    for (cell, dataset) in root.split_evenly((datasets.len(), 1)).iter().zip(datasets) {
        // The legend in a column of its own, beside the data.
        let (w, _) = cell.dim_in_pixel();
        let (panel, side) = cell.split_horizontally(w as i32 - 70);
        let panel = &panel;
        let mine: Vec<_> = rows.iter().filter(|r| &r.dataset == dataset).collect();
        let n = mine.len().max(1) as f64;
        let low = |s: &Summary| s.ci.map_or(s.mean, |c| c.0);
        let lo = mine
            .iter()
            .flat_map(|r| [low(&r.fv), low(&r.ex)])
            .fold(1.0, f64::min);
        let lo = ((lo - 0.02).max(0.0) * 20.0).floor() / 20.0;
        let label = |k: usize| mine.get(k).map_or(String::new(), |r| row_label(r));
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{dataset}: {} test accuracy per strategy (Δp vs {}, verdict at α = {})",
                    opts.metric.as_str(),
                    opts.baseline_label(),
                    opts.alpha
                ),
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(330)
            .build_cartesian_2d(lo..1.0f64, -0.5f64..n - 0.5)?;
        chart
            .configure_mesh()
            .x_desc(if mine.iter().any(|r| r.fv.ci.is_some()) {
                format!(
                    "test accuracy (mean over seeds, {} % confidence interval)",
                    (opts.level * 100.0).round()
                )
            } else {
                "test accuracy (one seed)".to_string()
            })
            .y_labels(mine.len().max(1))
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
        for (task, color, offset) in [("FV", FV, 0.15), ("EX", EX, -0.15)] {
            let at = |k: usize| (n - 1.0 - k as f64) + offset;
            let values: Vec<(f64, Option<(f64, f64)>)> = mine
                .iter()
                .map(|r| {
                    let s = if task == "FV" { &r.fv } else { &r.ex };
                    (s.mean, s.ci)
                })
                .collect();
            chart.draw_series(values.iter().enumerate().filter_map(|(k, (m, ci))| {
                ci.map(|(lo, hi)| {
                    ErrorBar::new_horizontal(at(k), lo, *m, hi, color.stroke_width(1), 6)
                })
            }))?;
            chart.draw_series(
                values
                    .iter()
                    .enumerate()
                    .map(|(k, (m, _))| Circle::new((*m, at(k)), 4, color.filled())),
            )?;
        }
        draw_legend(
            &side,
            &[(Glyph::Dot(FV), "FV".into()), (Glyph::Dot(EX), "EX".into())],
            1,
        )?;
    }
    Ok(())
}

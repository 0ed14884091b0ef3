//! `compare` figure: per dataset, one row per strategy point (best Δp on top) with its FV and
//! EX accuracy; its rows are [`crate::report::compare::compare`]'s.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, DrawResult, EX, FONT, FV};
use crate::report::compare::CompareRow;
use crate::report::Metric;

/// Draw the comparison of `rows` for `datasets`: FV and EX accuracy, mean ± std over seeds,
/// and each point's Δp against static 0.5 in its label.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    rows: &[CompareRow],
    metric: Metric,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    for (panel, dataset) in root.split_evenly((datasets.len(), 1)).iter().zip(datasets) {
        let mine: Vec<_> = rows.iter().filter(|r| &r.dataset == dataset).collect();
        let n = mine.len().max(1) as f64;
        let lo = mine
            .iter()
            .flat_map(|r| {
                [
                    r.fv_mean - r.fv_std.unwrap_or(0.0),
                    r.ex_mean - r.ex_std.unwrap_or(0.0),
                ]
            })
            .fold(1.0, f64::min);
        let lo = ((lo - 0.02).max(0.0) * 20.0).floor() / 20.0;
        let label = |k: usize| {
            mine.get(k).map_or(String::new(), |r| match r.delta_p {
                Some(d) => format!("{} ({d:+.1} %)", r.point),
                None => r.point.clone(),
            })
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{dataset}: {} test accuracy per strategy (Δp vs static 0.5)",
                    metric.as_str()
                ),
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(330)
            .build_cartesian_2d(lo..1.0f64, -0.5f64..n - 0.5)?;
        chart
            .configure_mesh()
            .x_desc(if mine.iter().any(|r| r.fv_std.is_some()) {
                "test accuracy (mean ± std over seeds)"
            } else {
                "test accuracy (one seed)"
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
            let values: Vec<(f64, Option<f64>)> = mine
                .iter()
                .map(|r| {
                    if task == "FV" {
                        (r.fv_mean, r.fv_std)
                    } else {
                        (r.ex_mean, r.ex_std)
                    }
                })
                .collect();
            chart.draw_series(values.iter().enumerate().filter_map(|(k, (m, s))| {
                s.map(|s| {
                    ErrorBar::new_horizontal(at(k), m - s, *m, m + s, color.stroke_width(1), 6)
                })
            }))?;
            chart
                .draw_series(
                    values
                        .iter()
                        .enumerate()
                        .map(|(k, (m, _))| Circle::new((*m, at(k)), 4, color.filled())),
                )?
                .label(task)
                .legend(move |(x, y)| Circle::new((x + 12, y), 4, color.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    Ok(())
}

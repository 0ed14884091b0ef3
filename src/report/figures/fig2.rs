//! Figure 2 of a two-task study: each task's metric against the static w1 (FV and EX accuracy
//! in the paper's study), with each dynamic strategy as a horizontal line per task. [`panels`]
//! computes what is drawn; [`draw`] lays it out. A study of three tasks draws its static grid
//! on the simplex instead (`simplex.rs`).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{dash, draw_legend, DrawResult, Glyph, FONT, LEGEND_ROW, TASK_COLOURS};
use crate::report::load::{Metric, Point};
use crate::report::stats::Summary;
use crate::task::Tasks;

/// A task's accuracy at one strategy point: the mean over seeds and the half-width of its bar
/// or band, the confidence interval of the mean (`None` with one seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Mean over seeds.
    pub mean: f64,
    /// Half-width of the confidence interval of the mean.
    pub spread: Option<f64>,
}

impl Stat {
    fn of(values: &[f64], level: f64) -> Self {
        let s = Summary::of(values, level);
        Self {
            mean: s.mean,
            spread: s.half_width(),
        }
    }

    fn low(&self) -> f64 {
        self.mean - self.spread.unwrap_or(0.0)
    }
}

/// One dataset's panel of Figure 2.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Dataset label.
    pub dataset: String,
    /// Most seeds of any point.
    pub seeds: usize,
    /// Static points by w1: (w1, FV, EX).
    pub statics: Vec<(f64, Stat, Stat)>,
    /// Dynamic points: (label, FV, EX).
    pub dynamics: Vec<(String, Stat, Stat)>,
}

impl Panel {
    /// The static w1 with the best mean metric of the first task (`first`) or the second,
    /// and that metric (the last such w1 on ties); `sign` is +1 where higher is better, −1
    /// where lower is.
    pub fn best(&self, first: bool, sign: f64) -> Option<(f64, f64)> {
        self.statics
            .iter()
            .map(|(w, f, e)| (*w, if first { f.mean } else { e.mean }))
            .max_by(|a, b| (sign * a.1).total_cmp(&(sign * b.1)))
    }

    /// The lowest and highest values any bar or band reaches.
    fn range(&self) -> (f64, f64) {
        let all = self
            .statics
            .iter()
            .flat_map(|(_, f, e)| [*f, *e])
            .chain(self.dynamics.iter().flat_map(|(_, f, e)| [*f, *e]));
        all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
            let h = s.spread.unwrap_or(0.0);
            (lo.min(s.mean - h), hi.max(s.mean + h))
        })
    }

    /// The lowest value any bar or band reaches.
    fn lowest(&self) -> f64 {
        self.statics
            .iter()
            .flat_map(|(_, f, e)| [f.low(), e.low()])
            .chain(
                self.dynamics
                    .iter()
                    .flat_map(|(_, f, e)| [f.low(), e.low()]),
            )
            .fold(1.0, f64::min)
    }
}

/// The panels of `datasets` under `metric`, with `level` confidence intervals.
pub fn panels(datasets: &[String], points: &[Point<'_>], metric: Metric, level: f64) -> Vec<Panel> {
    datasets
        .iter()
        .map(|dataset| {
            let mine: Vec<&Point<'_>> = points.iter().filter(|p| &p.dataset == dataset).collect();
            let stats = |p: &Point<'_>| {
                let acc: Vec<Vec<f64>> = p.jobs.iter().map(|j| j.metrics(metric)).collect();
                (
                    Stat::of(&acc.iter().map(|a| a[0]).collect::<Vec<_>>(), level),
                    Stat::of(&acc.iter().map(|a| a[1]).collect::<Vec<_>>(), level),
                )
            };
            Panel {
                dataset: dataset.clone(),
                seeds: mine.iter().map(|p| p.jobs.len()).max().unwrap_or(1),
                statics: mine
                    .iter()
                    .filter_map(|p| {
                        let (fv, ex) = stats(p);
                        p.static_w1().map(|w| (w, fv, ex))
                    })
                    .collect(),
                dynamics: mine
                    .iter()
                    .filter(|p| p.static_w.is_none())
                    .map(|p| {
                        let (fv, ex) = stats(p);
                        (p.label.clone(), fv, ex)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Right margin of a Figure-2 panel: room for the longest dynamic label, about 7 px a
/// character at 12 px (labels such as `l3 normalize_logits=true FV 0.955`).
pub fn margin(points: &[Point<'_>]) -> u32 {
    let longest = points
        .iter()
        .filter(|p| p.static_w.is_none())
        .map(|p| p.label.chars().count() + 9)
        .max();
    longest.map_or(12, |n| 16 + 7 * n as u32)
}

/// Height of the legend under a Figure-2 panel: two columns of entries (each dynamic
/// strategy, the two static curves and the two best points).
pub fn legend_height(points: &[Point<'_>]) -> u32 {
    let dynamics = points.iter().filter(|p| p.static_w.is_none()).count();
    let rows = (dynamics + 4).div_ceil(2) as u32;
    rows * LEGEND_ROW as u32 + 16
}

/// Spread label heights so that no two are closer than `gap`, keeping their order.
fn spread(mut ys: Vec<(f64, usize)>, gap: f64, lo: f64, hi: f64) -> Vec<(f64, usize)> {
    ys.sort_by(|a, b| a.0.total_cmp(&b.0));
    for i in 1..ys.len() {
        if ys[i].0 < ys[i - 1].0 + gap {
            ys[i].0 = ys[i - 1].0 + gap;
        }
    }
    // Shift the whole stack down if it ran off the top.
    if let Some(last) = ys.last().map(|l| l.0) {
        if last > hi {
            let shift = last - hi;
            for y in ys.iter_mut() {
                y.0 = (y.0 - shift).max(lo);
            }
        }
    }
    ys
}

/// Draw Figure 2 of `points`, one panel per dataset of `datasets`.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    points: &[Point<'_>],
    tasks: &Tasks,
    metric: Metric,
    level: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let names = [tasks[0].name.as_str(), tasks[1].name.as_str()];
    let metric_name = if tasks[0].metric == tasks[1].metric {
        tasks[0].metric.name.clone()
    } else {
        "metric".to_string()
    };
    let signs = [
        tasks[0].metric.direction().sign(),
        tasks[1].metric.direction().sign(),
    ];
    let (fv_colour, ex_colour) = (TASK_COLOURS[0], TASK_COLOURS[1]);
    let areas = root.split_evenly((1, datasets.len()));
    for (cell, data) in areas.iter().zip(panels(datasets, points, metric, level)) {
        // The legend goes under the plot, never on its data.
        let (_, h) = cell.dim_in_pixel();
        let (panel, legend_area) = cell.split_vertically(h as i32 - legend_height(points) as i32);
        let panel = &panel;
        let mut entries: Vec<(Glyph, String)> = Vec::new();
        let Panel {
            dataset,
            seeds,
            statics,
            dynamics,
        } = &data;
        let fractions = tasks[0].metric.is_fraction() && tasks[1].metric.is_fraction();
        let (y_lo, y_hi) = if fractions {
            let y_lo = (data.lowest() - 0.08).clamp(0.0, 0.9);
            ((y_lo * 10.0).floor() / 10.0, 1.03)
        } else {
            let (lo, hi) = data.range();
            let pad = 0.08 * (hi - lo).max(1e-9);
            (lo - pad, hi + pad)
        };

        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{dataset}: {metric_name} vs static w1 ({} epoch, {seeds} seed{})",
                    metric.as_str(),
                    if *seeds == 1 { "" } else { "s" }
                ),
                (FONT, 17),
            )
            .margin(12)
            // Room on the right for the dynamic strategies' labels.
            .margin_right(margin(points))
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.03f64..1.03f64, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "static w1 ({} weight; the {} weight is 1 − w1)",
                names[0], names[1]
            ))
            .y_desc(if *seeds > 1 {
                format!(
                    "test {metric_name} (mean, {} % CI over seeds)",
                    (level * 100.0).round()
                )
            } else {
                format!("test {metric_name}")
            })
            .x_labels(11)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .draw()?;

        // Dynamic strategies first, so that the static curves stay on top: a horizontal line
        // per task with its confidence band, labelled in the right margin.
        let mut labels: Vec<(f64, usize)> = Vec::new();
        let mut texts: Vec<(String, RGBColor)> = Vec::new();
        for (k, (label, fv, ex)) in dynamics.iter().enumerate() {
            let (size, gap) = dash(k);
            for (task, Stat { mean: m, spread: s }, color) in
                [(names[0], *fv, fv_colour), (names[1], *ex, ex_colour)]
            {
                if let Some(s) = s {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(-0.03, m - s), (1.03, m + s)],
                        color.mix(0.10).filled(),
                    )))?;
                }
                let line = chart.draw_series(DashedLineSeries::new(
                    vec![(-0.03, m), (1.03, m)],
                    size,
                    gap,
                    color.stroke_width(2),
                ))?;
                let _ = line;
                if task == names[0] {
                    entries.push((
                        Glyph::Line(BLACK, Some((size, gap))),
                        format!("{label} (dynamic; {} and {})", names[0], names[1]),
                    ));
                }
                let y_px = chart.backend_coord(&(1.03, m)).1 as f64;
                labels.push((y_px, texts.len()));
                texts.push((format!("{label} {task} {m:.3}"), color));
            }
        }
        let (right_px, _) = chart.backend_coord(&(1.03, y_hi));
        let (base_x, base_y) = panel.get_base_pixel();
        let (top_px, bottom_px) = (
            chart.backend_coord(&(0.0, y_hi)).1 as f64,
            chart.backend_coord(&(0.0, y_lo)).1 as f64,
        );
        for (y, i) in spread(labels, 15.0, top_px, bottom_px) {
            let (text, color) = &texts[i];
            panel.draw(&Text::new(
                text.clone(),
                (right_px - base_x + 6, y as i32 - base_y - 7),
                TextStyle::from((FONT, 12).into_font()).color(color),
            ))?;
        }

        // Static grid: mean with its confidence interval per task, and the best w1 of each task.
        for (k, color) in [(0, fv_colour), (1, ex_colour)] {
            let task = names[k];
            let series: Vec<(f64, f64, Option<f64>)> = statics
                .iter()
                .map(|(w, fv, ex)| {
                    let s = if k == 0 { fv } else { ex };
                    (*w, s.mean, s.spread)
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let name = format!("{task} (static w1)");
            chart.draw_series(LineSeries::new(
                series.iter().map(|s| (s.0, s.1)),
                color.stroke_width(2),
            ))?;
            entries.push((Glyph::Line(color, None), name.to_string()));
            chart.draw_series(
                series
                    .iter()
                    .map(|s| Circle::new((s.0, s.1), 4, color.filled())),
            )?;
            chart.draw_series(series.iter().filter_map(|s| {
                s.2.map(|sd| {
                    ErrorBar::new_vertical(s.0, s.1 - sd, s.1, s.1 + sd, color.stroke_width(1), 8)
                })
            }))?;
            if let Some(best) = data.best(k == 0, signs[k]) {
                chart.draw_series(std::iter::once(TriangleMarker::new(
                    (best.0, best.1),
                    9,
                    color.filled(),
                )))?;
                entries.push((
                    Glyph::Triangle(color),
                    format!(
                        "best mean {task}: w1={} ({:.3})",
                        crate::strategy::format_w1(best.0),
                        best.1
                    ),
                ));
            }
        }
        draw_legend(&legend_area, &entries, 2)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_and_lowest_follow_the_statics() {
        let s = |mean, spread| Stat { mean, spread };
        let panel = Panel {
            dataset: "d".into(),
            seeds: 2,
            statics: vec![
                (0.0, s(0.5, Some(0.1)), s(0.9, None)),
                (0.5, s(0.8, Some(0.05)), s(0.7, None)),
                (1.0, s(0.7, None), s(0.3, Some(0.02))),
            ],
            dynamics: vec![("dynamic".into(), s(0.6, Some(0.3)), s(0.6, None))],
        };
        assert_eq!(panel.best(true, 1.0), Some((0.5, 0.8)));
        assert_eq!(panel.best(false, 1.0), Some((0.0, 0.9)));
        assert_eq!(panel.best(false, -1.0), Some((1.0, 0.3)));
        assert!((panel.lowest() - 0.28).abs() < 1e-12);
        let spread = spread(vec![(10.0, 0), (12.0, 1), (40.0, 2)], 15.0, 0.0, 100.0);
        assert_eq!(spread, vec![(10.0, 0), (25.0, 1), (40.0, 2)]);
    }
}

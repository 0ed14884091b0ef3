//! The Pareto view: per dataset and pair of tasks, one task's metric against the other's
//! (FV accuracy against EX accuracy in the paper's study; a panel per pair of tasks with more).
//! Each static point with its confidence interval on both metrics (a cross), the static front
//! (the static points that no other static point beats on every task's mean; with two tasks a
//! line, with more its points ringed in every panel), and each dynamic strategy placed on it,
//! labelled with its outcome from `compare`: dominated by a static point after the paired
//! tests, or not. [`panels`] computes what is drawn; [`draw`] lays it out, the legend beside
//! the plot.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_legend, DrawResult, Glyph, DYNAMIC, FONT, LEGEND_ROW};
use crate::report::compare::{CompareOptions, CompareRow};
use crate::report::stats::Summary;
use crate::strategy::format_w1;
use crate::task::Tasks;

/// A point of the Pareto view: each task's metric over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Point label.
    pub label: String,
    /// The weights of a static point.
    pub static_w: Option<Vec<f64>>,
    /// Each task's metric: mean and interval.
    pub metrics: Vec<Summary>,
    /// The static point that dominates it after the paired tests, if any.
    pub dominated_by: Option<String>,
}

/// One dataset's panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Dataset label.
    pub dataset: String,
    /// Static points, in the order of their weights.
    pub statics: Vec<Place>,
    /// Dynamic points.
    pub dynamics: Vec<Place>,
    /// Indices into `statics` of the static front.
    pub front: Vec<usize>,
}

/// The pairs of tasks (i, j), i < j, that get a panel.
pub fn pairs(tasks: usize) -> Vec<(usize, usize)> {
    (0..tasks)
        .flat_map(|i| (i + 1..tasks).map(move |j| (i, j)))
        .collect()
}

/// The indices of the points that no other point beats on every mean (at least as good on
/// each task, better on one; `signs` turn each metric so that higher is better), ordered by
/// the first task's mean.
pub fn front(points: &[Place], signs: &[f64]) -> Vec<usize> {
    let beats = |a: &Place, b: &Place| {
        let (mut all, mut one) = (true, false);
        for (k, s) in signs.iter().enumerate() {
            let (x, y) = (s * a.metrics[k].mean, s * b.metrics[k].mean);
            all &= x >= y;
            one |= x > y;
        }
        all && one
    };
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| !points.iter().any(|o| beats(o, &points[i])))
        .collect();
    idx.sort_by(|&a, &b| {
        points[a].metrics[0]
            .mean
            .total_cmp(&points[b].metrics[0].mean)
    });
    idx
}

/// The panels of `datasets` from the comparison `rows`.
pub fn panels(datasets: &[String], rows: &[CompareRow]) -> Vec<Panel> {
    let signs: Vec<f64> = rows
        .first()
        .map(|r| {
            r.tasks
                .iter()
                .map(|t| t.metric.direction().sign())
                .collect()
        })
        .unwrap_or_default();
    datasets
        .iter()
        .map(|dataset| {
            let place = |r: &CompareRow| Place {
                label: r.point.clone(),
                static_w: r.static_w.clone(),
                metrics: r.metrics.clone(),
                dominated_by: r.dominated_by.clone(),
            };
            let mine = rows.iter().filter(|r| &r.dataset == dataset);
            let mut statics: Vec<Place> = mine
                .clone()
                .filter(|r| r.static_w.is_some())
                .map(place)
                .collect();
            statics.sort_by(|a, b| {
                a.static_w
                    .partial_cmp(&b.static_w)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let mut dynamics: Vec<Place> =
                mine.filter(|r| r.static_w.is_none()).map(place).collect();
            dynamics.sort_by(|a, b| a.label.cmp(&b.label));
            Panel {
                dataset: dataset.clone(),
                front: front(&statics, &signs),
                statics,
                dynamics,
            }
        })
        .collect()
}

/// A dynamic point's legend text: its label and its outcome.
pub fn outcome(p: &Place) -> String {
    match &p.dominated_by {
        Some(s) => format!("{}: dominated by {s}", p.label),
        None => format!("{}: not dominated", p.label),
    }
}

/// Width of the legend column beside each panel.
pub fn legend_width(rows: &[CompareRow]) -> u32 {
    let longest = rows
        .iter()
        .filter(|r| r.static_w.is_none())
        .map(|r| {
            r.point.chars().count()
                + r.dominated_by
                    .as_ref()
                    .map_or(16, |s| 16 + s.chars().count())
        })
        .max()
        .unwrap_or(0)
        .max(34) as u32;
    60 + 7 * longest
}

fn bounds(s: &Summary) -> (f64, f64) {
    s.ci.unwrap_or((s.mean, s.mean))
}

/// A static point's short label in a panel: its w1 with two tasks, its weights with more.
fn weights_label(w: &[f64]) -> String {
    match w {
        [w1, _] => format_w1(*w1),
        _ => w
            .iter()
            .map(|x| format_w1(*x))
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// The axis range of task `k` over `places`: [floor, 1] for fractions, padded otherwise.
fn axis(places: &[&Place], k: usize, fraction: bool) -> (f64, f64) {
    let lo = places
        .iter()
        .map(|p| bounds(&p.metrics[k]).0)
        .fold(f64::INFINITY, f64::min);
    let hi = places
        .iter()
        .map(|p| bounds(&p.metrics[k]).1)
        .fold(f64::NEG_INFINITY, f64::max);
    if fraction {
        let lo = lo.min(1.0);
        ((((lo - 0.02).max(0.0)) * 20.0).floor() / 20.0, 1.005)
    } else {
        let pad = 0.05 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    }
}

/// Draw the Pareto view of `rows`: with two tasks one panel per dataset (two per row), with
/// more a row of panels per dataset, one per pair of tasks (three per row); each panel with
/// its legend to its right.
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
    let tasks: Tasks = rows.first().map(|r| r.tasks.clone()).unwrap_or_default();
    let pairs = pairs(tasks.len());
    let n = datasets.len().max(1);
    let cells = if pairs.len() == 1 {
        root.split_evenly((n.div_ceil(2), n.min(2)))
    } else {
        let per_row = pairs.len().min(3);
        root.split_evenly((n * pairs.len().div_ceil(per_row), per_row))
    };
    let legend_w = legend_width(rows) as i32;
    let jobs = panels(datasets, rows)
        .into_iter()
        .flat_map(|data| pairs.iter().map(move |&pair| (data.clone(), pair)));
    for (cell, (data, (i, j))) in cells.iter().zip(jobs) {
        let (w, _) = cell.dim_in_pixel();
        let (plot, side) = cell.split_horizontally(w as i32 - legend_w);
        let all: Vec<&Place> = data.statics.iter().chain(&data.dynamics).collect();
        let (x_lo, x_hi) = axis(&all, i, tasks[i].metric.is_fraction());
        let (y_lo, y_hi) = axis(&all, j, tasks[j].metric.is_fraction());
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!(
                    "{}: {} against {} ({} epoch)",
                    data.dataset,
                    tasks[i].name,
                    tasks[j].name,
                    opts.metric.as_str()
                ),
                (FONT, 17),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
        let level = (opts.level * 100.0).round();
        let desc = |k: usize| {
            format!(
                "{} (mean, {level} % CI; {} is better)",
                tasks[k].metric_label(),
                tasks[k].metric.direction().as_str()
            )
        };
        chart
            .configure_mesh()
            .x_desc(desc(i))
            .y_desc(desc(j))
            .x_label_formatter(&|x| format!("{x:.2}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .draw()?;

        let grey = RGBColor(90, 90, 90);
        let front_grey = RGBColor(150, 150, 150);
        let at = |p: &Place| (p.metrics[i].mean, p.metrics[j].mean);
        // The static front under everything else: a line with two tasks, rings with more.
        if pairs.len() == 1 {
            chart.draw_series(std::iter::once(PathElement::new(
                data.front
                    .iter()
                    .map(|&k| at(&data.statics[k]))
                    .collect::<Vec<_>>(),
                front_grey.stroke_width(3),
            )))?;
        } else {
            chart.draw_series(
                data.front
                    .iter()
                    .map(|&k| Circle::new(at(&data.statics[k]), 8, front_grey.stroke_width(2))),
            )?;
        }
        let cross = |p: &Place, color: RGBColor| {
            let (xl, xh) = bounds(&p.metrics[i]);
            let (yl, yh) = bounds(&p.metrics[j]);
            let (x, y) = at(p);
            [
                PathElement::new(vec![(xl, y), (xh, y)], color.stroke_width(1)),
                PathElement::new(vec![(x, yl), (x, yh)], color.stroke_width(1)),
            ]
        };
        for p in &data.statics {
            chart.draw_series(cross(p, grey))?;
            chart.draw_series(std::iter::once(Circle::new(at(p), 4, grey.filled())))?;
            let w = p.static_w.as_deref().map_or(String::new(), weights_label);
            let px = chart.backend_coord(&at(p));
            let base = plot.get_base_pixel();
            plot.draw(&Text::new(
                w,
                (px.0 - base.0 + 5, px.1 - base.1 - 15),
                (FONT, 11).into_font().color(&grey),
            ))?;
        }
        let names = if tasks.len() == 2 {
            "static w1 (labelled), CI cross".to_string()
        } else {
            format!("static {} (labelled), CI cross", tasks.names().join("/"))
        };
        let front_text = if pairs.len() == 1 {
            "static front (means)"
        } else {
            "static front over all tasks (ringed)"
        };
        let mut entries = vec![
            (Glyph::Dot(grey), names),
            (Glyph::Line(front_grey, None), front_text.to_string()),
        ];
        for (k, p) in data.dynamics.iter().enumerate() {
            let color = DYNAMIC[k % DYNAMIC.len()];
            chart.draw_series(cross(p, color))?;
            let (x, y) = chart.backend_coord(&at(p));
            let base = plot.get_base_pixel();
            let (x, y) = (x - base.0, y - base.1);
            plot.draw(&Polygon::new(
                vec![(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y)],
                color.filled(),
            ))?;
            entries.push((Glyph::Diamond(color), outcome(p)));
        }
        let (_, h) = side.dim_in_pixel();
        let top = (h as i32 - entries.len() as i32 * LEGEND_ROW) / 3;
        let (_, below) = side.split_vertically(top.max(0));
        draw_legend(&below, &entries, 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(label: &str, fv: f64, ex: f64) -> Place {
        place_n(label, &[fv, ex])
    }

    fn place_n(label: &str, metrics: &[f64]) -> Place {
        let s = |mean| Summary {
            n: 1,
            mean,
            std: None,
            ci: None,
        };
        Place {
            label: label.into(),
            static_w: None,
            metrics: metrics.iter().map(|m| s(*m)).collect(),
            dominated_by: None,
        }
    }

    #[test]
    fn the_front_keeps_what_nothing_beats_on_both_means() {
        let points = [
            place("a", 0.90, 0.70),
            place("b", 0.85, 0.90),
            place("c", 0.80, 0.85), // beaten by b on both
            place("d", 0.95, 0.50),
            place("e", 0.90, 0.60), // beaten by a: equal FV, lower EX
        ];
        assert_eq!(front(&points, &[1.0, 1.0]), vec![1, 0, 3]);
        let mut dominated = place("dynamic", 0.9, 0.2);
        assert_eq!(outcome(&dominated), "dynamic: not dominated");
        dominated.dominated_by = Some("static w1=0.9".into());
        assert_eq!(outcome(&dominated), "dynamic: dominated by static w1=0.9");
    }

    #[test]
    fn the_front_over_three_tasks_reads_each_direction() {
        // The third metric is an error: lower is better.
        let points = [
            place_n("a", &[0.9, 0.7, 3.0]),
            place_n("b", &[0.9, 0.7, 2.0]), // beats a on the error alone
            place_n("c", &[0.8, 0.8, 4.0]), // worse error, better ex: on the front
            place_n("d", &[0.7, 0.6, 5.0]), // beaten by every other
        ];
        assert_eq!(front(&points, &[1.0, 1.0, -1.0]), vec![2, 1]);
        assert_eq!(pairs(3), vec![(0, 1), (0, 2), (1, 2)]);
    }
}

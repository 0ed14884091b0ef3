//! The Pareto view: per dataset, FV accuracy against EX accuracy. Each static point with its
//! confidence interval on both tasks (a cross), the static front (the static points that no
//! other static point beats on both means), and each dynamic strategy placed on it, labelled
//! with its outcome from `compare`: dominated by a static point after the paired tests, or not.
//! [`panels`] computes what is drawn; [`draw`] lays it out, the legend beside the plot.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_legend, DrawResult, Glyph, DYNAMIC, FONT, LEGEND_ROW};
use crate::report::compare::{CompareOptions, CompareRow};
use crate::report::stats::Summary;

/// A point of the Pareto view: FV and EX accuracy over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Point label.
    pub label: String,
    /// Fixed w1 of a static point.
    pub static_w1: Option<f64>,
    /// FV accuracy: mean and interval.
    pub fv: Summary,
    /// EX accuracy: mean and interval.
    pub ex: Summary,
    /// The static point that dominates it after the paired tests, if any.
    pub dominated_by: Option<String>,
}

/// One dataset's panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Dataset label.
    pub dataset: String,
    /// Static points by w1.
    pub statics: Vec<Place>,
    /// Dynamic points.
    pub dynamics: Vec<Place>,
    /// Indices into `statics` of the static front, by increasing FV.
    pub front: Vec<usize>,
}

/// The indices of the points that no other point beats on both means (at least as high on both,
/// higher on one), ordered by FV.
pub fn front(points: &[Place]) -> Vec<usize> {
    let beats = |a: &Place, b: &Place| {
        a.fv.mean >= b.fv.mean
            && a.ex.mean >= b.ex.mean
            && (a.fv.mean > b.fv.mean || a.ex.mean > b.ex.mean)
    };
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| !points.iter().any(|o| beats(o, &points[i])))
        .collect();
    idx.sort_by(|&a, &b| points[a].fv.mean.total_cmp(&points[b].fv.mean));
    idx
}

/// The panels of `datasets` from the comparison `rows`.
pub fn panels(datasets: &[String], rows: &[CompareRow]) -> Vec<Panel> {
    datasets
        .iter()
        .map(|dataset| {
            let place = |r: &CompareRow| Place {
                label: r.point.clone(),
                static_w1: r.static_w1,
                fv: r.fv,
                ex: r.ex,
                dominated_by: r.dominated_by.clone(),
            };
            let mine = rows.iter().filter(|r| &r.dataset == dataset);
            let mut statics: Vec<Place> = mine
                .clone()
                .filter(|r| r.static_w1.is_some())
                .map(place)
                .collect();
            statics.sort_by(|a, b| {
                a.static_w1
                    .unwrap_or(0.0)
                    .total_cmp(&b.static_w1.unwrap_or(0.0))
            });
            let mut dynamics: Vec<Place> =
                mine.filter(|r| r.static_w1.is_none()).map(place).collect();
            dynamics.sort_by(|a, b| a.label.cmp(&b.label));
            Panel {
                dataset: dataset.clone(),
                front: front(&statics),
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
        .filter(|r| r.static_w1.is_none())
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

/// Draw the Pareto view of `rows`, one panel per dataset (two per row), each with its legend
/// to its right.
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
    let n = datasets.len().max(1);
    let cells = root.split_evenly((n.div_ceil(2), n.min(2)));
    let legend_w = legend_width(rows) as i32;
    for (cell, data) in cells.iter().zip(panels(datasets, rows)) {
        let (w, _) = cell.dim_in_pixel();
        let (plot, side) = cell.split_horizontally(w as i32 - legend_w);
        let all = data.statics.iter().chain(&data.dynamics);
        let (mut x_lo, mut y_lo) = (1.0f64, 1.0f64);
        for p in all {
            x_lo = x_lo.min(bounds(&p.fv).0);
            y_lo = y_lo.min(bounds(&p.ex).0);
        }
        let floor = |v: f64| (((v - 0.02).max(0.0)) * 20.0).floor() / 20.0;
        let (x_lo, y_lo) = (floor(x_lo), floor(y_lo));
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!(
                    "{}: FV against EX ({} epoch)",
                    data.dataset,
                    opts.metric.as_str()
                ),
                (FONT, 17),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(x_lo..1.005f64, y_lo..1.005f64)?;
        let level = (opts.level * 100.0).round();
        chart
            .configure_mesh()
            .x_desc(format!("face-verification accuracy (mean, {level} % CI)"))
            .y_desc(format!("expression accuracy (mean, {level} % CI)"))
            .x_label_formatter(&|x| format!("{x:.2}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .draw()?;

        let grey = RGBColor(90, 90, 90);
        // The static front under everything else.
        chart.draw_series(std::iter::once(PathElement::new(
            data.front
                .iter()
                .map(|&i| (data.statics[i].fv.mean, data.statics[i].ex.mean))
                .collect::<Vec<_>>(),
            RGBColor(150, 150, 150).stroke_width(3),
        )))?;
        let cross = |p: &Place, color: RGBColor| {
            let (fl, fh) = bounds(&p.fv);
            let (el, eh) = bounds(&p.ex);
            [
                PathElement::new(
                    vec![(fl, p.ex.mean), (fh, p.ex.mean)],
                    color.stroke_width(1),
                ),
                PathElement::new(
                    vec![(p.fv.mean, el), (p.fv.mean, eh)],
                    color.stroke_width(1),
                ),
            ]
        };
        for p in &data.statics {
            chart.draw_series(cross(p, grey))?;
            chart.draw_series(std::iter::once(Circle::new(
                (p.fv.mean, p.ex.mean),
                4,
                grey.filled(),
            )))?;
            let w = p
                .static_w1
                .map_or(String::new(), crate::strategy::format_w1);
            let at = chart.backend_coord(&(p.fv.mean, p.ex.mean));
            let base = plot.get_base_pixel();
            plot.draw(&Text::new(
                w,
                (at.0 - base.0 + 5, at.1 - base.1 - 15),
                (FONT, 11).into_font().color(&grey),
            ))?;
        }
        let mut entries = vec![
            (
                Glyph::Dot(grey),
                "static w1 (labelled), CI cross".to_string(),
            ),
            (
                Glyph::Line(RGBColor(150, 150, 150), None),
                "static front (means)".to_string(),
            ),
        ];
        for (k, p) in data.dynamics.iter().enumerate() {
            let color = DYNAMIC[k % DYNAMIC.len()];
            chart.draw_series(cross(p, color))?;
            let (x, y) = chart.backend_coord(&(p.fv.mean, p.ex.mean));
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
        let s = |mean| Summary {
            n: 1,
            mean,
            std: None,
            ci: None,
        };
        Place {
            label: label.into(),
            static_w1: None,
            fv: s(fv),
            ex: s(ex),
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
        assert_eq!(front(&points), vec![1, 0, 3]);
        let mut dominated = place("dynamic", 0.9, 0.2);
        assert_eq!(outcome(&dominated), "dynamic: not dominated");
        dominated.dominated_by = Some("static w1=0.9".into());
        assert_eq!(outcome(&dominated), "dynamic: dominated by static w1=0.9");
    }
}

//! `simplex` figure: Figure 2's analogue for three tasks. The static grid lies on the simplex
//! of the three weights (a ternary map: each corner gives one task all the weight); one panel
//! per task shows its metric at every static point, and a fourth the point's Δp against the
//! reference, each point coloured from worst to best and labelled with its value and seed
//! count. [`marks`] computes what is drawn; [`draw`] lays it out.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DrawResult, FONT};
use crate::report::compare::{CompareOptions, CompareRow, Verdict};
use crate::task::Tasks;

/// Side of one panel, in pixels.
pub const PANEL: u32 = 470;

/// One static point of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The weights, in task order.
    pub w: Vec<f64>,
    /// The value shown (the metric's mean, or the mean paired Δp; 0 for the baseline itself).
    pub value: f64,
    /// Seeds behind the value.
    pub seeds: usize,
}

/// The static points of `rows` for the panel of task `k` (its metric) or, with `None`, of
/// Δp; the points without a value are left out.
pub fn marks(rows: &[&CompareRow], k: Option<usize>) -> Vec<Mark> {
    rows.iter()
        .filter_map(|r| {
            let w = r.static_w.clone()?;
            let (value, seeds) = match k {
                Some(k) => (r.metrics[k].mean, r.seeds),
                None if r.verdict == Verdict::Baseline => (0.0, r.seeds),
                None => {
                    let d = r.delta_p?;
                    (d.mean, r.paired_seeds)
                }
            };
            Some(Mark { w, value, seeds })
        })
        .collect()
}

/// Where weights `w` lie in a triangle with corners `a` (task 0), `b` (task 1) and `c` (task
/// 2): their barycentric combination.
pub fn place(w: &[f64], corners: [(f64, f64); 3]) -> (f64, f64) {
    let x = w[0] * corners[0].0 + w[1] * corners[1].0 + w[2] * corners[2].0;
    let y = w[0] * corners[0].1 + w[1] * corners[1].1 + w[2] * corners[2].1;
    (x, y)
}

/// Each value's rank among `values` scaled to [0, 1] (ties share the mean rank): colours by
/// rank, so one collapsed point does not flatten every other into one shade.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n < 2 {
        return vec![1.0; n];
    }
    values
        .iter()
        .map(|v| {
            let below = values.iter().filter(|x| *x < v).count() as f64;
            let equal = values.iter().filter(|x| *x == v).count() as f64;
            (below + (equal - 1.0) / 2.0) / (n - 1) as f64
        })
        .collect()
}

/// A value in at most five significant characters: three decimals below 10, one above.
fn short(v: f64) -> String {
    if v.abs() < 10.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}

/// A colour from worst (`t` = 0, pale yellow) to best (`t` = 1, dark blue).
fn ramp(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = [
        (253, 231, 37),
        (94, 201, 98),
        (33, 145, 140),
        (59, 82, 139),
        (68, 1, 84),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draw the ternary maps of `rows`' static points, a row of panels per dataset: one per task of
/// `tasks` (three) and one of Δp.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    rows: &[CompareRow],
    tasks: &Tasks,
    opts: &CompareOptions,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let lines = root.split_evenly((datasets.len().max(1), 1));
    for (line, dataset) in lines.iter().zip(datasets) {
        let mine: Vec<&CompareRow> = rows.iter().filter(|r| &r.dataset == dataset).collect();
        let (title, body) = line.split_vertically(40);
        title.draw(&Text::new(
            format!(
                "{dataset}: the static grid on the simplex of the weights ({} epoch; value (seeds); colour by rank, darkest = best, ringed = best)",
                opts.metric.as_str()
            ),
            (12, 12),
            (FONT, 17).into_font(),
        ))?;
        let panels = body.split_evenly((1, 4));
        for (p, panel) in panels.iter().enumerate() {
            let k = (p < 3).then_some(p);
            let (caption, sign) = match k {
                Some(k) => (
                    format!(
                        "{} ({}-is-better)",
                        tasks[k].metric_label(),
                        tasks[k].metric.direction().as_str()
                    ),
                    tasks[k].metric.direction().sign(),
                ),
                None => (format!("Δp % vs {}", opts.reference_label(tasks)), 1.0),
            };
            draw_panel(panel, &marks(&mine, k), tasks, &caption, sign)?;
        }
    }
    Ok(())
}

/// One ternary panel: the triangle with its corners named, each mark coloured by its value
/// (`sign` makes higher better), the best one ringed.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    marks: &[Mark],
    tasks: &Tasks,
    caption: &str,
    sign: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as f64, h as f64);
    area.draw(&Text::new(
        caption.to_string(),
        (12, 4),
        (FONT, 14).into_font(),
    ))?;
    let side = (w - 70.0).min((h - 80.0) / 0.866);
    let left = (w - side) / 2.0;
    let bottom = h - 40.0;
    let corners = [
        (left, bottom),
        (left + side, bottom),
        (left + side / 2.0, bottom - side * 0.866),
    ];
    let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    let edge: Vec<(i32, i32)> = corners
        .iter()
        .chain(&corners[..1])
        .map(|c| px(*c))
        .collect();
    area.draw(&PathElement::new(
        edge,
        RGBColor(120, 120, 120).stroke_width(1),
    ))?;
    for (k, c) in corners.iter().enumerate() {
        // Below the bottom corners' value labels, above the top corner's point.
        let (dx, dy) = match k {
            0 => (-34, 24),
            1 => (-8, 24),
            _ => (-22, -30),
        };
        area.draw(&Text::new(
            format!("{} = 1", tasks[k].name),
            (c.0 as i32 + dx, c.1 as i32 + dy),
            (FONT, 12).into_font(),
        ))?;
    }
    let values: Vec<f64> = marks.iter().map(|m| sign * m.value).collect();
    let shade = ranks(&values);
    let best = values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    for (i, m) in marks.iter().enumerate() {
        let at = px(place(&m.w, corners));
        area.draw(&Circle::new(at, 9, ramp(shade[i]).filled()))?;
        if Some(i) == best {
            area.draw(&Circle::new(at, 13, BLACK.stroke_width(2)))?;
        }
        area.draw(&Text::new(
            format!("{} ({})", short(m.value), m.seeds),
            (at.0 - 22, at.1 + 14),
            (FONT, 9).into_font(),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_rank_not_distance() {
        // One collapsed point does not squeeze the others together.
        assert_eq!(
            ranks(&[-500.0, 1.0, 2.0, 3.0]),
            vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]
        );
        assert_eq!(ranks(&[1.0, 1.0, 2.0]), vec![0.25, 0.25, 1.0]);
        assert_eq!(ranks(&[7.0]), vec![1.0]);
    }

    #[test]
    fn corners_and_centre_land_where_their_weights_say() {
        let c = [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)];
        assert_eq!(place(&[1.0, 0.0, 0.0], c), (0.0, 0.0));
        assert_eq!(place(&[0.0, 0.0, 1.0], c), (0.5, 1.0));
        let (x, y) = place(&[1.0 / 3.0; 3], c);
        assert!((x - 0.5).abs() < 1e-12 && (y - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(ramp(0.0), RGBColor(253, 231, 37));
        assert_eq!(ramp(1.0), RGBColor(68, 1, 84));
    }
}

//! `curves` figure: each task's test metric per epoch for every strategy point, a panel per
//! task.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{dash, task_colour, DrawResult, DYNAMIC, FONT};
use crate::report::load::{mean_std, Point};
use crate::task::Tasks;

/// (epoch, mean over seeds) of task `k`'s test metric along `p`'s epochs, as long as its
/// shortest run.
pub fn per_epoch(p: &Point<'_>, k: usize) -> Vec<(f64, f64)> {
    let len = p.jobs.iter().map(|j| j.epochs.len()).min().unwrap_or(0);
    (0..len)
        .map(|e| {
            let v: Vec<f64> = p.jobs.iter().map(|j| j.epochs[e].test[k]).collect();
            ((e + 1) as f64, mean_std(&v).0)
        })
        .collect()
}

/// Colour of a curve: a static point's is its tasks' colours mixed by its weights (for two
/// tasks a blue (w1 = 1) to red (w1 = 0) ramp), dynamic ones from [`DYNAMIC`].
fn curve_color(p: &Point<'_>, dynamic_index: usize) -> RGBColor {
    match &p.static_w {
        Some(w) => {
            let mix = |c: fn(RGBColor) -> u8| {
                w.iter()
                    .enumerate()
                    .map(|(k, w)| w * c(task_colour(k)) as f64)
                    .sum::<f64>()
                    .round()
                    .clamp(0.0, 255.0) as u8
            };
            RGBColor(mix(|c| c.0), mix(|c| c.1), mix(|c| c.2))
        }
        None => DYNAMIC[dynamic_index % DYNAMIC.len()],
    }
}

/// Draw each task's metric per epoch of every point, a panel per task, one row per dataset.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    points: &[Point<'_>],
    tasks: &Tasks,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let rows = root.split_evenly((datasets.len(), 1));
    for (row, dataset) in rows.iter().zip(datasets) {
        let mine: Vec<&Point<'_>> = points.iter().filter(|p| &p.dataset == dataset).collect();
        let (plots, legend) = row.split_horizontally(495 * tasks.len() as u32);
        let panels = plots.split_evenly((1, tasks.len()));
        let epochs = mine
            .iter()
            .flat_map(|p| p.jobs.iter().map(|j| j.epochs.len()))
            .max()
            .unwrap_or(1)
            .max(2) as f64;
        for (k, (panel, task)) in panels.iter().zip(tasks.iter()).enumerate() {
            let series: Vec<Vec<(f64, f64)>> = mine.iter().map(|p| per_epoch(p, k)).collect();
            let values = series
                .iter()
                .flatten()
                .map(|p| p.1)
                .filter(|v| v.is_finite());
            let (lo, hi) = if task.metric.is_fraction() {
                let lo = values.fold(1.0, f64::min);
                (((lo - 0.05).max(0.0) * 10.0).floor() / 10.0, 1.02)
            } else {
                let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                let pad = 0.05 * (hi - lo).max(1e-9);
                ((lo - pad).max(0.0), hi + pad)
            };
            let name = task.metric_label();
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{dataset}: {name} per epoch"), (FONT, 16))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(52)
                .build_cartesian_2d(1f64..epochs, lo..hi)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(format!(
                    "test {} ({}-is-better)",
                    task.metric.name,
                    task.metric.direction().as_str()
                ))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            let mut dyn_k = 0;
            for (p, s) in mine.iter().zip(&series) {
                let color = curve_color(p, dyn_k);
                if p.static_w.is_none() {
                    let (size, gap) = dash(dyn_k);
                    chart.draw_series(DashedLineSeries::new(
                        s.clone(),
                        size,
                        gap,
                        color.stroke_width(3),
                    ))?;
                    dyn_k += 1;
                } else {
                    chart.draw_series(LineSeries::new(s.clone(), color.stroke_width(1)))?;
                }
            }
        }
        // Legend beside the panels: thirteen entries would cover the curves inside them.
        legend.fill(&WHITE)?;
        let mut dyn_k = 0;
        for (i, p) in mine.iter().enumerate() {
            let y = 40 + i as i32 * 20;
            let color = curve_color(p, dyn_k);
            let width = if p.static_w.is_none() {
                dyn_k += 1;
                3
            } else {
                1
            };
            legend.draw(&PathElement::new(
                vec![(8, y), (34, y)],
                color.stroke_width(width),
            ))?;
            legend.draw(&Text::new(
                p.label.clone(),
                (40, y - 7),
                (FONT, 13).into_font(),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::{test_job, test_point};

    #[test]
    fn per_epoch_means_over_seeds_up_to_the_shortest_run() {
        let a = test_job(1, None, &[(0.5, 0.1), (0.7, 0.2), (0.9, 0.3)], &[]);
        let b = test_job(2, None, &[(0.7, 0.3), (0.9, 0.4)], &[]);
        let p = test_point(vec![&a, &b]);
        let fv = per_epoch(&p, 0);
        assert_eq!(fv.len(), 2);
        assert!((fv[0].1 - 0.6).abs() < 1e-12 && (fv[1].1 - 0.8).abs() < 1e-12);
        assert!((per_epoch(&p, 1)[1].1 - 0.3).abs() < 1e-12);
        assert_eq!((fv[0].0, fv[1].0), (1.0, 2.0));
    }
}

//! `weights` figure: each task's normalised weight per step of every dynamic strategy (mean
//! over seeds with a band, smoothed by [`window`]), one panel per task, with the task losses
//! beneath.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{dash, dash_name, DrawResult, DYNAMIC, FONT};
use crate::report::load::{mean_std, Point};
use crate::runlog::StepRow;
use crate::task::Tasks;

/// Height of a weight panel and of the loss panel, in pixels.
const WEIGHT_PANEL: u32 = 300;
const LOSS_PANEL: u32 = 300;

/// Height of the figure for `tasks`: a weight panel per task and the loss panel.
pub fn height(tasks: &Tasks) -> u32 {
    WEIGHT_PANEL * tasks.len() as u32 + LOSS_PANEL
}

/// The moving-average window of the figure: about 60 windows across the longest run, smooth
/// enough for rlw, short enough that l3's switches stay sharp at the figure's scale.
pub fn window(dynamics: &[&Point<'_>]) -> usize {
    let steps_logged = dynamics
        .iter()
        .flat_map(|p| p.jobs.iter().map(|j| j.steps.len()))
        .max()
        .unwrap_or(1);
    (steps_logged / 60).max(1)
}

/// (step, mean, half-width) along a run.
pub type Band = Vec<(f64, f64, f64)>;

/// Mean and std over seeds, step by step, of `value` along the steps of `p`'s jobs, each
/// replaced by the mean over the `window` logged steps ending at it: rlw draws new weights
/// every step, and its raw trajectory is a band of noise that hides the others.
pub fn step_band(p: &Point<'_>, value: &dyn Fn(&StepRow) -> f64, window: usize) -> Band {
    let len = p.jobs.iter().map(|j| j.steps.len()).min().unwrap_or(0);
    let per_step: Vec<(f64, f64, f64)> = (0..len)
        .map(|i| {
            let v: Vec<f64> = p.jobs.iter().map(|j| value(&j.steps[i])).collect();
            let (m, s) = mean_std(&v);
            (p.jobs[0].steps[i].step as f64, m, s.unwrap_or(0.0))
        })
        .collect();
    let window = window.max(1);
    (0..len)
        .map(|i| {
            let from = (i + 1).saturating_sub(window);
            let part = &per_step[from..=i];
            let n = part.len() as f64;
            (
                per_step[i].0,
                part.iter().map(|b| b.1).sum::<f64>() / n,
                part.iter().map(|b| b.2).sum::<f64>() / n,
            )
        })
        .collect()
}

/// Draw each task's weight per step (a panel per task) and the task losses (bottom) of every
/// dynamic point, one column per dataset.
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
    let columns = root.split_evenly((1, datasets.len()));
    for (column, dataset) in columns.iter().zip(datasets) {
        let dynamics: Vec<&Point<'_>> = points
            .iter()
            .filter(|p| &p.dataset == dataset && p.static_w.is_none())
            .collect();
        // One legend for both panels, in a column of its own: with many strategies an inset
        // legend covers the trajectories.
        let (plots, key) = column.split_horizontally(620);
        for (k, p) in dynamics.iter().enumerate() {
            let color = DYNAMIC[k % DYNAMIC.len()];
            let y = 48 + 20 * k as i32;
            key.draw(&PathElement::new(
                vec![(4, y), (28, y)],
                color.stroke_width(3),
            ))?;
            key.draw(&Text::new(
                p.label.clone(),
                (34, y - 7),
                TextStyle::from((FONT, 12).into_font()),
            ))?;
        }
        let (top, bottom) = plots.split_vertically(WEIGHT_PANEL * tasks.len() as u32);
        let weight_panels = top.split_evenly((tasks.len(), 1));
        let max_step = dynamics
            .iter()
            .flat_map(|p| p.jobs.iter().filter_map(|j| j.steps.last().map(|s| s.step)))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let seeds = dynamics.iter().map(|p| p.jobs.len()).max().unwrap_or(1);
        let window = window(&dynamics);
        let smoothing = if window > 1 {
            format!(", {window}-step moving average")
        } else {
            String::new()
        };

        let equal = 1.0 / tasks.len() as f64;
        for (t, (panel, task)) in weight_panels.iter().zip(tasks.iter()).enumerate() {
            let mut w_chart = ChartBuilder::on(panel)
                .caption(
                    format!(
                        "{dataset}: w_{} per step (mean over {seeds} seed{}{smoothing})",
                        task.name,
                        if seeds == 1 { "" } else { "s" }
                    ),
                    (FONT, 16),
                )
                .margin(12)
                .x_label_area_size(34)
                .y_label_area_size(52)
                .build_cartesian_2d(0f64..max_step, 0f64..1.02f64)?;
            w_chart
                .configure_mesh()
                .y_desc(format!("w_{} (weights sum to 1)", task.name))
                .x_desc("step")
                .y_label_formatter(&|y| format!("{y:.1}"))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            w_chart.draw_series(LineSeries::new(
                vec![(0.0, equal), (max_step, equal)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))?;
            w_chart.draw_series(LineSeries::new(
                vec![(0.0, 1.0), (max_step, 1.0)],
                RGBColor(90, 90, 90).stroke_width(1),
            ))?;
            for (k, p) in dynamics.iter().enumerate() {
                let color = DYNAMIC[k % DYNAMIC.len()];
                let band = step_band(p, &|s| s.w[t], window);
                if p.jobs.len() > 1 {
                    let mut poly: Vec<(f64, f64)> =
                        band.iter().map(|b| (b.0, (b.1 + b.2).min(1.0))).collect();
                    poly.extend(band.iter().rev().map(|b| (b.0, (b.1 - b.2).max(0.0))));
                    w_chart.draw_series(std::iter::once(Polygon::new(
                        poly,
                        color.mix(0.2).filled(),
                    )))?;
                }
                w_chart.draw_series(LineSeries::new(
                    band.iter().map(|b| (b.0, b.1)),
                    color.stroke_width(2),
                ))?;
            }
        }

        // Per strategy, one band per task.
        let losses: Vec<Vec<Band>> = dynamics
            .iter()
            .map(|p| {
                (0..tasks.len())
                    .map(|t| step_band(p, &|s| s.loss[t], window))
                    .collect()
            })
            .collect();
        let l_max = losses
            .iter()
            .flatten()
            .flat_map(|band| band.iter().map(|b| b.1))
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.05;
        let styles: Vec<String> = tasks
            .iter()
            .enumerate()
            .map(|(t, task)| {
                let style = if t == 0 { "solid" } else { dash_name(t - 1) };
                format!("{style} {}", task.name)
            })
            .collect();
        let mut l_chart = ChartBuilder::on(&bottom)
            .caption(
                format!("{dataset}: task losses per step ({})", styles.join(", ")),
                (FONT, 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..max_step, 0f64..l_max)?;
        l_chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (k, bands) in losses.iter().enumerate() {
            let color = DYNAMIC[k % DYNAMIC.len()];
            for (t, band) in bands.iter().enumerate() {
                let line = band.iter().map(|b| (b.0, b.1));
                if t == 0 {
                    l_chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
                } else {
                    let (size, gap) = dash(t - 1);
                    l_chart.draw_series(DashedLineSeries::new(
                        line.collect::<Vec<_>>(),
                        size,
                        gap,
                        color.stroke_width(2),
                    ))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::{test_job, test_point};

    #[test]
    fn bands_average_seeds_then_smooth_over_the_window() {
        let a = test_job(1, None, &[(0.5, 0.5)], &[0.2, 0.4, 0.6, 0.8]);
        let b = test_job(2, None, &[(0.5, 0.5)], &[0.4, 0.6, 0.8, 1.0]);
        let p = test_point(vec![&a, &b]);
        let raw = step_band(&p, &|s| s.w[0], 1);
        let means: Vec<f64> = raw.iter().map(|b| b.1).collect();
        for (m, want) in means.iter().zip([0.3, 0.5, 0.7, 0.9]) {
            assert!((m - want).abs() < 1e-12, "{means:?}");
        }
        // Two seeds 0.2 apart: sample std √0.02.
        assert!((raw[0].2 - 0.02f64.sqrt()).abs() < 1e-12);
        let smooth = step_band(&p, &|s| s.w[0], 2);
        assert!((smooth[0].1 - 0.3).abs() < 1e-12 && (smooth[3].1 - 0.8).abs() < 1e-12);
        assert_eq!(window(&[&p]), 1);
    }
}

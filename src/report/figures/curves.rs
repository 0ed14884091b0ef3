//! `curves` figure: FV and EX accuracy per epoch for every strategy point.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{dash, DrawResult, DYNAMIC, EX, FONT, FV};
use crate::report::load::{mean_std, Point};

/// (epoch, mean accuracy over seeds) of FV (`fv`) or EX along `p`'s epochs, as long as its
/// shortest run.
pub fn per_epoch(p: &Point<'_>, fv: bool) -> Vec<(f64, f64)> {
    let len = p.jobs.iter().map(|j| j.epochs.len()).min().unwrap_or(0);
    (0..len)
        .map(|e| {
            let v: Vec<f64> = p
                .jobs
                .iter()
                .map(|j| {
                    if fv {
                        j.epochs[e].fv_acc
                    } else {
                        j.epochs[e].ex_acc
                    }
                })
                .collect();
            ((e + 1) as f64, mean_std(&v).0)
        })
        .collect()
}

/// Colour of a curve: static points on a blue (w1 = 1) to red (w1 = 0) ramp, dynamic ones from
/// [`DYNAMIC`].
fn curve_color(p: &Point<'_>, dynamic_index: usize) -> RGBColor {
    match p.static_w1 {
        Some(w) => {
            let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * w).round() as u8;
            RGBColor(mix(EX.0, FV.0), mix(EX.1, FV.1), mix(EX.2, FV.2))
        }
        None => DYNAMIC[dynamic_index % DYNAMIC.len()],
    }
}

/// Draw FV and EX accuracy per epoch of every point, one row per dataset.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    points: &[Point<'_>],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let rows = root.split_evenly((datasets.len(), 1));
    for (row, dataset) in rows.iter().zip(datasets) {
        let mine: Vec<&Point<'_>> = points.iter().filter(|p| &p.dataset == dataset).collect();
        let (plots, legend) = row.split_horizontally(990);
        let panels = plots.split_evenly((1, 2));
        let epochs = mine
            .iter()
            .flat_map(|p| p.jobs.iter().map(|j| j.epochs.len()))
            .max()
            .unwrap_or(1)
            .max(2) as f64;
        for (panel, task) in panels.iter().zip(["FV", "EX"]) {
            let series: Vec<Vec<(f64, f64)>> =
                mine.iter().map(|p| per_epoch(p, task == "FV")).collect();
            let lo = series.iter().flatten().map(|p| p.1).fold(1.0, f64::min);
            let lo = ((lo - 0.05).max(0.0) * 10.0).floor() / 10.0;
            let name = if task == "FV" {
                "face-verification accuracy"
            } else {
                "expression accuracy"
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{dataset}: {name} per epoch"), (FONT, 16))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(52)
                .build_cartesian_2d(1f64..epochs, lo..1.02f64)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc("test accuracy")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            let mut dyn_k = 0;
            for (p, s) in mine.iter().zip(&series) {
                let color = curve_color(p, dyn_k);
                if p.static_w1.is_none() {
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
            let width = if p.static_w1.is_none() {
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
        let fv = per_epoch(&p, true);
        assert_eq!(fv.len(), 2);
        assert!((fv[0].1 - 0.6).abs() < 1e-12 && (fv[1].1 - 0.8).abs() < 1e-12);
        assert!((per_epoch(&p, false)[1].1 - 0.3).abs() < 1e-12);
        assert_eq!((fv[0].0, fv[1].0), (1.0, 2.0));
    }
}

//! `report plot`: the paper's Figure 2, the weight trajectories and the accuracy curves, each
//! as PNG and SVG. Text uses a font embedded in the binary, so no system font is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::{ranged1d::Ranged, Shift};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::load::{mean_std, Metric, Point, SweepLogs};
use crate::error::{Error, Result};
use crate::runlog::atomic_write;

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Face-verification colour.
const FV: RGBColor = RGBColor(31, 119, 180);
/// Expression colour.
const EX: RGBColor = RGBColor(214, 39, 40);
/// Colours of dynamic strategies in the trajectory and curve figures.
const DYNAMIC: [RGBColor; 10] = [
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
    RGBColor(57, 59, 121),
    RGBColor(255, 187, 120),
];
const FONT: &str = "sans-serif";

fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        if register_font(FONT, FontStyle::Normal, bytes).is_err() {
            tracing::error!("the embedded font could not be loaded");
        }
    });
}

/// Dash length and gap (pixels) of the k-th dynamic strategy's line.
fn dash(k: usize) -> (u32, u32) {
    [(10, 5), (3, 4), (14, 4), (6, 3), (2, 2)][k % 5]
}

/// Draw with `$draw(&area, args…)` into a PNG and an SVG at `$stem.{png,svg}`.
macro_rules! render {
    ($stem:expr, $size:expr, $draw:ident ( $($arg:expr),* )) => {{
        let (w, h): (u32, u32) = $size;
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            $draw(&root, $($arg),*).map_err(|e| Error::Failed(format!("cannot draw {}: {e}", $stem.display())))?;
            root.present().map_err(|e| Error::Failed(e.to_string()))?;
        }
        let img = image::RgbImage::from_raw(w, h, pixels).ok_or_else(|| Error::Failed("bitmap size".into()))?;
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| Error::Failed(format!("cannot encode PNG: {e}")))?;
        atomic_write(&$stem.with_extension("png"), &png)?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            $draw(&root, $($arg),*).map_err(|e| Error::Failed(format!("cannot draw {}: {e}", $stem.display())))?;
            root.present().map_err(|e| Error::Failed(e.to_string()))?;
        }
        atomic_write(&$stem.with_extension("svg"), svg.as_bytes())?;
        vec![$stem.with_extension("png"), $stem.with_extension("svg")]
    }};
}

/// Write `fig2`, `weights` (when the sweep has dynamic strategies) and `curves` into `out`.
/// Returns the files written.
pub fn plot_all(logs: &SweepLogs, out: &Path, metric: Metric) -> Result<Vec<PathBuf>> {
    ensure_font();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "cannot create report folder", e))?;
    let datasets = logs.datasets();
    let points = logs.points();
    let n = datasets.len() as u32;
    let mut written = Vec::new();

    let mut grid: Vec<u64> = points
        .iter()
        .filter_map(|p| p.static_w1.map(f64::to_bits))
        .collect();
    grid.sort_unstable();
    grid.dedup();
    if grid.len() >= 2 {
        let stem = out.join("fig2");
        let margin = fig2_margin(&points);
        written.extend(render!(
            stem,
            ((520 + margin) * n, 480),
            draw_fig2(&datasets, &points, metric)
        ));
    } else {
        tracing::info!("fewer than two static w1 values in this sweep: no fig2 figure");
    }

    if points.iter().any(|p| p.static_w1.is_none()) {
        let stem = out.join("weights");
        let legend_w = label_width(&points);
        written.extend(render!(
            stem,
            ((620 + legend_w) * n, 640),
            draw_weights(&datasets, &points)
        ));
    } else {
        tracing::info!("no dynamic strategy in this sweep: no weights figure");
    }

    let stem = out.join("curves");
    written.extend(render!(
        stem,
        (990 + label_width(&points).max(190), 380 * n),
        draw_curves(&datasets, &points)
    ));

    let rows = super::compare::compare(logs, metric);
    let most = datasets
        .iter()
        .map(|d| rows.iter().filter(|r| &r.dataset == d).count())
        .max()
        .unwrap_or(1) as u32;
    let stem = out.join("compare");
    written.extend(render!(
        stem,
        (980, (90 + 26 * most) * n),
        draw_compare(&datasets, &rows, metric)
    ));
    Ok(written)
}

/// `compare`: per dataset, one row per strategy point (best Δp on top) with its FV and EX
/// accuracy, mean ± std over seeds, and its Δp against static 0.5 in the label.
fn draw_compare<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    rows: &[super::compare::CompareRow],
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

/// Right margin of a Figure-2 panel: room for the longest dynamic label, about 7 px a
/// character at 12 px (labels such as `l3 normalize_logits=true FV 0.955`).
fn fig2_margin(points: &[Point<'_>]) -> u32 {
    let longest = points
        .iter()
        .filter(|p| p.static_w1.is_none())
        .map(|p| p.label.chars().count() + 9)
        .max();
    longest.map_or(12, |n| 16 + 7 * n as u32)
}

/// Accuracy of a point under `metric`: (fv mean, fv std, ex mean, ex std).
fn point_accuracy(p: &Point<'_>, metric: Metric) -> (f64, Option<f64>, f64, Option<f64>) {
    let acc: Vec<(f64, f64)> = p.jobs.iter().map(|j| j.accuracy(metric)).collect();
    let (fm, fs) = mean_std(&acc.iter().map(|a| a.0).collect::<Vec<_>>());
    let (em, es) = mean_std(&acc.iter().map(|a| a.1).collect::<Vec<_>>());
    (fm, fs, em, es)
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

fn draw_fig2<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    points: &[Point<'_>],
    metric: Metric,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, datasets.len()));
    for (panel, dataset) in panels.iter().zip(datasets) {
        let mine: Vec<&Point<'_>> = points.iter().filter(|p| &p.dataset == dataset).collect();
        let statics: Vec<(&Point<'_>, f64)> = mine
            .iter()
            .filter_map(|p| p.static_w1.map(|w| (*p, w)))
            .collect();
        let dynamics: Vec<&Point<'_>> = mine
            .iter()
            .copied()
            .filter(|p| p.static_w1.is_none())
            .collect();
        let seeds = mine.iter().map(|p| p.jobs.len()).max().unwrap_or(1);

        let mut values: Vec<f64> = Vec::new();
        for p in &mine {
            let (fm, fs, em, es) = point_accuracy(p, metric);
            values.extend([fm - fs.unwrap_or(0.0), em - es.unwrap_or(0.0)]);
        }
        let y_lo = (values.iter().copied().fold(1.0, f64::min) - 0.08).clamp(0.0, 0.9);
        let (y_lo, y_hi) = ((y_lo * 10.0).floor() / 10.0, 1.03);

        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{dataset}: accuracy vs static w1 ({} epoch, {seeds} seed{})",
                    metric.as_str(),
                    if seeds == 1 { "" } else { "s" }
                ),
                (FONT, 17),
            )
            .margin(12)
            // Room on the right for the dynamic strategies' labels.
            .margin_right(fig2_margin(points))
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.03f64..1.03f64, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("static w1 (face-verification weight; w2 = 1 − w1)")
            .y_desc("test accuracy")
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
        // per task with its ±std band, labelled in the right margin.
        let mut labels: Vec<(f64, usize)> = Vec::new();
        let mut texts: Vec<(String, RGBColor)> = Vec::new();
        for (k, p) in dynamics.iter().enumerate() {
            let (fm, fs, em, es) = point_accuracy(p, metric);
            let (size, gap) = dash(k);
            for (task, m, s, color) in [("FV", fm, fs, FV), ("EX", em, es, EX)] {
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
                if task == "FV" {
                    line.label(format!("{} (dynamic; FV and EX)", p.label))
                        .legend(move |(x, y)| {
                            // Three dashes of the line's own pattern.
                            let period = 8.0;
                            let on = (period * size as f64 / (size + gap) as f64)
                                .round()
                                .max(2.0) as i32;
                            let off = 8 - on;
                            let dash = |k: i32| {
                                PathElement::new(
                                    vec![(k * (on + off), 0), (k * (on + off) + on, 0)],
                                    BLACK.stroke_width(2),
                                )
                            };
                            EmptyElement::at((x, y)) + dash(0) + dash(1) + dash(2)
                        });
                }
                let y_px = chart.backend_coord(&(1.03, m)).1 as f64;
                labels.push((y_px, texts.len()));
                texts.push((format!("{} {task} {m:.3}", p.label), color));
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

        // Static grid: mean ± std per task, and the best w1 of each task.
        for (task, color) in [("FV", FV), ("EX", EX)] {
            let series: Vec<(f64, f64, Option<f64>)> = statics
                .iter()
                .map(|(p, w)| {
                    let (fm, fs, em, es) = point_accuracy(p, metric);
                    if task == "FV" {
                        (*w, fm, fs)
                    } else {
                        (*w, em, es)
                    }
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let name = if task == "FV" {
                "face verification (static w1)"
            } else {
                "expression (static w1)"
            };
            chart
                .draw_series(LineSeries::new(
                    series.iter().map(|s| (s.0, s.1)),
                    color.stroke_width(2),
                ))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
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
            if let Some(best) = series.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (best.0, best.1),
                        9,
                        color.filled(),
                    )))?
                    .label(format!(
                        "best {task}: w1={} ({:.3})",
                        crate::strategy::format_w1(best.0),
                        best.1
                    ))
                    .legend(move |(x, y)| TriangleMarker::new((x + 12, y), 6, color.filled()));
            }
        }

        legend(&mut chart, SeriesLabelPosition::LowerMiddle)?;
    }
    Ok(())
}

/// The legend of `chart`'s labelled series, boxed, at `position`.
fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// Mean and std over seeds, step by step, of `value` along the steps of `p`'s jobs.
/// (step, mean, std) along a run.
type Band = Vec<(f64, f64, f64)>;

/// Each value replaced by the mean over the `window` logged steps ending at it: rlw draws new
/// weights every step, and its raw trajectory is a band of noise that hides the others.
fn step_band(p: &Point<'_>, value: fn(&crate::runlog::StepRow) -> f64, window: usize) -> Band {
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

/// Width of a legend column: room for the longest label, about 7 px a character at 12 px.
fn label_width(points: &[Point<'_>]) -> u32 {
    let longest = points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(0) as u32;
    60 + 7 * longest
}

fn draw_weights<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    datasets: &[String],
    points: &[Point<'_>],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let columns = root.split_evenly((1, datasets.len()));
    for (column, dataset) in columns.iter().zip(datasets) {
        let dynamics: Vec<&Point<'_>> = points
            .iter()
            .filter(|p| &p.dataset == dataset && p.static_w1.is_none())
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
        let (top, bottom) = plots.split_vertically(360);
        let max_step = dynamics
            .iter()
            .flat_map(|p| p.jobs.iter().filter_map(|j| j.steps.last().map(|s| s.step)))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let seeds = dynamics.iter().map(|p| p.jobs.len()).max().unwrap_or(1);
        // About 60 windows across the run: smooth enough for rlw, short enough that l3's
        // switches stay sharp at the figure's scale.
        let steps_logged = dynamics
            .iter()
            .flat_map(|p| p.jobs.iter().map(|j| j.steps.len()))
            .max()
            .unwrap_or(1);
        let window = (steps_logged / 60).max(1);
        let smoothing = if window > 1 {
            format!(", {window}-step moving average")
        } else {
            String::new()
        };

        let mut w_chart = ChartBuilder::on(&top)
            .caption(
                format!(
                    "{dataset}: w_fv per step (mean over {seeds} seed{}{smoothing})",
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
            .y_desc("w_fv  (w_ex = 1 − w_fv)")
            .x_desc("step")
            .y_label_formatter(&|y| format!("{y:.1}"))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        w_chart.draw_series(LineSeries::new(
            vec![(0.0, 0.5), (max_step, 0.5)],
            RGBColor(150, 150, 150).stroke_width(1),
        ))?;
        w_chart.draw_series(LineSeries::new(
            vec![(0.0, 1.0), (max_step, 1.0)],
            RGBColor(90, 90, 90).stroke_width(1),
        ))?;
        for (k, p) in dynamics.iter().enumerate() {
            let color = DYNAMIC[k % DYNAMIC.len()];
            let band = step_band(p, |s| s.w_fv, window);
            if p.jobs.len() > 1 {
                let mut poly: Vec<(f64, f64)> =
                    band.iter().map(|b| (b.0, (b.1 + b.2).min(1.0))).collect();
                poly.extend(band.iter().rev().map(|b| (b.0, (b.1 - b.2).max(0.0))));
                w_chart
                    .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))?;
            }
            w_chart.draw_series(LineSeries::new(
                band.iter().map(|b| (b.0, b.1)),
                color.stroke_width(2),
            ))?;
        }

        let losses: Vec<(Band, Band)> = dynamics
            .iter()
            .map(|p| {
                (
                    step_band(p, |s| s.loss_fv, window),
                    step_band(p, |s| s.loss_ex, window),
                )
            })
            .collect();
        let l_max = losses
            .iter()
            .flat_map(|(fv, ex)| fv.iter().chain(ex).map(|b| b.1))
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.05;
        let mut l_chart = ChartBuilder::on(&bottom)
            .caption(
                format!("{dataset}: task losses per step (solid L_fv, dashed L_ex)"),
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
        for (k, (fv, ex)) in losses.iter().enumerate() {
            let color = DYNAMIC[k % DYNAMIC.len()];
            l_chart.draw_series(LineSeries::new(
                fv.iter().map(|b| (b.0, b.1)),
                color.stroke_width(2),
            ))?;
            l_chart.draw_series(DashedLineSeries::new(
                ex.iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(),
                6,
                4,
                color.stroke_width(2),
            ))?;
        }
    }
    Ok(())
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

fn draw_curves<DB: DrawingBackend>(
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
            let series: Vec<Vec<(f64, f64)>> = mine
                .iter()
                .map(|p| {
                    let len = p.jobs.iter().map(|j| j.epochs.len()).min().unwrap_or(0);
                    (0..len)
                        .map(|e| {
                            let v: Vec<f64> = p
                                .jobs
                                .iter()
                                .map(|j| {
                                    if task == "FV" {
                                        j.epochs[e].fv_acc
                                    } else {
                                        j.epochs[e].ex_acc
                                    }
                                })
                                .collect();
                            ((e + 1) as f64, mean_std(&v).0)
                        })
                        .collect()
                })
                .collect();
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

//! `report plot`: the paper's Figure 2 (two tasks) or its analogue on the simplex (three
//! tasks), the Pareto view, the weight trajectories, the metric curves and the comparison,
//! each as PNG and SVG, one file per figure. Each figure's series are computed by
//! pure functions (tested without drawing); the `draw` functions only lay them out. Text uses
//! a font embedded in the binary, so no system font is needed.

mod compare;
pub mod curves;
pub mod fig2;
pub mod pareto;
pub mod simplex;
pub mod weights;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::compare::CompareOptions;
use super::load::{Point, SweepLogs};
use crate::error::{Error, Result};
use crate::files::atomic_write;
use compare::draw as draw_compare;
use curves::draw as draw_curves;
use fig2::draw as draw_fig2;
use pareto::draw as draw_pareto;
use simplex::draw as draw_simplex;
use weights::draw as draw_weights;

pub(super) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The colour of each task, in task order (face verification blue, expression red, the third
/// task green, as in every figure so far).
pub(super) const TASK_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// The colour of task `k`.
pub(super) fn task_colour(k: usize) -> RGBColor {
    TASK_COLOURS[k % TASK_COLOURS.len()]
}
/// Colours of dynamic strategies in the trajectory and curve figures: distinct for up to 14
/// strategies (torchjd's methods in one study are 11), the dash patterns of [`dash`] beside.
pub(super) const DYNAMIC: [RGBColor; 14] = [
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
    RGBColor(152, 223, 138),
    RGBColor(197, 176, 213),
    RGBColor(158, 218, 229),
    RGBColor(196, 156, 148),
];
pub(super) const FONT: &str = "sans-serif";

fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
        if register_font(FONT, FontStyle::Normal, bytes).is_err() {
            tracing::error!("the embedded font could not be loaded");
        }
    });
}

/// Dash length and gap (pixels) of the k-th dynamic strategy's line.
pub(super) fn dash(k: usize) -> (u32, u32) {
    [(10, 5), (3, 4), (14, 4), (6, 3), (2, 2)][k % 5]
}

/// How a legend names the k-th pattern of [`dash`].
pub(super) fn dash_name(k: usize) -> &'static str {
    [
        "dashed",
        "dotted",
        "long-dashed",
        "short-dashed",
        "fine-dotted",
    ][k % 5]
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

/// Write into `out`: `fig2` (two tasks, two static w1 or more) or `simplex` (three tasks,
/// three static points or more), `weights` (when the sweep has dynamic strategies), `curves`,
/// `pareto` (two static points or more) and `compare`. Returns the files written.
pub fn plot_all(logs: &SweepLogs, out: &Path, compare: &CompareOptions) -> Result<Vec<PathBuf>> {
    let metric = compare.metric;
    let tasks = &logs.tasks;
    ensure_font();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "cannot create report folder", e))?;
    let datasets = logs.datasets();
    let points = logs.points();
    let n = datasets.len() as u32;
    let t = tasks.len() as u32;
    let mut written = Vec::new();

    let mut grid: Vec<Vec<u64>> = points
        .iter()
        .filter_map(|p| {
            p.static_w
                .as_ref()
                .map(|w| w.iter().map(|x| x.to_bits()).collect())
        })
        .collect();
    grid.sort_unstable();
    grid.dedup();
    let rows = super::compare::compare(logs, &out.display().to_string(), compare)?;
    if tasks.len() == 2 && grid.len() >= 2 {
        let stem = out.join("fig2");
        let margin = fig2::margin(&points);
        written.extend(render!(
            stem,
            ((520 + margin) * n, 480 + fig2::legend_height(&points)),
            draw_fig2(&datasets, &points, tasks, metric, compare.level)
        ));
    } else if tasks.len() == 3 && grid.len() >= 3 {
        let stem = out.join("simplex");
        written.extend(render!(
            stem,
            (simplex::PANEL * 4, (simplex::PANEL + 40) * n),
            draw_simplex(&datasets, &rows, tasks, compare)
        ));
    } else {
        tracing::info!("no static grid to draw against the weights: no fig2 or simplex figure");
    }

    if points.iter().any(|p| p.static_w.is_none()) {
        let stem = out.join("weights");
        let legend_w = label_width(&points);
        written.extend(render!(
            stem,
            ((620 + legend_w) * n, weights::height(tasks)),
            draw_weights(&datasets, &points, tasks)
        ));
    } else {
        tracing::info!("no dynamic strategy in this sweep: no weights figure");
    }

    let stem = out.join("curves");
    written.extend(render!(
        stem,
        (495 * t + label_width(&points).max(190), 380 * n),
        draw_curves(&datasets, &points, tasks)
    ));

    if grid.len() >= 2 {
        let stem = out.join("pareto");
        let legend_w = pareto::legend_width(&rows);
        let pairs = pareto::pairs(tasks.len()).len() as u32;
        let (cols, panel_rows) = if pairs == 1 {
            (n.min(2), n.div_ceil(2))
        } else {
            (pairs.min(3), n * pairs.div_ceil(3))
        };
        written.extend(render!(
            stem,
            ((600 + legend_w) * cols, 520 * panel_rows),
            draw_pareto(&datasets, &rows, compare)
        ));
    }
    let most = datasets
        .iter()
        .map(|d| rows.iter().filter(|r| &r.dataset == d).count())
        .max()
        .unwrap_or(1) as u32;
    let stem = out.join("compare");
    let panels = compare::groups(tasks).len() as u32;
    written.extend(render!(
        stem,
        (650 + 330 * panels, (90 + 26 * most) * n),
        draw_compare(&datasets, &rows, compare)
    ));
    Ok(written)
}

/// What a legend entry shows beside its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Glyph {
    /// A line, dashed with (dash, gap) pixels when given.
    Line(RGBColor, Option<(u32, u32)>),
    /// A filled circle.
    Dot(RGBColor),
    /// A filled triangle.
    Triangle(RGBColor),
    /// An outlined diamond.
    Diamond(RGBColor),
}

/// Height of one legend row, in pixels.
pub(super) const LEGEND_ROW: i32 = 18;

/// A legend drawn in its own `area`, outside every plot, so that it can never cover data:
/// `entries` in rows of `columns`, each glyph followed by its text.
pub(super) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(Glyph, String)],
    columns: usize,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let columns = columns.max(1);
    let col_w = (w as i32 - 10) / columns as i32;
    for (k, (glyph, text)) in entries.iter().enumerate() {
        let x = 10 + (k % columns) as i32 * col_w;
        let y = 8 + (k / columns) as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        match *glyph {
            Glyph::Line(color, None) => area.draw(&PathElement::new(
                vec![(x, y), (x + 26, y)],
                color.stroke_width(2),
            ))?,
            Glyph::Line(color, Some((on, off))) => {
                let mut at = x;
                while at < x + 26 {
                    let end = (at + on as i32).min(x + 26);
                    area.draw(&PathElement::new(
                        vec![(at, y), (end, y)],
                        color.stroke_width(2),
                    ))?;
                    at = end + off as i32;
                }
            }
            Glyph::Dot(color) => area.draw(&Circle::new((x + 13, y), 4, color.filled()))?,
            Glyph::Triangle(color) => {
                area.draw(&TriangleMarker::new((x + 13, y), 6, color.filled()))?
            }
            Glyph::Diamond(color) => area.draw(&Polygon::new(
                vec![(x + 13, y - 6), (x + 19, y), (x + 13, y + 6), (x + 7, y)],
                color.filled(),
            ))?,
        }
        area.draw(&Text::new(
            text.clone(),
            (x + 34, y - 7),
            (FONT, 13).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}

/// Width of a legend column: room for the longest label, about 7 px a character at 12 px.
pub(super) fn label_width(points: &[Point<'_>]) -> u32 {
    let longest = points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(0) as u32;
    60 + 7 * longest
}

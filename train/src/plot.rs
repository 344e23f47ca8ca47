//! PNG charts for training curves and experiments, drawn with plotters into an RGB buffer and
//! encoded with `image`. The DejaVu Sans font is embedded (`train/assets/fonts`, Bitstream Vera licence),
//! so no system font is needed. A figure is a grid of panels; each panel has a title, axis labels,
//! and line, point or bar series with a legend.

use std::path::Path;
use std::sync::Once;

pub use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Style {
    /// Points joined by straight lines.
    Line,
    /// Points joined by lines, each point also marked.
    LineMarkers,
    /// Points marked, not joined (samples).
    Markers,
    /// Vertical bars centred on each x, of the given width.
    Bars(f64),
}

/// One named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// How to draw them.
    pub style: Style,
}

impl Series {
    /// A line series.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, style: Style::Line }
    }

    /// A bar series (histograms).
    pub fn bars(name: impl Into<String>, points: Vec<(f64, f64)>, width: f64) -> Self {
        Series { name: name.into(), points, style: Style::Bars(width) }
    }
}

/// One chart of a figure.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The series; colours follow their order.
    pub series: Vec<Series>,
    /// Plot y on a log scale (non-positive values are dropped).
    pub log_y: bool,
    /// Fixed x range instead of the data's.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range instead of the data's.
    pub y_range: Option<(f64, f64)>,
    /// Series drawn thin and grey without a legend entry (contours behind trajectories).
    pub background: Vec<Vec<(f64, f64)>>,
    /// Label only whole numbers on the x axis (epochs).
    pub integer_x: bool,
    /// Named ticks for a categorical x axis: each name is written under its position, and the
    /// axis shows no numbers.
    pub x_ticks: Vec<(f64, String)>,
}

/// A figure that could not be drawn or saved.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Plotters failed to draw.
    #[error("drawing {what}: {message}")]
    Draw {
        /// The panel or figure.
        what: String,
        /// What plotters said.
        message: String,
    },
    /// The PNG could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(crate) fn register_embedded_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded TTF is valid; should registration ever fail, text falls back to nothing
        // drawn rather than an error, so the result is deliberately ignored.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

pub(crate) fn draw_error(what: &str, e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw { what: what.to_string(), message: e.to_string() }
}

/// The range of the data along one axis, padded by 5 %, never empty.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// Draws `panels` in a grid of `columns` columns, each panel `size` pixels, into an RGB image.
///
/// # Errors
/// [`PlotError::Draw`] if plotters cannot lay out a panel.
pub fn render(panels: &[Panel], columns: usize, size: (u32, u32)) -> Result<image::RgbImage, PlotError> {
    register_embedded_font();
    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(columns).max(1);
    let (w, h) = (size.0 * columns as u32, size.1 * rows as u32);
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error("figure", e))?;
        let areas = root.split_evenly((rows, columns));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            draw_panel(panel, area)?;
        }
        root.present().map_err(|e| draw_error("figure", e))?;
    }
    image::RgbImage::from_raw(w, h, buffer).ok_or_else(|| draw_error("figure", "buffer size"))
}

fn draw_panel(panel: &Panel, area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), PlotError> {
    let what = &panel.title;
    let transform = |y: f64| if panel.log_y { if y > 0.0 { y.log10() } else { f64::NAN } } else { y };
    let all_points = || panel.series.iter().flat_map(|s| s.points.iter()).chain(panel.background.iter().flatten());
    let x_range = panel.x_range.unwrap_or_else(|| {
        let mut r = span(all_points().map(|p| p.0).chain(panel.x_ticks.iter().map(|t| t.0)));
        for s in &panel.series {
            if let Style::Bars(width) = s.style {
                r = (r.0 - width / 2.0, r.1 + width / 2.0);
            }
        }
        r
    });
    let y_range = panel.y_range.map(|(a, b)| (transform(a), transform(b))).unwrap_or_else(|| {
        let bars = panel.series.iter().any(|s| matches!(s.style, Style::Bars(_)));
        let (lo, hi) = span(panel.series.iter().flat_map(|s| s.points.iter()).map(|p| transform(p.1)));
        if bars && !panel.log_y { (lo.min(0.0), hi) } else { (lo, hi) }
    });
    // The plotting area inside the caption, margins and label areas set below, in pixels.
    let (w, h) = area.dim_in_pixel();
    let plot_size = (w.saturating_sub(2 * 12 + 60), h.saturating_sub(2 * 12 + 40 + 24));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(|e| draw_error(what, e))?;
    let log_y = panel.log_y;
    let integer_x = panel.integer_x;
    let x_fmt = move |v: &f64| {
        if integer_x && (v - v.round()).abs() > 1e-9 { String::new() } else { tick_label(*v) }
    };
    let whole_numbers = (x_range.1.floor() - x_range.0.ceil()).max(0.0) as usize + 1;
    let x_labels = if integer_x { whole_numbers.clamp(2, 12) } else { 10 };
    let y_fmt = move |v: &f64| tick_label(if log_y { 10f64.powf(*v) } else { *v });
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_labels(x_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 12));
    if !panel.x_ticks.is_empty() {
        // No vertical lines or ticks: the names below stand for the positions.
        mesh.disable_x_mesh().x_labels(0);
    }
    mesh.draw().map_err(|e| draw_error(what, e))?;
    // Category names under the axis, centred on their positions: the chart's coordinates turned
    // into the panel's pixels.
    let base = area.get_base_pixel();
    let name_style = TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (x, name) in &panel.x_ticks {
        let (px, py) = chart.backend_coord(&(*x, y_range.0));
        area.draw(&Text::new(name.clone(), (px - base.0, py - base.1 + 6), name_style.clone()))
            .map_err(|e| draw_error(what, e))?;
    }
    for line in &panel.background {
        let pts: Vec<(f64, f64)> = line.iter().map(|&(x, y)| (x, transform(y))).filter(|p| p.1.is_finite()).collect();
        chart.draw_series(LineSeries::new(pts, RGBColor(200, 200, 200))).map_err(|e| draw_error(what, e))?;
    }
    for (i, s) in panel.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<(f64, f64)> =
            s.points.iter().map(|&(x, y)| (x, transform(y))).filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        let drawn = match s.style {
            Style::Line => chart.draw_series(LineSeries::new(pts, color.stroke_width(2))),
            Style::LineMarkers => {
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(|e| draw_error(what, e))?;
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            }
            Style::Markers => chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 2, color.mix(0.7).filled()))),
            Style::Bars(width) => {
                let base = if panel.log_y { y_range.0 } else { y_range.0.max(0.0) };
                chart.draw_series(pts.into_iter().map(|(x, y)| {
                    Rectangle::new([(x - width / 2.0, base), (x + width / 2.0, y)], color.mix(0.6).filled())
                }))
            }
        }
        .map_err(|e| draw_error(what, e))?;
        drawn.label(s.name.clone()).legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled()));
    }
    if panel.series.iter().any(|s| !s.name.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .position(legend_place(panel, &transform, x_range, y_range, plot_size).position())
            .draw()
            .map_err(|e| draw_error(what, e))?;
    }
    Ok(())
}

/// Where a panel's legend goes: one of six places along the top and bottom edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegendPlace {
    UpperRight,
    UpperLeft,
    UpperMiddle,
    LowerRight,
    LowerLeft,
    LowerMiddle,
}

impl LegendPlace {
    const ALL: [LegendPlace; 6] = [
        LegendPlace::UpperRight,
        LegendPlace::UpperLeft,
        LegendPlace::UpperMiddle,
        LegendPlace::LowerRight,
        LegendPlace::LowerLeft,
        LegendPlace::LowerMiddle,
    ];

    fn position(self) -> SeriesLabelPosition {
        match self {
            LegendPlace::UpperRight => SeriesLabelPosition::UpperRight,
            LegendPlace::UpperLeft => SeriesLabelPosition::UpperLeft,
            LegendPlace::UpperMiddle => SeriesLabelPosition::UpperMiddle,
            LegendPlace::LowerRight => SeriesLabelPosition::LowerRight,
            LegendPlace::LowerLeft => SeriesLabelPosition::LowerLeft,
            LegendPlace::LowerMiddle => SeriesLabelPosition::LowerMiddle,
        }
    }

    /// The box this place covers, as fractions `(x0, x1, y0, y1)` of the plotting area (y up),
    /// for a legend of `size` fractions.
    fn bounds(self, (lw, lh): (f64, f64)) -> (f64, f64, f64, f64) {
        let (x0, x1) = match self {
            LegendPlace::UpperLeft | LegendPlace::LowerLeft => (0.0, lw),
            LegendPlace::UpperRight | LegendPlace::LowerRight => (1.0 - lw, 1.0),
            LegendPlace::UpperMiddle | LegendPlace::LowerMiddle => (0.5 - lw / 2.0, 0.5 + lw / 2.0),
        };
        let upper = matches!(self, LegendPlace::UpperRight | LegendPlace::UpperLeft | LegendPlace::UpperMiddle);
        let (y0, y1) = if upper { (1.0 - lh, 1.0) } else { (0.0, lh) };
        (x0, x1, y0, y1)
    }
}

/// The legend place that hides the fewest drawn points (the upper right on a tie), counting each
/// series' points, the midpoints of its segments and, for bars, points down each bar's body.
/// `plot_size` is the plotting area in pixels, against which the legend's size is estimated.
fn legend_place(
    panel: &Panel,
    transform: &dyn Fn(f64) -> f64,
    x_range: (f64, f64),
    y_range: (f64, f64),
    plot_size: (u32, u32),
) -> LegendPlace {
    let named: Vec<&Series> = panel.series.iter().filter(|s| !s.name.is_empty()).collect();
    let longest = named.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
    // Label font 12 px: about 7 px a character, a 14 px swatch, margins; 16 px a row.
    let (pw, ph) = (plot_size.0.max(1) as f64, plot_size.1.max(1) as f64);
    let size = (((longest * 7 + 40) as f64 / pw).min(1.0), (((named.len() * 16) + 12) as f64 / ph).min(1.0));
    let (xs, ys) = ((x_range.1 - x_range.0).max(f64::MIN_POSITIVE), (y_range.1 - y_range.0).max(f64::MIN_POSITIVE));
    let mut points: Vec<(f64, f64)> = Vec::new();
    for s in &panel.series {
        let pts: Vec<(f64, f64)> =
            s.points.iter().map(|&(x, y)| ((x - x_range.0) / xs, (transform(y) - y_range.0) / ys)).collect();
        points.extend(pts.iter().copied());
        points.extend(pts.windows(2).map(|w| ((w[0].0 + w[1].0) / 2.0, (w[0].1 + w[1].1) / 2.0)));
        if let Style::Bars(_) = s.style {
            let base = if panel.log_y { 0.0 } else { ((0.0 - y_range.0) / ys).clamp(0.0, 1.0) };
            points.extend(pts.iter().flat_map(|&(x, y)| (1..4).map(move |k| (x, base + (y - base) * k as f64 / 4.0))));
        }
    }
    let hidden = |place: LegendPlace| {
        let (x0, x1, y0, y1) = place.bounds(size);
        points.iter().filter(|&&(x, y)| x >= x0 && x <= x1 && y >= y0 && y <= y1).count()
    };
    LegendPlace::ALL.into_iter().min_by_key(|&place| hidden(place)).unwrap_or(LegendPlace::UpperRight)
}

/// A tick value in as few characters as it needs, to four significant digits: `200` rather than
/// `200.0`, `0.25` rather than `0.250`, `0.00316` on a log axis, and `1e-5` or `2.5e6` at the
/// extremes.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    // Ticks are sums of steps, so the one meant as 0 can come out as ±1e-17.
    if a < 1e-12 || !v.is_finite() {
        return if v.is_finite() { "0".into() } else { v.to_string() };
    }
    // Zeros after a decimal point only: 1400 keeps its own.
    let trim = |s: &str| {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
    };
    if !(1e-4..1e6).contains(&a) {
        let s = format!("{v:.3e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exponent}", trim(mantissa));
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 8) as usize;
    match trim(&format!("{v:.decimals$}")).as_str() {
        "-0" => "0".into(),
        s => s.into(),
    }
}

/// Renders and writes a PNG atomically ([`neurite_core::fs::write_atomic`]).
///
/// # Errors
/// [`PlotError`] if drawing or writing fails.
pub fn save(path: &Path, panels: &[Panel], columns: usize, size: (u32, u32)) -> Result<(), PlotError> {
    save_image(path, &render(panels, columns, size)?)
}

/// Encodes an RGB image as PNG and writes it atomically (a figure drawn around [`render`]'s).
///
/// # Errors
/// [`PlotError`] if encoding or writing fails.
pub fn save_image(path: &Path, img: &image::RgbImage) -> Result<(), PlotError> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| draw_error("png encoding", e))?;
    neurite_core::fs::write_atomic(path, &bytes)
        .map_err(|source| PlotError::Write { path: path.display().to_string(), source })
}

/// One captioned picture of a [`captioned_grid`]: values in [0, 1], `[C, H, W]` with C = 1 (grey)
/// or 3 (RGB).
#[derive(Clone, Debug)]
pub struct Tile {
    /// The pixels, planar.
    pub values: Vec<f32>,
    /// Channels, height and width.
    pub size: neurite_augment::ImageSize,
    /// The text under it.
    pub caption: String,
}

/// Pixels around and between cells, and the height of the caption band under each.
const GRID_GAP: usize = 8;
const CAPTION_BAND: usize = 22;

/// Lays `tiles` out `columns` per row, each enlarged `scale` times pixel for pixel, with its
/// caption centred in a band below it, on white.
///
/// # Errors
/// [`PlotError::Draw`] if a caption cannot be drawn.
pub fn captioned_grid(tiles: &[Tile], columns: usize, scale: usize) -> Result<image::RgbImage, PlotError> {
    register_embedded_font();
    let columns = columns.clamp(1, tiles.len().max(1));
    let rows = tiles.len().div_ceil(columns).max(1);
    let scale = scale.max(1);
    let cell_w = tiles.iter().map(|t| t.size.width).max().unwrap_or(1) * scale;
    let cell_h = tiles.iter().map(|t| t.size.height).max().unwrap_or(1) * scale;
    let (w, h) = (columns * cell_w + (columns + 1) * GRID_GAP, rows * (cell_h + CAPTION_BAND) + (rows + 1) * GRID_GAP);
    let mut buffer = vec![255u8; w * h * 3];
    for (k, tile) in tiles.iter().enumerate() {
        let (left, top) = (
            GRID_GAP + (k % columns) * (cell_w + GRID_GAP),
            GRID_GAP + (k / columns) * (cell_h + CAPTION_BAND + GRID_GAP),
        );
        let (tw, th) = (tile.size.width, tile.size.height);
        let plane = tw * th;
        for y in 0..th * scale {
            for x in 0..tw * scale {
                let at = (y / scale) * tw + x / scale;
                let channel = |c: usize| {
                    (tile.values[c.min(tile.size.channels - 1) * plane + at].clamp(0.0, 1.0) * 255.0).round() as u8
                };
                let out = 3 * ((top + y) * w + left + x);
                buffer[out..out + 3].copy_from_slice(&[channel(0), channel(1), channel(2)]);
            }
        }
    }
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w as u32, h as u32)).into_drawing_area();
        let style = TextStyle::from(("sans-serif", 13).into_font()).color(&BLACK);
        for (k, tile) in tiles.iter().enumerate() {
            let (left, top) = (
                GRID_GAP + (k % columns) * (cell_w + GRID_GAP),
                GRID_GAP + (k / columns) * (cell_h + CAPTION_BAND + GRID_GAP),
            );
            let text_w = root.estimate_text_size(&tile.caption, &style).map(|(tw, _)| tw as usize).unwrap_or(0);
            let x = left + cell_w.saturating_sub(text_w) / 2;
            let y = top + cell_h + 4;
            root.draw(&Text::new(tile.caption.clone(), (x as i32, y as i32), &style))
                .map_err(|e| draw_error("captions", e))?;
        }
        root.present().map_err(|e| draw_error("captions", e))?;
    }
    image::RgbImage::from_raw(w as u32, h as u32, buffer).ok_or_else(|| draw_error("grid", "buffer size"))
}

/// A confusion matrix as a heat map: one row per true class, one column per predicted class,
/// each cell shaded by the fraction of its row and labelled with its count.
///
/// # Errors
/// [`PlotError::Draw`] if plotters fails.
pub fn confusion_matrix(confusion: &[Vec<usize>], names: &[String]) -> Result<image::RgbImage, PlotError> {
    register_embedded_font();
    let k = confusion.len().max(1);
    let cell = (640 / k).clamp(8, 40);
    let margin = 90;
    let (w, h) = (margin + k * cell + 20, margin + k * cell + 20);
    let mut buffer = vec![255u8; w * h * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w as u32, h as u32)).into_drawing_area();
        let font = |size: i32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
        let at = |i: usize| (margin + i * cell) as i32;
        root.draw(&Text::new("predicted class →", (at(0), 8), font(14))).map_err(|e| draw_error("confusion", e))?;
        root.draw(&Text::new("true ↓", (8, 8), font(14))).map_err(|e| draw_error("confusion", e))?;
        let show_text = cell >= 20;
        for (r, row) in confusion.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            for (c, &count) in row.iter().enumerate() {
                let share = count as f64 / total;
                let shade = (255.0 * (1.0 - 0.85 * share)).round() as u8;
                let colour = RGBColor(shade, shade, 255);
                let rect = [(at(c), at(r)), (at(c) + cell as i32, at(r) + cell as i32)];
                root.draw(&Rectangle::new(rect, colour.filled())).map_err(|e| draw_error("confusion", e))?;
                root.draw(&Rectangle::new(rect, RGBColor(220, 220, 220))).map_err(|e| draw_error("confusion", e))?;
                if show_text && count > 0 {
                    let style = font(11).color(if share > 0.6 { &WHITE } else { &BLACK });
                    let pos = (at(c) + 3, at(r) + cell as i32 / 2 - 6);
                    root.draw(&Text::new(count.to_string(), pos, &style)).map_err(|e| draw_error("confusion", e))?;
                }
            }
            if show_text {
                let name: String = names.get(r).map(String::as_str).unwrap_or("").chars().take(10).collect();
                root.draw(&Text::new(name.clone(), (8, at(r) + cell as i32 / 2 - 6), font(12)))
                    .map_err(|e| draw_error("confusion", e))?;
                root.draw(&Text::new(name, (at(r) + 3, margin as i32 - 22), font(12)))
                    .map_err(|e| draw_error("confusion", e))?;
            }
        }
        root.present().map_err(|e| draw_error("confusion", e))?;
    }
    image::RgbImage::from_raw(w as u32, h as u32, buffer).ok_or_else(|| draw_error("confusion", "buffer size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> Panel {
        Panel {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                Series::line("train", vec![(1.0, 0.9), (2.0, 0.5), (3.0, 0.3)]),
                Series::line("validation", vec![(1.0, 1.0), (2.0, 0.6), (3.0, 0.45)]),
            ],
            ..Panel::default()
        }
    }

    #[test]
    fn captioned_grids_and_confusion_matrices_have_their_sizes() {
        let tile =
            |v: f32| Tile { values: vec![v; 12], size: neurite_augment::ImageSize::new(1, 3, 4), caption: "x".into() };
        let grid = captioned_grid(&[tile(0.0), tile(1.0), tile(0.5)], 2, 10).expect("drawn");
        // Two columns of 40 and three 8-pixel gaps; two rows of 30 + 22 and three gaps.
        assert_eq!((grid.width(), grid.height()), (2 * 40 + 3 * 8, 2 * 52 + 3 * 8));
        // The first tile's pixels are black, the second's white, enlarged 10 times.
        assert_eq!(grid.get_pixel(8 + 5, 8 + 5).0, [0, 0, 0]);
        assert_eq!(grid.get_pixel(8 + 40 + 8 + 5, 8 + 5).0, [255, 255, 255]);
        let m = confusion_matrix(&[vec![3, 1], vec![0, 4]], &["a".into(), "b".into()]).expect("drawn");
        assert_eq!((m.width(), m.height()), (90 + 2 * 40 + 20, 90 + 2 * 40 + 20));
    }

    #[test]
    fn a_figure_has_the_grid_size_and_draws_in_colour() {
        let img = render(&[panel(), panel(), panel()], 2, (300, 200)).expect("renders");
        assert_eq!(img.dimensions(), (600, 400));
        // The first series' blue appears somewhere, and text (dark pixels) was drawn.
        let blue = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
        let dark = img.pixels().filter(|p| p.0.iter().all(|&c| c < 60)).count();
        assert!(blue > 50, "{blue} blue pixels");
        assert!(dark > 200, "{dark} dark pixels (axes and text)");
    }

    #[test]
    fn tick_labels_carry_no_padding_zeros() {
        let cases = [
            (200.0, "200"),
            (-10.0, "-10"),
            (0.25, "0.25"),
            (1.0, "1"),
            (0.0, "0"),
            (-0.0, "0"),
            (1400.0, "1400"),
            (0.0031623, "0.003162"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (0.00001, "1e-5"),
            (2_500_000.0, "2.5e6"),
            (-0.000012345, "-1.234e-5"),
        ];
        for (v, want) in cases {
            assert_eq!(tick_label(v), want, "tick label of {v}");
        }
    }

    #[test]
    fn the_legend_goes_where_it_hides_the_fewest_points() {
        let place = |series: Vec<Series>| {
            let p = Panel { series, ..Panel::default() };
            legend_place(&p, &|y| y, (0.0, 1.0), (0.0, 1.0), (400, 300))
        };
        // A falling loss curve leaves the upper right free.
        let falling: Vec<(f64, f64)> = (0..=20).map(|i| (i as f64 / 20.0, (1.0 - i as f64 / 20.0).powi(3))).collect();
        assert_eq!(place(vec![Series::line("loss", falling)]), LegendPlace::UpperRight);
        // A rising one fills it, and the upper left is free.
        let rising: Vec<(f64, f64)> = (0..=20).map(|i| (i as f64 / 20.0, (i as f64 / 20.0).powi(3))).collect();
        assert_eq!(place(vec![Series::line("accuracy", rising)]), LegendPlace::UpperLeft);
        // A U (saturated sigmoid activations): high at both edges, low in between.
        let u: Vec<(f64, f64)> = (0..=20).map(|i| (i as f64 / 20.0, (2.0 * i as f64 / 20.0 - 1.0).powi(8))).collect();
        assert_eq!(place(vec![Series::line("layer 1", u)]), LegendPlace::UpperMiddle);
    }

    #[test]
    fn bars_log_scale_and_empty_panels_render() {
        let mut p = panel();
        p.series = vec![Series::bars("counts", vec![(0.05, 3.0), (0.15, 10.0), (0.25, 0.0)], 0.1)];
        assert!(render(&[p.clone()], 1, (200, 150)).is_ok());
        p.log_y = true;
        assert!(render(&[p], 1, (200, 150)).is_ok());
        assert!(render(&[Panel::default()], 1, (200, 150)).is_ok());
    }
}

//! PNG figures with plotters. Text needs a TrueType font: DejaVu Sans from the system
//! (Debian's fonts-dejavu-core, which the xtask installs when missing).

use std::path::Path;

use crate::error::{Error, Result, io};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers DejaVu Sans as plotters' "sans-serif" font; call once before drawing.
pub fn register_font() -> Result<()> {
    let path = FONTS
        .iter()
        .find(|p| Path::new(p).exists())
        .ok_or_else(|| {
            Error::Font(
                "no DejaVu Sans font found for the figures; install it (Debian: apt-get install \
             fonts-dejavu-core)"
                    .into(),
            )
        })?;
    let bytes: &'static [u8] =
        Box::leak(std::fs::read(path).map_err(io(*path))?.into_boxed_slice());
    if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
        return Err(Error::Font(format!("{path} is not a usable TrueType font")));
    }
    Ok(())
}

/// What plotters' drawing calls return; turned into [`Error::Figure`] naming the file.
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

pub(crate) fn figure(path: &Path, drawn: DrawResult) -> Result<()> {
    drawn.map_err(|e| Error::Figure {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A named series of points.
#[derive(Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
    /// Color.
    pub color: RGBColor,
}

/// The palette of the figures.
pub const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn bounds(series: &[Series]) -> (f64, f64, f64, f64) {
    let all = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.0.is_finite() && p.1.is_finite());
    all.fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |b, p| (b.0.min(p.0), b.1.max(p.0), b.2.min(p.1), b.3.max(p.1)),
    )
}

/// What every figure shares: canvas, title, axis labels, legend position.
struct Frame<'t> {
    size: (u32, u32),
    title: &'t str,
    x_desc: &'t str,
    y_desc: &'t str,
    y_label_width: u32,
    legend: SeriesLabelPosition,
}

/// The chart of a figure on axes `X`, `Y` (linear or log ranges of `f64`).
type Chart<'a, 'b, X, Y> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// Draws a figure into `path`: the frame on the axes `x` × `y`, then `series` drawn by
/// `draw`, then the legend.
fn draw_figure<X, Y>(
    path: &Path,
    frame: Frame<'_>,
    x: X,
    y: Y,
    draw: impl for<'a, 'b> FnOnce(&mut Chart<'a, 'b, X, Y>) -> DrawResult,
) -> Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let drawn = (|| -> DrawResult {
        let root = BitMapBackend::new(path, frame.size).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(frame.y_label_width)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .label_style(("sans-serif", 15))
            .draw()?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .position(frame.legend)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    figure(path, drawn)
}

/// Estimate vs exact scatter with the y = x line.
pub fn scatter_vs_exact(path: &Path, title: &str, series: &[Series]) -> Result<()> {
    let (x0, x1, y0, y1) = bounds(series);
    let (lo, hi) = (x0.min(y0) * 0.95, x1.max(y1) * 1.05);
    let frame = Frame {
        size: (800, 700),
        title,
        x_desc: "exact EMD",
        y_desc: "estimate",
        y_label_width: 60,
        legend: SeriesLabelPosition::MiddleRight,
    };
    draw_figure(path, frame, lo..hi, lo..hi, |chart| {
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))?
            .label("y = x")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
        for s in series {
            let color = s.color;
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.6).filled())),
                )?
                .label(s.label.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        }
        Ok(())
    })
}

/// Empirical CDFs of several samples.
pub fn cdf(
    path: &Path,
    title: &str,
    x_desc: &str,
    series: &[Series],
    x_range: (f64, f64),
) -> Result<()> {
    let frame = Frame {
        size: (800, 600),
        title,
        x_desc,
        y_desc: "share of pairs ≤ x",
        y_label_width: 60,
        legend: SeriesLabelPosition::UpperLeft,
    };
    draw_figure(path, frame, x_range.0..x_range.1, 0.0..1.0, |chart| {
        for s in series {
            let mut v: Vec<f64> = s
                .points
                .iter()
                .map(|p| p.0)
                .filter(|x| x.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            let n = v.len().max(1) as f64;
            let steps: Vec<(f64, f64)> = v
                .iter()
                .enumerate()
                .flat_map(|(k, &x)| [(x, k as f64 / n), (x, (k + 1) as f64 / n)])
                .collect();
            let color = s.color;
            chart
                .draw_series(LineSeries::new(steps, color.stroke_width(2)))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        Ok(())
    })
}

/// Each series as a labelled line with a dot of `radius` at every point, on any axes.
fn draw_lines_with_points<X, Y>(
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<X, Y>>,
    series: &[Series],
    radius: i32,
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for s in series {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(
            s.points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), radius, color.filled())),
        )?;
    }
    Ok(())
}

/// Lines on log-log axes (time vs n).
pub fn loglog(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<()> {
    let (x0, x1, y0, y1) = bounds(series);
    let frame = Frame {
        size: (800, 600),
        title,
        x_desc,
        y_desc,
        y_label_width: 70,
        legend: SeriesLabelPosition::UpperLeft,
    };
    let x = (x0 * 0.8..x1 * 1.25).log_scale();
    let y = (y0 * 0.5..y1 * 2.0).log_scale();
    draw_figure(path, frame, x, y, |chart| {
        draw_lines_with_points(chart, series, 4)
    })
}

/// Lines on linear axes from y = 0 (a quality curve against time).
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<()> {
    let (x0, x1, _, y1) = bounds(series);
    let frame = Frame {
        size: (900, 600),
        title,
        x_desc,
        y_desc,
        y_label_width: 70,
        legend: SeriesLabelPosition::UpperRight,
    };
    draw_figure(
        path,
        frame,
        x0.min(0.0)..x1 * 1.02,
        0.0..y1 * 1.05,
        |chart| draw_lines_with_points(chart, series, 3),
    )
}

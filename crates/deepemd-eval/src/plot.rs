//! PNG figures with plotters. Text needs a TrueType font: DejaVu Sans from the system
//! (Debian's fonts-dejavu-core, which the xtask installs when missing).

use std::path::Path;

use crate::error::{Error, Result, io};
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

/// The legend box, drawn alike on every figure.
fn draw_legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
}

/// Estimate vs exact scatter with the y = x line.
pub fn scatter_vs_exact(path: &Path, title: &str, series: &[Series]) -> Result<()> {
    figure(path, draw_scatter(path, title, series))
}

fn draw_scatter(path: &Path, title: &str, series: &[Series]) -> DrawResult {
    let root = BitMapBackend::new(path, (800, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1, y0, y1) = bounds(series);
    let (lo, hi) = (x0.min(y0) * 0.95, x1.max(y1) * 1.05);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(lo..hi, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("exact EMD")
        .y_desc("estimate")
        .label_style(("sans-serif", 15))
        .draw()?;
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
    draw_legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    root.present()?;
    Ok(())
}

/// Empirical CDFs of several samples.
pub fn cdf(
    path: &Path,
    title: &str,
    x_desc: &str,
    series: &[Series],
    x_range: (f64, f64),
) -> Result<()> {
    figure(path, draw_cdf(path, title, x_desc, series, x_range))
}

fn draw_cdf(
    path: &Path,
    title: &str,
    x_desc: &str,
    series: &[Series],
    x_range: (f64, f64),
) -> DrawResult {
    let root = BitMapBackend::new(path, (800, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.0..x_range.1, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("share of pairs ≤ x")
        .label_style(("sans-serif", 15))
        .draw()?;
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
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// Each series as a labelled line with a dot of `radius` at every point, on any axes.
fn draw_lines_with_points<'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
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
    figure(path, draw_loglog(path, title, x_desc, y_desc, series))
}

fn draw_loglog(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> DrawResult {
    let root = BitMapBackend::new(path, (800, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1, y0, y1) = bounds(series);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x0 * 0.8..x1 * 1.25).log_scale(),
            (y0 * 0.5..y1 * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 15))
        .draw()?;
    draw_lines_with_points(&mut chart, series, 4)?;
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// Lines on linear axes from y = 0 (a quality curve against time).
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<()> {
    figure(path, draw_lines(path, title, x_desc, y_desc, series))
}

fn draw_lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> DrawResult {
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1, _, y1) = bounds(series);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0.min(0.0)..x1 * 1.02, 0.0..y1 * 1.05)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 15))
        .draw()?;
    draw_lines_with_points(&mut chart, series, 3)?;
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()?;
    Ok(())
}

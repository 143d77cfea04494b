//! Point clouds drawn as pictures: a grid of panels, each cloud seen from one fixed oblique
//! view (azimuth 35°, elevation 20°, y up), nearer points darker, so clumps and holes show.

use std::path::Path;

use crate::error::Result;
use crate::plot::{DrawResult, figure};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Side of one panel, pixels.
const PANEL: u32 = 220;
/// Height of the header row and width of the label column, pixels.
const HEADER: u32 = 36;
const LABEL: u32 = 150;

/// A grid of clouds: `cells[row][column]` (points as `[x, y, z]`), with column headers and row
/// labels.
pub fn cloud_grid(
    path: &Path,
    columns: &[String],
    rows: &[String],
    cells: &[Vec<Vec<[f64; 3]>>],
) -> Result<()> {
    figure(path, draw_grid(path, columns, rows, cells))
}

/// The screen position (x right, y down, in [-1, 1]) and depth of a point.
fn project(p: [f64; 3]) -> (f64, f64, f64) {
    let (az, el) = (35f64.to_radians(), 20f64.to_radians());
    // Rotate about y by the azimuth, then tilt about x by the elevation.
    let x = az.cos() * p[0] + az.sin() * p[2];
    let z = -az.sin() * p[0] + az.cos() * p[2];
    let y = el.cos() * p[1] - el.sin() * z;
    let depth = el.sin() * p[1] + el.cos() * z;
    (x, -y, depth)
}

fn draw_grid(
    path: &Path,
    columns: &[String],
    rows: &[String],
    cells: &[Vec<Vec<[f64; 3]>>],
) -> DrawResult {
    let width = LABEL + PANEL * columns.len() as u32;
    let height = HEADER + PANEL * rows.len() as u32;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let centered = |size| {
        ("sans-serif", size)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    for (c, name) in columns.iter().enumerate() {
        let x = (LABEL + PANEL * c as u32 + PANEL / 2) as i32;
        root.draw(&Text::new(
            name.as_str(),
            (x, (HEADER / 2) as i32),
            centered(17),
        ))?;
    }
    for (r, name) in rows.iter().enumerate() {
        let y = (HEADER + PANEL * r as u32 + PANEL / 2) as i32;
        root.draw(&Text::new(
            name.as_str(),
            ((LABEL / 2) as i32, y),
            centered(15),
        ))?;
        for (c, cloud) in cells.get(r).into_iter().flatten().enumerate() {
            let (x0, y0) = (LABEL + PANEL * c as u32, HEADER + PANEL * r as u32);
            root.draw(&Rectangle::new(
                [
                    (x0 as i32, y0 as i32),
                    ((x0 + PANEL - 1) as i32, (y0 + PANEL - 1) as i32),
                ],
                RGBColor(220, 220, 220),
            ))?;
            let mut points: Vec<(f64, f64, f64)> = cloud.iter().map(|&p| project(p)).collect();
            // x right, y up, depth toward the viewer (right-handed): far points (small depth)
            // first, so near ones are drawn over them.
            points.sort_by(|a, b| a.2.total_cmp(&b.2));
            let half = PANEL as f64 / 2.0;
            let scale = half * 0.9;
            for (x, y, depth) in points {
                // Nearer is darker.
                let shade = (140.0 * (1.0 - depth.clamp(-1.0, 1.0)) / 2.0) as u8;
                let px = x0 as f64 + half + scale * x.clamp(-1.1, 1.1);
                let py = y0 as f64 + half + scale * y.clamp(-1.1, 1.1);
                root.draw(&Circle::new(
                    (px as i32, py as i32),
                    2,
                    RGBColor(shade / 3, 60 + shade / 2, 120 + shade).filled(),
                ))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

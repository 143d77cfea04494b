//! Plain text: one point per line, 2 or 3 numbers separated by spaces, tabs, commas or
//! semicolons. Blank lines and lines starting with `#` or `//` are skipped, and so is a first
//! line of column names (a CSV header such as `x,y,z`). Rows of more than 3 values (`x y z nx
//! ny nz` with normals, colours, intensities, labels) are read as their first three columns,
//! the point, as point-cloud tools read them; the rest is not read.

use std::fmt::Write as _;
use std::path::Path;

use deepemd_core::PointCloud;

use super::{cloud_from_coords, parse_number, read_text, write_atomic};
use crate::error::{Error, Result};

/// Reads a `.xyz`, `.txt` or `.csv` file.
pub fn read_xyz(path: &Path) -> Result<PointCloud> {
    let text = read_text(path)?;
    let mut coords = Vec::new();
    let mut dim = None;
    let mut lines_of_points = Vec::new();
    let mut seen_data = false;
    for (k, raw) in text.lines().enumerate() {
        let line_no = k + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let tokens: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .filter(|t| !t.is_empty())
            .collect();
        let is_header = !seen_data && tokens.iter().all(|t| t.parse::<f64>().is_err());
        if is_header {
            seen_data = true;
            continue;
        }
        seen_data = true;
        let columns = *dim.get_or_insert(tokens.len());
        if tokens.len() != columns || columns < 2 {
            return Err(Error::format(
                path,
                format!(
                    "line {line_no} has {} values; every row must have the same count, 2 or 3 \
                     (or more, of which the first three are the point){}",
                    tokens.len(),
                    if tokens.len() != columns {
                        format!(" (earlier rows have {columns})")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        // Only the point's values are read: further columns may be labels or colours.
        for t in tokens.into_iter().take(3) {
            coords.push(parse_number(path, line_no, t)?);
        }
        lines_of_points.push(line_no);
    }
    let dim = dim
        .ok_or_else(|| Error::format(path, "the file holds no points"))?
        .min(3);
    cloud_from_coords(path, dim, coords, |i| {
        format!("line {}", lines_of_points[i])
    })
}

/// Writes one point per line with 17 significant digits (exact round trip), atomically.
pub fn write_xyz(path: &Path, cloud: &PointCloud) -> Result<()> {
    let mut out = String::with_capacity(cloud.as_flat().len() * 24);
    for p in cloud.points() {
        let row: Vec<String> = p.iter().map(|x| format!("{x:.17e}")).collect();
        let _ = writeln!(out, "{}", row.join(" "));
    }
    write_atomic(path, out.as_bytes())
}

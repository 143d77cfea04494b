//! Point Cloud Library's PCD, ASCII data only: the header's `FIELDS`, `COUNT` and `POINTS`
//! locate `x y z` (or `x y`) in each row.

use std::path::Path;

use deepemd_core::PointCloud;

use super::{cloud_from_coords, parse_number, read_text};
use crate::error::{Error, Result};

/// Reads an ASCII `.pcd` file.
pub fn read_pcd(path: &Path) -> Result<PointCloud> {
    let text = read_text(path)?;
    let fail = |m: String| Error::format(path, m);
    let mut fields: Vec<String> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut points: Option<usize> = None;
    let mut lines = text.lines().enumerate();
    let mut data_seen = false;
    for (k, raw) in lines.by_ref() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut t = line.split_whitespace();
        let key = t.next().unwrap_or("").to_ascii_uppercase();
        let rest: Vec<&str> = t.collect();
        match key.as_str() {
            "FIELDS" => fields = rest.iter().map(|s| s.to_string()).collect(),
            "COUNT" => {
                counts = rest
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|_| fail(format!("line {}: bad COUNT", k + 1)))?
            }
            "POINTS" => {
                points = Some(
                    rest.first()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| fail(format!("line {}: bad POINTS", k + 1)))?,
                )
            }
            "DATA" => {
                if rest.first().map(|s| s.to_ascii_lowercase()) != Some("ascii".into()) {
                    return Err(fail(format!(
                        "DATA {}: only ASCII PCD is supported",
                        rest.join(" ")
                    )));
                }
                data_seen = true;
                break;
            }
            _ => {}
        }
    }
    if !data_seen {
        return Err(fail(
            "no 'DATA ascii' line: not a PCD file, or a truncated header".into(),
        ));
    }
    if counts.is_empty() {
        counts = vec![1; fields.len()];
    }
    if counts.len() != fields.len() {
        return Err(fail("FIELDS and COUNT have different lengths".into()));
    }
    // Column of each field = sum of the counts before it; the sum is checked because COUNT
    // comes from the file.
    let mut starts = Vec::with_capacity(counts.len());
    let mut width = 0usize;
    for &c in &counts {
        starts.push(width);
        width = width.checked_add(c).ok_or_else(|| {
            fail(format!(
                "COUNT {} sums past any row width",
                counts
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        })?;
    }
    let column = |name: &str| -> Result<Option<usize>> {
        match fields.iter().position(|f| f == name) {
            Some(i) if counts[i] == 0 => Err(fail(format!("field {name} has COUNT 0"))),
            Some(i) => Ok(Some(starts[i])),
            None => Ok(None),
        }
    };
    let cols: Vec<usize> = match (column("x")?, column("y")?, column("z")?) {
        (Some(x), Some(y), Some(z)) => vec![x, y, z],
        (Some(x), Some(y), None) => vec![x, y],
        _ => return Err(fail("FIELDS has no x and y".into())),
    };
    let mut coords = Vec::new();
    let mut row_lines = Vec::new();
    for (k, raw) in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() != width {
            return Err(fail(format!(
                "line {}: {} values, the header declares {width}",
                k + 1,
                t.len()
            )));
        }
        for &c in &cols {
            coords.push(parse_number(path, k + 1, t[c])?);
        }
        row_lines.push(k + 1);
    }
    let found = coords.len() / cols.len();
    if let Some(p) = points {
        if p != found {
            return Err(fail(format!(
                "POINTS says {p}, the file holds {found} (truncated?)"
            )));
        }
    }
    cloud_from_coords(path, cols.len(), coords, |i| {
        format!("point {i} (line {})", row_lines[i])
    })
}

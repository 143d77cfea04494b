//! Object File Format: `OFF` (or `COFF`, `NOFF`, ...) then `V F E` counts, then `V` vertex lines.
//! Comments (`#`) and CRLF line ends are tolerated; faces are not read.

use std::path::Path;

use deepemd_core::PointCloud;

use super::{cloud_from_coords, parse_number, read_text};
use crate::error::{Error, Result};
use crate::header::capacity;
use crate::mesh::Mesh;

/// Reads the vertices of an OFF file as a cloud.
pub fn read_off(path: &Path) -> Result<PointCloud> {
    let (vertices, _) = read_off_parts(path, false)?;
    let coords = vertices.iter().flatten().copied().collect();
    cloud_from_coords(path, 3, coords, |i| format!("vertex {i}"))
}

/// Reads an OFF file's vertices and faces.
pub fn read_off_mesh(path: &Path) -> Result<Mesh> {
    read_off_parts(path, true).and_then(|(v, f)| Mesh::new(path, v, f))
}

pub(super) type Parts = (Vec<[f64; 3]>, Vec<Vec<usize>>);

pub(super) fn read_off_parts(path: &Path, with_faces: bool) -> Result<Parts> {
    let text = read_text(path)?;
    // Numbered, comment-free, non-empty lines; `trim` also drops the '\r' of CRLF files.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(k, l)| (k + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty());
    let (first_no, first) = lines
        .next()
        .ok_or_else(|| Error::format(path, "empty file (expected an OFF header)"))?;
    let mut header = first.split_whitespace();
    let magic = header.next().unwrap_or("");
    if !magic.ends_with("OFF") {
        return Err(Error::format(
            path,
            format!("line {first_no}: expected 'OFF', found '{magic}'"),
        ));
    }
    // The counts may follow the keyword on the same line ("OFF 8 6 0").
    let mut counts: Vec<&str> = header.collect();
    let mut counts_line = first_no;
    if counts.is_empty() {
        let (no, l) = lines
            .next()
            .ok_or_else(|| Error::format(path, "missing the vertex/face count line"))?;
        counts = l.split_whitespace().collect();
        counts_line = no;
    }
    if counts.len() < 2 {
        return Err(Error::format(
            path,
            format!("line {counts_line}: expected vertex and face counts"),
        ));
    }
    let count = |t: &str| {
        t.parse::<usize>()
            .map_err(|_| Error::format(path, format!("line {counts_line}: '{t}' is not a count")))
    };
    let (nv, nf) = (count(counts[0])?, count(counts[1])?);
    // A vertex line takes at least six bytes ("0 0 0\n").
    let mut vertices = Vec::with_capacity(capacity(nv, text.len(), 6));
    for v in 0..nv {
        let (no, l) = lines.next().ok_or_else(|| {
            Error::format(
                path,
                format!("the header promises {nv} vertices, the file ends after {v}"),
            )
        })?;
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.len() < 3 {
            return Err(Error::format(
                path,
                format!(
                    "line {no} (vertex {v}): expected 3 coordinates, found {}",
                    t.len()
                ),
            ));
        }
        vertices.push([
            parse_number(path, no, t[0])?,
            parse_number(path, no, t[1])?,
            parse_number(path, no, t[2])?,
        ]);
    }
    let mut faces = Vec::new();
    if with_faces {
        for f in 0..nf {
            let (no, l) = lines.next().ok_or_else(|| {
                Error::format(
                    path,
                    format!("the header promises {nf} faces, the file ends after {f}"),
                )
            })?;
            let t: Vec<&str> = l.split_whitespace().collect();
            let bad = || Error::format(path, format!("line {no} (face {f}): malformed face"));
            let k: usize = t.first().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            if k >= t.len() || k < 3 {
                return Err(bad());
            }
            let idx = t[1..=k]
                .iter()
                .map(|s| s.parse::<usize>().ok().filter(|&i| i < nv))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    Error::format(
                        path,
                        format!("line {no} (face {f}): vertex index out of range"),
                    )
                })?;
            faces.push(idx);
        }
    }
    Ok((vertices, faces))
}

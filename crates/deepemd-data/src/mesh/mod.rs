//! Triangle meshes and area-weighted surface sampling (how ModelNet40's point clouds were made).
//!
//! Scale invariance (docs/math.md): every area and every geometric test is computed in the
//! mesh's *unit frame*, its coordinates multiplied by the power of two that brings the largest
//! into [½, 1]. A power of two scales exactly, so a mesh of ordinary size samples exactly as it
//! would without the frame, a mesh scaled by a power of two samples exactly the same points,
//! scaled, and one at 1e-200 or 1e300 the same up to rounding (where two triangles' cumulative
//! areas round differently a sample may fall in the neighbouring one): no area overflows or
//! underflows.

mod triangulate;

use std::path::Path;

use deepemd_core::PointCloud;
use rand::Rng;

use crate::error::{Error, Result};
use triangulate::{MAX_CONCAVE_VERTICES, Refusal, triangulate};

/// A triangle mesh. Polygons read from files are split into triangles inside the face: a convex
/// one into a fan, a concave one by ear clipping; one that crosses itself is an error.
#[derive(Debug, Clone)]
pub struct Mesh {
    vertices: Vec<[f64; 3]>,
    triangles: Vec<[usize; 3]>,
}

impl Mesh {
    /// Checks and triangulates: at least one face, indices in range, finite vertices.
    pub fn new(path: &Path, vertices: Vec<[f64; 3]>, faces: Vec<Vec<usize>>) -> Result<Self> {
        if let Some(v) = vertices
            .iter()
            .position(|p| p.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::format(
                path,
                format!("vertex {v} has a non-finite coordinate"),
            ));
        }
        let mut triangles = Vec::with_capacity(faces.len());
        let frame = UnitFrame::of(&vertices);
        let unit: Vec<[f64; 3]> = vertices.iter().map(|&p| frame.apply(p)).collect();
        for (f, face) in faces.iter().enumerate() {
            if face.len() < 3 || face.iter().any(|&i| i >= vertices.len()) {
                return Err(Error::format(
                    path,
                    format!("face {f} is not a polygon of this mesh"),
                ));
            }
            let split = triangulate(face, &unit).map_err(|why| {
                let message = match why {
                    Refusal::SelfIntersecting => format!(
                        "face {f} is a polygon of {} vertices that crosses itself; split it into \
                         simple polygons or triangles",
                        face.len()
                    ),
                    Refusal::TooManyVertices(k) => format!(
                        "face {f} is a concave polygon of {k} vertices; at most \
                         {MAX_CONCAVE_VERTICES} are triangulated here: triangulate the mesh first"
                    ),
                };
                Error::format(path, message)
            })?;
            triangles.extend(split);
        }
        if triangles.is_empty() {
            return Err(Error::format(path, "the mesh has no faces to sample"));
        }
        Ok(Self {
            vertices,
            triangles,
        })
    }

    /// Reads an `.off` or `.ply` mesh (an error when it has no faces).
    pub fn read(path: &Path) -> Result<Self> {
        crate::formats::read_mesh_file(path)?
            .mesh
            .ok_or_else(|| Error::format(path, "the mesh has no faces to sample"))
    }

    /// The vertices.
    pub fn vertices(&self) -> &[[f64; 3]] {
        &self.vertices
    }

    /// The triangles, as vertex indices.
    pub fn triangles(&self) -> &[[usize; 3]] {
        &self.triangles
    }

    fn corners(&self, t: usize) -> [[f64; 3]; 3] {
        let [i, j, k] = self.triangles[t];
        [self.vertices[i], self.vertices[j], self.vertices[k]]
    }

    /// Whether the surface is closed: every edge is shared by exactly two triangles (a fan
    /// triangulation adds only interior edges, each shared by two triangles).
    pub fn is_closed(&self) -> bool {
        let mut edges: std::collections::HashMap<(usize, usize), u32> =
            std::collections::HashMap::with_capacity(self.triangles.len() * 3);
        for t in &self.triangles {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                *edges.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
        edges.values().all(|&c| c == 2)
    }

    /// Total surface area (infinite when it exceeds f64's range: a mesh larger than ~1e154).
    pub fn area(&self) -> f64 {
        let frame = UnitFrame::of(&self.vertices);
        let unit: f64 = (0..self.triangles.len())
            .map(|t| triangle_area(self.corners(t).map(|p| frame.apply(p))))
            .sum();
        frame.unscale_area(unit)
    }

    /// Most points [`Mesh::sample_surface`] draws (2²⁴, 400 MB of coordinates): larger counts are
    /// an error naming this limit, not an allocation that aborts.
    pub const MAX_SAMPLES: usize = 1 << 24;

    /// `n` points uniform on the surface: a triangle chosen with probability proportional to
    /// its area, then a uniform point in it (`√r₁` barycentric trick). Deterministic for a seeded
    /// `rng`. Errors when `n` is 0 or above [`Mesh::MAX_SAMPLES`], or the surface has zero area.
    pub fn sample_surface(&self, n: usize, rng: &mut impl Rng) -> Result<PointCloud> {
        if n == 0 || n > Self::MAX_SAMPLES {
            return Err(Error::InvalidParameter(format!(
                "cannot sample {n} points on a surface: from 1 to {} (2^24) points",
                Self::MAX_SAMPLES
            )));
        }
        let frame = UnitFrame::of(&self.vertices);
        let mut cumulative = Vec::with_capacity(self.triangles.len());
        let mut total = 0.0;
        for t in 0..self.triangles.len() {
            total += triangle_area(self.corners(t).map(|p| frame.apply(p)));
            cumulative.push(total);
        }
        if !(total > 0.0) {
            return Err(Error::InvalidInput("the mesh has zero surface area".into()));
        }
        let mut coords = Vec::with_capacity(3 * n);
        for _ in 0..n {
            let target = rng.random::<f64>() * total;
            let t = cumulative
                .partition_point(|&c| c <= target)
                .min(cumulative.len() - 1);
            let [a, b, c] = self.corners(t);
            let (r1, r2) = (rng.random::<f64>().sqrt(), rng.random::<f64>());
            for d in 0..3 {
                coords.push((1.0 - r1) * a[d] + r1 * (1.0 - r2) * b[d] + r1 * r2 * c[d]);
            }
        }
        Ok(PointCloud::from_flat(3, coords)?)
    }
}

/// The mesh's coordinates times `2^shift`, a power of two that brings the largest coordinate's
/// magnitude into [½, 1] (1 for a mesh of zeros).
#[derive(Clone, Copy, Debug)]
struct UnitFrame {
    shift: i32,
}

impl UnitFrame {
    fn of(vertices: &[[f64; 3]]) -> Self {
        let largest = vertices
            .iter()
            .flatten()
            .fold(0.0f64, |m, x| m.max(x.abs()));
        if !(largest > 0.0 && largest.is_finite()) {
            return Self { shift: 0 };
        }
        // largest = f · 2^e with f in [½, 1): its exponent, read from the bits (subnormals
        // normalized first by an exact scaling).
        let (scaled, extra) = if largest < f64::MIN_POSITIVE {
            (largest * 2f64.powi(64), 64)
        } else {
            (largest, 0)
        };
        let e = ((scaled.to_bits() >> 52) & 0x7ff) as i32 - 1022 - extra;
        Self { shift: -e }
    }

    /// `p · 2^shift`, exact (two factors, each within f64's range).
    fn apply(self, p: [f64; 3]) -> [f64; 3] {
        let (h, rest) = (self.shift / 2, self.shift - self.shift / 2);
        let (a, b) = (2f64.powi(h), 2f64.powi(rest));
        p.map(|x| x * a * b)
    }

    /// An area measured in the frame, in the mesh's units.
    fn unscale_area(self, area: f64) -> f64 {
        let (h, rest) = (-self.shift, -self.shift);
        area * 2f64.powi(h) * 2f64.powi(rest)
    }
}

/// The area of a triangle of the unit frame (coordinates at most 1 in magnitude, so the cross
/// product is at most 8; a triangle whose squared cross product underflows is measured by the
/// scaled norm instead).
fn triangle_area([a, b, c]: [[f64; 3]; 3]) -> f64 {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let cross = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let squared = cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2];
    if squared >= f64::MIN_POSITIVE * 2f64.powi(64) {
        return 0.5 * squared.sqrt();
    }
    let m = cross.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if m == 0.0 {
        return 0.0;
    }
    let [x, y, z] = cross.map(|c| c / m);
    0.5 * m * (x * x + y * y + z * z).sqrt()
}

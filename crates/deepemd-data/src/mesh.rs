//! Triangle meshes and area-weighted surface sampling (how ModelNet40's point clouds were made).

use std::path::Path;

use deepemd_core::PointCloud;
use rand::Rng;

use crate::error::{Error, Result};

/// A triangle mesh. Polygons read from files are split into fans of triangles.
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
        for (f, face) in faces.iter().enumerate() {
            if face.len() < 3 || face.iter().any(|&i| i >= vertices.len()) {
                return Err(Error::format(
                    path,
                    format!("face {f} is not a polygon of this mesh"),
                ));
            }
            for k in 1..face.len() - 1 {
                triangles.push([face[0], face[k], face[k + 1]]);
            }
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

    /// Total surface area.
    pub fn area(&self) -> f64 {
        (0..self.triangles.len())
            .map(|t| triangle_area(self.corners(t)))
            .sum()
    }

    /// `n` points uniform on the surface: a triangle chosen with probability proportional to
    /// its area, then a uniform point in it (`√r₁` barycentric trick). Deterministic for a seeded
    /// `rng`. Errors when the surface has zero area.
    pub fn sample_surface(&self, n: usize, rng: &mut impl Rng) -> Result<PointCloud> {
        let mut cumulative = Vec::with_capacity(self.triangles.len());
        let mut total = 0.0;
        for t in 0..self.triangles.len() {
            total += triangle_area(self.corners(t));
            cumulative.push(total);
        }
        if !(total > 0.0) {
            return Err(Error::InvalidParameter(
                "the mesh has zero surface area".into(),
            ));
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

fn triangle_area([a, b, c]: [[f64; 3]; 3]) -> f64 {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let cross = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    0.5 * (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt()
}

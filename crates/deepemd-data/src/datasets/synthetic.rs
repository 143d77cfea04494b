//! Synthetic shape sets in the ModelNet40 layout: filled 2-D shapes (the paper's first
//! experiment) and the surfaces of 3-D primitives, each instance randomly rotated and
//! stretched, then normalized to zero mean and unit radius.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use deepemd_core::PointCloud;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::normalize::normalize_unit_sphere;
use crate::error::{Error, Result};
use crate::hdf5::{
    MODELNET40_SHAPES_PER_FILE, ShapeFile, Split, WriteOptions, write_modelnet40_split,
};

/// Sizes and seed of a synthetic set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticOptions {
    /// Points per shape.
    pub points: usize,
    /// Training shapes per class.
    pub train_per_class: usize,
    /// Test shapes per class.
    pub test_per_class: usize,
    /// Seed of every shape.
    pub seed: u64,
}

impl Default for SyntheticOptions {
    fn default() -> Self {
        Self {
            points: 2048,
            train_per_class: 32,
            test_per_class: 8,
            seed: 7,
        }
    }
}

const SHAPES_2D: [&str; 7] = [
    "circle", "square", "triangle", "star", "cross", "crescent", "ring",
];
const SHAPES_3D: [&str; 5] = ["sphere", "cube", "cylinder", "cone", "torus"];

fn inside_2d(class: &str, x: f64, y: f64) -> bool {
    let r = (x * x + y * y).sqrt();
    match class {
        "circle" => r <= 1.0,
        "square" => x.abs() <= 0.8 && y.abs() <= 0.8,
        "triangle" => {
            // Equilateral, vertices at angles 90°, 210°, 330° on the unit circle.
            let v: Vec<(f64, f64)> = [90.0f64, 210.0, 330.0]
                .iter()
                .map(|d| (d.to_radians().cos(), d.to_radians().sin()))
                .collect();
            let side = |(ax, ay): (f64, f64), (bx, by): (f64, f64)| {
                (bx - ax) * (y - ay) - (by - ay) * (x - ax)
            };
            let s = [side(v[0], v[1]), side(v[1], v[2]), side(v[2], v[0])];
            s.iter().all(|&t| t >= 0.0) || s.iter().all(|&t| t <= 0.0)
        }
        "star" => {
            // Five points: the boundary radius varies between 0.4 and 1 with the angle.
            let t = y.atan2(x).rem_euclid(2.0 * PI / 5.0) / (2.0 * PI / 5.0);
            let tri = 1.0 - 2.0 * (t - 0.5).abs();
            r <= 0.4 + 0.6 * (1.0 - tri)
        }
        "cross" => (x.abs() <= 0.3 && y.abs() <= 1.0) || (y.abs() <= 0.3 && x.abs() <= 1.0),
        "crescent" => r <= 1.0 && ((x - 0.5).powi(2) + y * y).sqrt() > 0.8,
        "ring" => (0.6..=1.0).contains(&r),
        _ => unreachable!("unknown 2-D class {class}"),
    }
}

fn sample_2d(class: &str, n: usize, rng: &mut impl Rng) -> Vec<f64> {
    let mut out = Vec::with_capacity(2 * n);
    while out.len() < 2 * n {
        let (x, y) = (rng.random_range(-1.0..=1.0), rng.random_range(-1.0..=1.0));
        if inside_2d(class, x, y) {
            out.extend([x, y]);
        }
    }
    out
}

fn gaussian(rng: &mut impl Rng) -> f64 {
    Distribution::<f64>::sample(&StandardNormal, rng)
}

fn sample_3d(class: &str, n: usize, rng: &mut impl Rng) -> Vec<f64> {
    let mut out = Vec::with_capacity(3 * n);
    while out.len() < 3 * n {
        let p: Option<[f64; 3]> = match class {
            "sphere" => {
                let v = [gaussian(rng), gaussian(rng), gaussian(rng)];
                let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
                (r > 1e-9).then(|| [v[0] / r, v[1] / r, v[2] / r])
            }
            "cube" => {
                let face = rng.random_range(0..6);
                let (u, v) = (rng.random_range(-1.0..=1.0), rng.random_range(-1.0..=1.0));
                let s = if face % 2 == 0 { 1.0 } else { -1.0 };
                Some(match face / 2 {
                    0 => [s, u, v],
                    1 => [u, s, v],
                    _ => [u, v, s],
                })
            }
            "cylinder" => {
                // Radius 0.5, height 2: side area 2π, each cap π/4.
                let (side, cap) = (2.0 * PI, PI / 4.0);
                let t = rng.random::<f64>() * (side + 2.0 * cap);
                let a = rng.random::<f64>() * 2.0 * PI;
                if t < side {
                    Some([0.5 * a.cos(), 0.5 * a.sin(), rng.random_range(-1.0..=1.0)])
                } else {
                    let r = 0.5 * rng.random::<f64>().sqrt();
                    let z = if t < side + cap { 1.0 } else { -1.0 };
                    Some([r * a.cos(), r * a.sin(), z])
                }
            }
            "cone" => {
                // Base radius 1 at z = -1, apex at z = 1: side area π√5, base π.
                let (side, base) = (PI * 5f64.sqrt(), PI);
                let a = rng.random::<f64>() * 2.0 * PI;
                if rng.random::<f64>() * (side + base) < side {
                    let s = rng.random::<f64>().sqrt(); // distance from the apex, area-uniform
                    Some([s * a.cos(), s * a.sin(), 1.0 - 2.0 * s])
                } else {
                    let r = rng.random::<f64>().sqrt();
                    Some([r * a.cos(), r * a.sin(), -1.0])
                }
            }
            "torus" => {
                // R = 1, r = 0.35; accept φ with probability ∝ R + r cos φ (area element).
                let (big, small) = (1.0, 0.35);
                let (th, ph) = (
                    rng.random::<f64>() * 2.0 * PI,
                    rng.random::<f64>() * 2.0 * PI,
                );
                let w = (big + small * ph.cos()) / (big + small);
                (rng.random::<f64>() < w).then(|| {
                    let ring = big + small * ph.cos();
                    [ring * th.cos(), ring * th.sin(), small * ph.sin()]
                })
            }
            _ => unreachable!("unknown 3-D class {class}"),
        };
        if let Some(p) = p {
            out.extend(p);
        }
    }
    out
}

/// A random rotation (uniform in 2-D; from a random unit quaternion in 3-D) followed by an
/// anisotropic stretch in [0.7, 1.3] per axis.
fn random_pose(coords: &mut [f64], dim: usize, rng: &mut impl Rng) {
    let stretch: Vec<f64> = (0..dim).map(|_| rng.random_range(0.7..=1.3)).collect();
    let rot = random_rotation(dim, rng);
    for p in coords.chunks_exact_mut(dim) {
        let q: Vec<f64> = (0..dim)
            .map(|i| (0..dim).map(|j| rot[i * dim + j] * p[j]).sum::<f64>() * stretch[i])
            .collect();
        p.copy_from_slice(&q);
    }
}

/// A uniformly random rotation matrix, row-major.
pub(crate) fn random_rotation(dim: usize, rng: &mut impl Rng) -> Vec<f64> {
    if dim == 2 {
        let a = rng.random::<f64>() * 2.0 * PI;
        return vec![a.cos(), -a.sin(), a.sin(), a.cos()];
    }
    let q: Vec<f64> = (0..4).map(|_| gaussian(rng)).collect();
    let n = q.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    let (w, x, y, z) = (q[0] / n, q[1] / n, q[2] / n, q[3] / n);
    vec![
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    ]
}

/// A rotation by `angle` (radians) about a uniformly random axis (in 2-D, by ±`angle`).
pub fn random_rotation_near_identity(dim: usize, angle: f64, rng: &mut impl Rng) -> Vec<f64> {
    if dim == 2 {
        let a = if rng.random_bool(0.5) { angle } else { -angle };
        return vec![a.cos(), -a.sin(), a.sin(), a.cos()];
    }
    let v = [gaussian(rng), gaussian(rng), gaussian(rng)];
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-12);
    let (x, y, z) = (v[0] / n, v[1] / n, v[2] / n);
    let (c, s) = (angle.cos(), angle.sin());
    let t = 1.0 - c;
    // Rodrigues' formula.
    vec![
        t * x * x + c,
        t * x * y - s * z,
        t * x * z + s * y,
        t * x * y + s * z,
        t * y * y + c,
        t * y * z - s * x,
        t * x * z - s * y,
        t * y * z + s * x,
        t * z * z + c,
    ]
}

fn build(
    out: &Path,
    dim: usize,
    classes: &[&str],
    sampler: fn(&str, usize, &mut ChaCha8Rng) -> Vec<f64>,
    options: SyntheticOptions,
) -> Result<Vec<PathBuf>> {
    if options.points == 0 || options.train_per_class == 0 || options.test_per_class == 0 {
        return Err(Error::InvalidParameter(
            "points and shapes per class must be at least 1".into(),
        ));
    }
    let names: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    let mut written = Vec::new();
    for (split, per_class, salt) in [
        ("train", options.train_per_class, 0u64),
        ("test", options.test_per_class, 1),
    ] {
        let mut shapes = ShapeFile {
            data: Vec::new(),
            n_items: 0,
            n_points: options.points,
            dim,
            labels: Vec::new(),
            pid: None,
            mesh_id: None,
        };
        for (label, class) in classes.iter().enumerate() {
            for k in 0..per_class {
                let seed = options.seed ^ (salt << 60) ^ ((label as u64) << 32) ^ k as u64;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut coords = sampler(class, options.points, &mut rng);
                random_pose(&mut coords, dim, &mut rng);
                let cloud = normalize_unit_sphere(&PointCloud::from_flat(dim, coords)?);
                shapes.data.extend(cloud.to_f32());
                shapes.labels.push(label as u8);
                shapes.n_items += 1;
            }
        }
        written.extend(write_modelnet40_split(
            out,
            split,
            &names,
            &shapes,
            MODELNET40_SHAPES_PER_FILE,
            WriteOptions::default(),
        )?);
    }
    Ok(written)
}

/// Filled 2-D shapes (circle, square, triangle, star, cross, crescent, ring), data `[N, P, 2]`.
pub fn build_synthetic_2d(out: &Path, options: SyntheticOptions) -> Result<Vec<PathBuf>> {
    build(out, 2, &SHAPES_2D, sample_2d, options)
}

/// Surfaces of 3-D primitives (sphere, cube, cylinder, cone, torus), data `[N, P, 3]`.
pub fn build_synthetic_3d(out: &Path, options: SyntheticOptions) -> Result<Vec<PathBuf>> {
    build(out, 3, &SHAPES_3D, sample_3d, options)
}

/// Writes a user's split (ModelNet40 or ShapeNet part) into `out` in the ModelNet40 layout with
/// every shape re-normalized to zero mean and unit radius, so downstream code reads all
/// datasets the same way.
pub fn renormalize_split(split: &Split, out: &Path) -> Result<Vec<PathBuf>> {
    let mut shapes = split.shapes.clone();
    let stride = shapes.n_points * shapes.dim;
    for k in 0..shapes.n_items {
        let cloud = normalize_unit_sphere(&split.shapes.cloud(k)?);
        shapes.data[k * stride..(k + 1) * stride].copy_from_slice(&cloud.to_f32());
    }
    write_modelnet40_split(
        out,
        &split.name,
        &split.class_names,
        &shapes,
        MODELNET40_SHAPES_PER_FILE,
        WriteOptions::default(),
    )
}

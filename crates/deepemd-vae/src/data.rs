//! Training and evaluation clouds from real meshes. Training draws every step afresh: each
//! cloud is a new surface sample of a random mesh of the split, rotated about the vertical
//! (y) axis by a random angle, scaled by a random factor per axis, then normalized to zero mean
//! and unit largest radius (ModelNet40's convention). A step's clouds depend only on
//! (seed, step), so a resumed run sees the batches the uninterrupted run saw.

use candle_core::{Device, Tensor};
use deepemd_core::PointCloud;
use deepemd_data::Mesh;
use deepemd_data::datasets::{
    MeshDatasetOptions, normalize_unit_sphere, read_manifest, sample_split,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::config::MeshSource;
use crate::error::{Error, Result};

/// The meshes of one split, read once.
#[derive(Debug)]
pub struct MeshPool {
    meshes: Vec<Mesh>,
}

impl MeshPool {
    /// Reads every mesh of `split` in the manifest.
    pub fn open(source: &MeshSource, split: &str) -> Result<Self> {
        let manifest = read_manifest(&source.manifest)?;
        let meshes = manifest
            .par_iter()
            .filter(|e| e.split == split)
            .map(|e| Mesh::read(&source.meshes.join(&e.file)))
            .collect::<Result<Vec<_>, _>>()?;
        if meshes.is_empty() {
            return Err(Error::Config(format!(
                "{}: no mesh is in split '{split}'",
                source.manifest.display()
            )));
        }
        Ok(Self { meshes })
    }

    /// How many meshes.
    pub fn len(&self) -> usize {
        self.meshes.len()
    }

    /// Whether the pool is empty (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.meshes.is_empty()
    }

    /// The `batch` clouds of step `step`, `points` points each, augmented (see the module
    /// documentation), as `[batch, points, 3]` f32 on `device`.
    pub fn batch(
        &self,
        points: usize,
        batch: usize,
        scale_jitter: f64,
        seed: u64,
        step: usize,
        device: &Device,
    ) -> Result<Tensor> {
        let clouds: Vec<Vec<f32>> = (0..batch)
            .into_par_iter()
            .map(|item| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xda7a_5eed);
                rng.set_stream(((step as u64) << 16) | item as u64);
                let mesh = &self.meshes[rng.random_range(0..self.meshes.len())];
                let cloud = mesh.sample_surface(points, &mut rng)?;
                let angle = rng.random_range(0.0..std::f64::consts::TAU);
                let scales: [f64; 3] =
                    std::array::from_fn(|_| 1.0 + rng.random_range(-scale_jitter..=scale_jitter));
                Ok(augment(&cloud, angle, scales)?.to_f32())
            })
            .collect::<Result<_>>()?;
        let flat: Vec<f32> = clouds.concat();
        Ok(Tensor::from_vec(flat, (batch, points, 3), device)?)
    }
}

/// Rotates `cloud` about the y axis by `angle`, scales each axis, and normalizes it to zero
/// mean and unit largest radius.
pub fn augment(cloud: &PointCloud, angle: f64, scales: [f64; 3]) -> Result<PointCloud> {
    let (s, c) = angle.sin_cos();
    let coords: Vec<f64> = cloud
        .points()
        .flat_map(|p| {
            let (x, y, z) = (c * p[0] + s * p[2], p[1], -s * p[0] + c * p[2]);
            [x * scales[0], y * scales[1], z * scales[2]]
        })
        .collect();
    Ok(normalize_unit_sphere(&PointCloud::from_flat(3, coords)?))
}

/// `count` fixed evaluation clouds of `points` points from the meshes of `split` (every mesh
/// sampled alike, then `count` spread evenly over them), normalized, not augmented. Seeded by
/// `seed`; the SHA-256 of every mesh is checked against the manifest.
pub fn evaluation_clouds(
    source: &MeshSource,
    split: &str,
    points: usize,
    count: usize,
    seed: u64,
) -> Result<Vec<PointCloud>> {
    let manifest = read_manifest(&source.manifest)?;
    let meshes = manifest.iter().filter(|e| e.split == split).count().max(1);
    let options = MeshDatasetOptions {
        points,
        samples_train: 1,
        samples_eval: count.div_ceil(meshes),
        seed,
    };
    let shapes = sample_split(&source.meshes, &manifest, split, options)?;
    let total = shapes.n_items;
    let count = count.min(total);
    (0..count)
        .map(|k| Ok(shapes.cloud(k * total / count)?))
        .collect()
}

/// Clouds of equal size as one `[B, n, 3]` f32 tensor.
pub fn to_tensor(clouds: &[PointCloud], device: &Device) -> Result<Tensor> {
    let n = clouds.first().map_or(0, |c| c.len());
    let flat: Vec<f32> = clouds.iter().flat_map(|c| c.to_f32()).collect();
    Ok(Tensor::from_vec(flat, (clouds.len(), n, 3), device)?)
}

/// A batch `[B, n, 3]` as clouds (f64).
pub fn to_clouds(batch: &Tensor) -> Result<Vec<PointCloud>> {
    let (b, n, d) = batch.dims3()?;
    let flat: Vec<f32> = batch
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    (0..b)
        .map(|k| {
            Ok(PointCloud::from_flat_f32(
                d,
                &flat[k * n * d..(k + 1) * n * d],
            )?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmentation_rotates_about_y_and_normalizes() {
        let cloud = PointCloud::from_points(&[[1.0, 0.0, 0.0], [-1.0, 0.5, 0.0], [0.0, -0.5, 0.2]])
            .unwrap();
        let out = augment(&cloud, 1.0, [1.0, 1.0, 1.0]).unwrap();
        let c = out.centroid();
        assert!(c.iter().all(|x| x.abs() < 1e-12), "{c:?}");
        assert!((out.max_radius_from(&c) - 1.0).abs() < 1e-12);
        // A rotation about y keeps the y coordinates' spread; the pairwise distances too.
        let d = |p: &[f64], q: &[f64]| -> f64 {
            p.iter()
                .zip(q)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let plain = augment(&cloud, 0.0, [1.0, 1.0, 1.0]).unwrap();
        for (i, j) in [(0, 1), (1, 2), (0, 2)] {
            assert!(
                (d(out.point(i), out.point(j)) - d(plain.point(i), plain.point(j))).abs() < 1e-12
            );
        }
        assert!((out.point(0)[1] - plain.point(0)[1]).abs() < 1e-12);
    }
}

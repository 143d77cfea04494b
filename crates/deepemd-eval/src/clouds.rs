//! The benchmark cloud sets, deterministic for a seed, identical for every method.

use std::path::{Path, PathBuf};

use crate::error::Result;
use deepemd_core::PointCloud;
use deepemd_core::synthetic::{jitter, sphere, uniform_cube};
use deepemd_data::Mesh;
use deepemd_data::datasets::normalize_unit_sphere;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A family of benchmark pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloudSet {
    /// Two independent uniform samples of the unit cube.
    UniformCube,
    /// A uniform sample of the unit sphere and a second sample with Gaussian noise (σ = 0.05).
    SphereVsNoisySphere,
    /// Real shapes: the Stanford bunny against the Stanford armadillo, both sampled on their
    /// surface and normalized to unit radius (meshes from CGAL's data, see datasets/README.md).
    RealShapes {
        /// Folder holding `bunny00.off` and `armadillo.off`.
        meshes: PathBuf,
    },
}

impl CloudSet {
    /// The synthetic sets, plus the real shapes when `meshes` holds them.
    pub fn all(meshes: Option<&Path>) -> Vec<CloudSet> {
        let mut sets = vec![CloudSet::UniformCube, CloudSet::SphereVsNoisySphere];
        if let Some(dir) =
            meshes.filter(|d| d.join("bunny00.off").exists() && d.join("armadillo.off").exists())
        {
            sets.push(CloudSet::RealShapes {
                meshes: dir.to_path_buf(),
            });
        }
        sets
    }

    /// The set a command-line key names: `cube`, `sphere`, or `real` (bunny vs armadillo, from
    /// the meshes in `meshes`, which it requires).
    pub fn from_key(key: &str, meshes: Option<PathBuf>) -> std::result::Result<CloudSet, String> {
        match key {
            "cube" => Ok(CloudSet::UniformCube),
            "sphere" => Ok(CloudSet::SphereVsNoisySphere),
            "real" => meshes
                .map(|meshes| CloudSet::RealShapes { meshes })
                .ok_or_else(|| "the set `real` needs the meshes folder".into()),
            other => Err(format!("unknown set {other:?} (cube, sphere or real)")),
        }
    }

    /// The key [`Self::from_key`] reads back (the meshes folder travels separately).
    pub fn key(&self) -> &'static str {
        match self {
            CloudSet::UniformCube => "cube",
            CloudSet::SphereVsNoisySphere => "sphere",
            CloudSet::RealShapes { .. } => "real",
        }
    }

    /// The set's name in tables.
    pub fn name(&self) -> &'static str {
        match self {
            CloudSet::UniformCube => "uniform cube",
            CloudSet::SphereVsNoisySphere => "sphere vs noisy sphere",
            CloudSet::RealShapes { .. } => "bunny vs armadillo",
        }
    }

    /// The pair of `n`-point clouds of this set for `seed`.
    pub fn pair(&self, n: usize, seed: u64) -> Result<(PointCloud, PointCloud)> {
        self.pair_sized(n, n, seed)
    }

    /// A pair of this set with `n` points in the first cloud and `m` in the second (for
    /// `n = m` the same pair as [`Self::pair`]).
    pub fn pair_sized(&self, n: usize, m: usize, seed: u64) -> Result<(PointCloud, PointCloud)> {
        let sizes = if n == m {
            (n as u64) << 20
        } else {
            (n as u64) << 20 ^ (m as u64) << 40
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ sizes);
        Ok(match self {
            CloudSet::UniformCube => (uniform_cube(n, 3, &mut rng)?, uniform_cube(m, 3, &mut rng)?),
            CloudSet::SphereVsNoisySphere => {
                let a = sphere(n, 3, &mut rng)?;
                let b = jitter(&sphere(m, 3, &mut rng)?, 0.05, &mut rng)?;
                (a, b)
            }
            CloudSet::RealShapes { meshes } => {
                let mut sample = |name: &str, k: usize| -> Result<PointCloud> {
                    let mesh = Mesh::read(&meshes.join(name))?;
                    Ok(normalize_unit_sphere(&mesh.sample_surface(k, &mut rng)?))
                };
                (sample("bunny00.off", n)?, sample("armadillo.off", m)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_to_their_sets() {
        let meshes = PathBuf::from("meshes");
        let sets = [
            CloudSet::UniformCube,
            CloudSet::SphereVsNoisySphere,
            CloudSet::RealShapes {
                meshes: meshes.clone(),
            },
        ];
        for set in sets {
            assert_eq!(CloudSet::from_key(set.key(), Some(meshes.clone())), Ok(set));
        }
        assert!(
            CloudSet::from_key("real", None)
                .unwrap_err()
                .contains("meshes")
        );
        assert!(
            CloudSet::from_key("cubes", None)
                .unwrap_err()
                .contains("cubes")
        );
    }
}

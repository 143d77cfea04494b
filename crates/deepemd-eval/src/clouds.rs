//! The benchmark cloud sets, deterministic for a seed, identical for every method.

use deepemd_core::PointCloud;
use deepemd_core::synthetic::{jitter, sphere, uniform_cube};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A family of benchmark pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudSet {
    /// Two independent uniform samples of the unit cube.
    UniformCube,
    /// A uniform sample of the unit sphere and a second sample with Gaussian noise (σ = 0.05).
    SphereVsNoisySphere,
}

impl CloudSet {
    /// Every set, in table order.
    pub const ALL: [CloudSet; 2] = [CloudSet::UniformCube, CloudSet::SphereVsNoisySphere];

    /// The set's name in tables.
    pub fn name(self) -> &'static str {
        match self {
            CloudSet::UniformCube => "uniform cube",
            CloudSet::SphereVsNoisySphere => "sphere vs noisy sphere",
        }
    }

    /// The pair of `n`-point clouds of this set for `seed`.
    pub fn pair(self, n: usize, seed: u64) -> (PointCloud, PointCloud) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (n as u64) << 20);
        match self {
            CloudSet::UniformCube => (uniform_cube(n, 3, &mut rng), uniform_cube(n, 3, &mut rng)),
            CloudSet::SphereVsNoisySphere => {
                let a = sphere(n, 3, &mut rng);
                let b = jitter(&sphere(n, 3, &mut rng), 0.05, &mut rng);
                (a, b)
            }
        }
    }
}

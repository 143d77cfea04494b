//! Seeded random clouds for tests, benches and peer comparisons: the uniform cube, the sphere
//! and a noisy copy. Real shapes live in `deepemd-data`.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::point_cloud::PointCloud;

/// `n` points uniform in `[0, 1]^dim`.
pub fn uniform_cube(n: usize, dim: usize, rng: &mut impl Rng) -> PointCloud {
    let coords = (0..n * dim).map(|_| rng.random::<f64>()).collect();
    PointCloud::from_flat(dim, coords).expect("uniform samples are finite")
}

/// `n` points uniform on the unit sphere (the unit circle in 2-D).
pub fn sphere(n: usize, dim: usize, rng: &mut impl Rng) -> PointCloud {
    let mut coords = Vec::with_capacity(n * dim);
    while coords.len() < n * dim {
        let p: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(rng)).collect();
        let r = p.iter().map(|x| x * x).sum::<f64>().sqrt();
        if r > 1e-12 {
            coords.extend(p.iter().map(|x| x / r));
        }
    }
    PointCloud::from_flat(dim, coords).expect("normalized samples are finite")
}

/// Adds isotropic Gaussian noise of standard deviation `sigma` to every coordinate.
pub fn jitter(cloud: &PointCloud, sigma: f64, rng: &mut impl Rng) -> PointCloud {
    let coords = cloud
        .as_flat()
        .iter()
        .map(|x| x + sigma * Distribution::<f64>::sample(&StandardNormal, rng))
        .collect::<Vec<f64>>();
    PointCloud::from_flat(cloud.dim(), coords).expect("jittered samples are finite")
}

/// `n` points from a standard normal in `dim` dimensions.
pub fn gaussian(n: usize, dim: usize, rng: &mut impl Rng) -> PointCloud {
    let coords = (0..n * dim)
        .map(|_| Distribution::<f64>::sample(&StandardNormal, rng))
        .collect::<Vec<f64>>();
    PointCloud::from_flat(dim, coords).expect("normal samples are finite")
}

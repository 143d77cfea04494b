//! Seeded random clouds for tests, benches and peer comparisons: the uniform cube, the sphere
//! and a noisy copy. Real shapes live in `deepemd-data`. Like every constructor of a cloud they
//! return an error, not a panic, for what makes no cloud: no points, a dimension other than 2
//! or 3, a non-finite noise level.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::Result;
use crate::point_cloud::PointCloud;

/// `n` points uniform in `[0, 1]^dim`.
pub fn uniform_cube(n: usize, dim: usize, rng: &mut impl Rng) -> Result<PointCloud> {
    let coords = (0..n * dim).map(|_| rng.random::<f64>()).collect();
    PointCloud::from_flat(dim, coords)
}

/// `n` points uniform on the unit sphere (the unit circle in 2-D).
pub fn sphere(n: usize, dim: usize, rng: &mut impl Rng) -> Result<PointCloud> {
    if dim == 0 {
        // No direction to normalize: the loop below would never end.
        return PointCloud::from_flat(dim, Vec::new());
    }
    let mut coords = Vec::with_capacity(n * dim);
    while coords.len() < n * dim {
        let p: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(rng)).collect();
        let r = p.iter().map(|x| x * x).sum::<f64>().sqrt();
        if r > 1e-12 {
            coords.extend(p.iter().map(|x| x / r));
        }
    }
    PointCloud::from_flat(dim, coords)
}

/// Adds isotropic Gaussian noise of standard deviation `sigma` to every coordinate.
pub fn jitter(cloud: &PointCloud, sigma: f64, rng: &mut impl Rng) -> Result<PointCloud> {
    let coords = cloud
        .as_flat()
        .iter()
        .map(|x| x + sigma * Distribution::<f64>::sample(&StandardNormal, rng))
        .collect::<Vec<f64>>();
    PointCloud::from_flat(cloud.dim(), coords)
}

/// `n` points from a standard normal in `dim` dimensions.
pub fn gaussian(n: usize, dim: usize, rng: &mut impl Rng) -> Result<PointCloud> {
    let coords = (0..n * dim)
        .map(|_| Distribution::<f64>::sample(&StandardNormal, rng))
        .collect::<Vec<f64>>();
    PointCloud::from_flat(dim, coords)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn what_makes_no_cloud_is_an_error_not_a_panic() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert!(uniform_cube(0, 3, &mut rng).is_err());
        assert!(sphere(0, 3, &mut rng).is_err());
        assert!(sphere(5, 0, &mut rng).is_err());
        assert!(gaussian(4, 7, &mut rng).is_err());
        let c = uniform_cube(4, 2, &mut rng).unwrap();
        assert!(jitter(&c, f64::NAN, &mut rng).is_err());
        assert_eq!(jitter(&c, 0.1, &mut rng).unwrap().len(), 4);
    }
}

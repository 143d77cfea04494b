//! Perturbations that turn a cloud into a nearby copy: jitter, rotation, anisotropic scale,
//! a smooth local deformation.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::datasets::random_rotation_near_identity;

fn gaussian(rng: &mut impl Rng) -> f64 {
    Distribution::<f64>::sample(&StandardNormal, rng)
}

/// Applies each perturbation with probability 1/2 (at least one) with random magnitude.
pub(crate) fn perturb(coords: &mut [f64], dim: usize, rng: &mut impl Rng) {
    let mut chosen = [false; 4];
    while !chosen.iter().any(|&c| c) {
        chosen.iter_mut().for_each(|c| *c = rng.random_bool(0.5));
    }
    if chosen[0] {
        let sigma = rng.random_range(0.002..0.03);
        coords.iter_mut().for_each(|x| *x += sigma * gaussian(rng));
    }
    if chosen[1] {
        let rot =
            random_rotation_near_identity(dim, rng.random_range(0.0..25f64.to_radians()), rng);
        apply_linear(coords, dim, &rot);
    }
    if chosen[2] {
        let mut m = vec![0.0; dim * dim];
        for d in 0..dim {
            m[d * dim + d] = rng.random_range(0.85..1.15);
        }
        apply_linear(coords, dim, &m);
    }
    if chosen[3] {
        // A Gaussian bump: points near a random center move by up to |shift|.
        let n = coords.len() / dim;
        let center: Vec<f64> = coords[rng.random_range(0..n) * dim..][..dim].to_vec();
        let radius: f64 = rng.random_range(0.2..0.5);
        let shift: Vec<f64> = (0..dim).map(|_| 0.1 * gaussian(rng)).collect();
        for p in coords.chunks_exact_mut(dim) {
            let d2: f64 = p.iter().zip(&center).map(|(x, c)| (x - c) * (x - c)).sum();
            let w = (-d2 / (2.0 * radius * radius)).exp();
            p.iter_mut().zip(&shift).for_each(|(x, s)| *x += w * s);
        }
    }
}

fn apply_linear(coords: &mut [f64], dim: usize, m: &[f64]) {
    let mut q = [0.0; 3];
    for p in coords.chunks_exact_mut(dim) {
        for i in 0..dim {
            q[i] = (0..dim).map(|j| m[i * dim + j] * p[j]).sum();
        }
        p.copy_from_slice(&q[..dim]);
    }
}

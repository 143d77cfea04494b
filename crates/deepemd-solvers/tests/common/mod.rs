//! Helpers shared by the solver tests.
#![allow(dead_code)]

use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud, Unequal};
use deepemd_solvers::{Exact, Hungarian};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Every exact solver, so each property is checked on all of them.
pub fn exact_solvers() -> Vec<Box<dyn EmdEstimator>> {
    vec![Box::new(Hungarian), Box::new(Exact::default())]
}

pub fn emd(solver: &dyn EmdEstimator, a: &PointCloud, b: &PointCloud, cost: Cost) -> f64 {
    solver
        .estimate(a, b, EmdRequest::new(cost).with_unequal(Unequal::Partial))
        .unwrap()
        .distance
}

/// The minimum mean cost over all injective maps from the smaller cloud, by enumeration.
pub fn brute_force_emd(a: &PointCloud, b: &PointCloud, cost: Cost) -> f64 {
    let (small, large, swapped) = if a.len() <= b.len() {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let k = small.len();
    let mut best = f64::INFINITY;
    let mut used = vec![false; large.len()];
    fn go(
        i: usize,
        acc: f64,
        small: &PointCloud,
        large: &PointCloud,
        cost: Cost,
        swapped: bool,
        used: &mut [bool],
        best: &mut f64,
    ) {
        if i == small.len() {
            *best = best.min(acc);
            return;
        }
        for j in 0..large.len() {
            if !used[j] {
                used[j] = true;
                let c = if swapped {
                    cost.between(large.point(j), small.point(i))
                } else {
                    cost.between(small.point(i), large.point(j))
                };
                go(i + 1, acc + c, small, large, cost, swapped, used, best);
                used[j] = false;
            }
        }
    }
    go(0, 0.0, small, large, cost, swapped, &mut used, &mut best);
    best / k as f64
}

/// |x − y| relative to the larger of the two (symmetric, so the argument order never matters).
pub fn rel_diff(x: f64, y: f64) -> f64 {
    (x - y).abs() / x.abs().max(y.abs()).max(1e-300)
}

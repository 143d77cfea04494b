//! Cheap certified lower bounds on the exact EMD of two clouds of equal size (Euclidean cost,
//! the mean distance over the optimal matching), for the pruned nearest-neighbour search.
//! Proofs in docs/math.md ("Lower bounds for the pruned search"):
//!
//! - **Centroids**: `‖ā − b̄‖ = ‖(1/n) Σ_i (a_i − b_σ(i))‖ ≤ (1/n) Σ_i ‖a_i − b_σ(i)‖` for every
//!   matching σ (the triangle inequality), so it is at most the EMD.
//! - **Projections**: for a unit vector θ, `|⟨a_i − b_j, θ⟩| ≤ ‖a_i − b_j‖` (Cauchy–Schwarz), so
//!   the 1-D EMD of the projections — the mean of `|x_(k) − y_(k)|` over the sorted values,
//!   the optimal 1-D matching — is at most the EMD. Each cloud's sorted projections are
//!   computed once ([`CloudSketch`]); a pair then costs O(n) per direction.
//!
//! The tighter dual bound (`deepemd_solvers::dual_lower_bound`) is for the candidates that
//! survive these.

use deepemd_core::PointCloud;

/// A cloud's centroid and its sorted projections on the fixed [`directions`].
#[derive(Clone, Debug)]
pub struct CloudSketch {
    centroid: Vec<f64>,
    /// One sorted vector of projections per direction.
    projections: Vec<Vec<f64>>,
}

/// The projection directions for clouds of dimension `dim`: the axes, and for every pair of
/// axes their two diagonals `(e_i ± e_j)/√2` (3-D: 3 + 6 = 9 directions). Fixed, so a
/// sketch depends only on its cloud.
pub fn directions(dim: usize) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for i in 0..dim {
        let mut e = vec![0.0; dim];
        e[i] = 1.0;
        out.push(e);
    }
    let h = std::f64::consts::FRAC_1_SQRT_2;
    for i in 0..dim {
        for j in i + 1..dim {
            for sign in [1.0, -1.0] {
                let mut e = vec![0.0; dim];
                (e[i], e[j]) = (h, sign * h);
                out.push(e);
            }
        }
    }
    out
}

impl CloudSketch {
    /// The sketch of `cloud` (O(n log n) per direction).
    pub fn new(cloud: &PointCloud) -> Self {
        let n = cloud.len().max(1) as f64;
        let mut centroid = vec![0.0; cloud.dim()];
        for p in cloud.points() {
            for (c, x) in centroid.iter_mut().zip(p) {
                *c += x;
            }
        }
        centroid.iter_mut().for_each(|c| *c /= n);
        let projections = directions(cloud.dim())
            .iter()
            .map(|theta| {
                let mut v: Vec<f64> = cloud.points().map(|p| dot(p, theta)).collect();
                v.sort_by(f64::total_cmp);
                v
            })
            .collect();
        Self {
            centroid,
            projections,
        }
    }

    /// The larger of the centroid bound and the best projection bound against `other` (a
    /// cloud of the same size and dimension).
    pub fn lower_bound(&self, other: &CloudSketch) -> f64 {
        let centroids = self
            .centroid
            .iter()
            .zip(&other.centroid)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        self.projections
            .iter()
            .zip(&other.projections)
            .map(|(x, y)| one_dimensional_emd(x, y))
            .fold(centroids, f64::max)
    }
}

fn dot(p: &[f64], theta: &[f64]) -> f64 {
    p.iter().zip(theta).map(|(a, b)| a * b).sum()
}

/// The EMD of two sorted samples of equal size on the line: the mean of `|x_k − y_k|`.
fn one_dimensional_emd(x: &[f64], y: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / x.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_are_unit_vectors_and_distinct() {
        for dim in 1..5 {
            let d = directions(dim);
            assert_eq!(d.len(), dim + dim * (dim - 1));
            for e in &d {
                assert!((dot(e, e) - 1.0).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn the_one_dimensional_emd_is_the_sorted_matching() {
        // {0, 3} against {1, 2}: sorted matching |0−1| + |3−2| = 2, mean 1.
        assert_eq!(one_dimensional_emd(&[0.0, 3.0], &[1.0, 2.0]), 1.0);
    }
}

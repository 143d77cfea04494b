//! The Chamfer distance, PointFlow's convention (docs/math.md): for clouds X (n points) and
//! Y (m points),
//! `CD(X, Y) = (1/n) Σ_x min_y ‖x − y‖² + (1/m) Σ_y min_x ‖x − y‖²`,
//! both directions, squared distances, each direction averaged. Note the units: a squared
//! length, where the EMD of this project is a length.

use deepemd_core::PointCloud;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::nearest_index::NearestIndex;
use crate::pair_jobs::{PairJob, pair_jobs};
use crate::set_metrics::DistanceMatrices;
use crate::watch::Watch;

/// The Chamfer distance of two clouds in f64 (a reference and the metric of
/// [`crate::generation_metrics`]). O(n·m) time, O(1) memory.
pub fn chamfer_distance(x: &PointCloud, y: &PointCloud) -> Result<f64> {
    if x.dim() != y.dim() {
        return Err(Error::Sets(format!(
            "a {}-D cloud and a {}-D cloud have no Chamfer distance",
            x.dim(),
            y.dim()
        )));
    }
    let one_way = |from: &PointCloud, to: &PointCloud| -> f64 {
        let total: f64 = from
            .points()
            .map(|p| {
                to.points()
                    .map(|q| squared(p, q))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        total / from.len() as f64
    };
    Ok(one_way(x, y) + one_way(y, x))
}

/// `‖p − q‖²`, summed in coordinate order (the k-d tree's `squared3` is the same number).
fn squared(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
}

/// A lower bound on the EMD of two clouds of equal size: the larger of the mean distances from
/// each cloud's points to the other cloud (see [`CloudTrees::nearest_distance_bound`]; this
/// builds the two trees for one pair).
pub fn nearest_distance_bound(a: &PointCloud, b: &PointCloud) -> f64 {
    let (ta, tb) = (NearestIndex::new(a), NearestIndex::new(b));
    ta.mean_nearest_distance(&tb)
        .max(tb.mean_nearest_distance(&ta))
}

/// Every Chamfer distance the metrics need (the jobs of [`pair_jobs`]), in parallel through
/// the sets' [`CloudTrees`]. `watch` ticks once per distance.
pub(crate) fn chamfer_matrices(
    trees: &CloudTrees,
    (nr, ng): (usize, usize),
    watch: &Watch,
) -> Result<DistanceMatrices> {
    let values: Vec<f64> = pair_jobs(nr, ng)
        .par_iter()
        .map(|&job| {
            watch.check()?;
            let d = trees.chamfer(job);
            watch.tick();
            Ok(d)
        })
        .collect::<Result<_>>()?;
    Ok(DistanceMatrices::from_values(nr, ng, &values))
}

/// Every cloud of two sets in a k-d tree, built once: Chamfer distances equal to
/// [`chamfer_distance`] bit for bit (the same minima, summed in the same order), in
/// O(n log n) per pair instead of O(n²); and the nearest-distance lower bound of the EMD.
pub(crate) struct CloudTrees {
    reference: Vec<NearestIndex>,
    generated: Vec<NearestIndex>,
}

impl CloudTrees {
    /// The trees of both sets (in parallel); clouds of one dimension, checked by the caller.
    pub fn new(reference: &[PointCloud], generated: &[PointCloud]) -> Self {
        Self {
            reference: reference.par_iter().map(NearestIndex::new).collect(),
            generated: generated.par_iter().map(NearestIndex::new).collect(),
        }
    }

    fn trees(&self, job: PairJob) -> (&NearestIndex, &NearestIndex) {
        let (r, g) = (&self.reference, &self.generated);
        match job {
            PairJob::ReferenceGenerated(i, j) => (&r[i], &g[j]),
            PairJob::ReferenceReference(i, j) => (&r[i], &r[j]),
            PairJob::GeneratedGenerated(i, j) => (&g[i], &g[j]),
        }
    }

    /// The Chamfer distance of a job's two clouds.
    pub fn chamfer(&self, job: PairJob) -> f64 {
        let (a, b) = self.trees(job);
        a.one_way(b) + b.one_way(a)
    }

    /// A lower bound on the EMD of a job's two clouds (of equal size): the larger of the mean
    /// distances from each cloud's points to the other cloud. The dual potentials `v = 0`,
    /// `u_i = min_j ‖a_i − b_j‖` are feasible, so `(1/n) Σ_i u_i` is at most the EMD (weak
    /// duality), and likewise from B's side (docs/math.md, "Lower bounds").
    pub fn nearest_distance_bound(&self, job: PairJob) -> f64 {
        let (a, b) = self.trees(job);
        a.mean_nearest_distance(b).max(b.mean_nearest_distance(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_trees_give_the_brute_force_chamfer_to_the_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
        for case in 0..60 {
            let dim = 2 + case % 2;
            let (n, m) = (rng.random_range(1..200), rng.random_range(1..200));
            let offset = [0.0, 1e6, -3.5][case % 3];
            let mut cloud = |k: usize| {
                // Coarse coordinates make ties and duplicate points common.
                let flat = (0..k * dim)
                    .map(|_| offset + rng.random_range(0..6) as f64 * 0.25)
                    .collect();
                PointCloud::from_flat(dim, flat).unwrap()
            };
            let (a, b) = (cloud(n), cloud(m));
            let trees = CloudTrees::new(std::slice::from_ref(&a), std::slice::from_ref(&b));
            let kd = trees.chamfer(PairJob::ReferenceGenerated(0, 0));
            let brute = chamfer_distance(&a, &b).unwrap();
            assert_eq!(
                kd.to_bits(),
                brute.to_bits(),
                "case {case}: {kd} vs {brute}"
            );
        }
    }
}

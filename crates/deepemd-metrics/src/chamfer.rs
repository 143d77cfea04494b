//! The Chamfer distance, PointFlow's convention (docs/math.md): for clouds X (n points) and
//! Y (m points),
//! `CD(X, Y) = (1/n) Σ_x min_y ‖x − y‖² + (1/m) Σ_y min_x ‖x − y‖²`,
//! both directions, squared distances, each direction averaged. Note the units: a squared
//! length, where the EMD of this project is a length.

use deepemd_core::PointCloud;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::pair_jobs::{PairJob, pair_jobs};
use crate::set_metrics::DistanceMatrices;

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

/// `‖p − q‖²`, summed in coordinate order: the one expression both the brute force and the
/// k-d tree evaluate, so their minima are the same numbers.
fn squared(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
}

/// Every Chamfer distance the metrics need (the jobs of [`pair_jobs`]), in parallel through
/// [`ChamferIndexes`]. `progress` is called once per distance.
pub(crate) fn chamfer_matrices(
    reference: &[PointCloud],
    generated: &[PointCloud],
    progress: &(dyn Fn() + Sync),
) -> Result<DistanceMatrices> {
    let indexes = ChamferIndexes::new(reference, generated);
    let values: Vec<f64> = pair_jobs(reference.len(), generated.len())
        .par_iter()
        .map(|&job| {
            let d = indexes.distance(job);
            progress();
            d
        })
        .collect();
    Ok(DistanceMatrices::from_values(
        reference.len(),
        generated.len(),
        &values,
    ))
}

/// Every cloud of two sets in a k-d tree, built once: Chamfer distances equal to
/// [`chamfer_distance`] bit for bit (the same minima, summed in the same order), in
/// O(n log n) per pair instead of O(n²).
pub(crate) struct ChamferIndexes<'a> {
    reference: Vec<NearestIndex<'a>>,
    generated: Vec<NearestIndex<'a>>,
}

impl<'a> ChamferIndexes<'a> {
    /// The trees of both sets (in parallel); clouds of one dimension, checked by the caller.
    pub fn new(reference: &'a [PointCloud], generated: &'a [PointCloud]) -> Self {
        Self {
            reference: reference.par_iter().map(NearestIndex::new).collect(),
            generated: generated.par_iter().map(NearestIndex::new).collect(),
        }
    }

    /// The Chamfer distance of a job's two clouds.
    pub fn distance(&self, job: PairJob) -> f64 {
        let (r, g) = (&self.reference, &self.generated);
        let (a, b) = match job {
            PairJob::ReferenceGenerated(i, j) => (&r[i], &g[j]),
            PairJob::ReferenceReference(i, j) => (&r[i], &r[j]),
            PairJob::GeneratedGenerated(i, j) => (&g[i], &g[j]),
        };
        a.one_way(b) + b.one_way(a)
    }
}

/// Points per leaf of the tree.
const LEAF: usize = 8;

/// A cloud in a k-d tree (median splits on the axis of largest spread) for exact nearest
/// squared distances.
struct NearestIndex<'a> {
    cloud: &'a PointCloud,
    order: Vec<u32>,
    /// The split axis of the node whose median sits at this position of `order`.
    axis: Vec<u8>,
}

impl<'a> NearestIndex<'a> {
    fn new(cloud: &'a PointCloud) -> Self {
        let n = cloud.len();
        let mut index = Self {
            cloud,
            order: (0..n as u32).collect(),
            axis: vec![0; n],
        };
        index.build(0, n);
        index
    }

    fn point(&self, k: usize) -> &[f64] {
        self.cloud.point(self.order[k] as usize)
    }

    fn build(&mut self, lo: usize, hi: usize) {
        if hi - lo <= LEAF {
            return;
        }
        let cloud = self.cloud;
        let spread = |axis: usize| {
            let values = self.order[lo..hi]
                .iter()
                .map(|&i| cloud.point(i as usize)[axis]);
            let (mn, mx) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(x), b.max(x))
            });
            mx - mn
        };
        let axis = (0..cloud.dim())
            .max_by(|&a, &b| spread(a).total_cmp(&spread(b)))
            .unwrap_or(0);
        let mid = (lo + hi) / 2;
        self.order[lo..hi].select_nth_unstable_by(mid - lo, |&x, &y| {
            cloud.point(x as usize)[axis].total_cmp(&cloud.point(y as usize)[axis])
        });
        self.axis[mid] = axis as u8;
        self.build(lo, mid);
        self.build(mid + 1, hi);
    }

    /// `(1/n) Σ_p min_q ‖p − q‖²` over this cloud's points p and `to`'s points q.
    fn one_way(&self, to: &NearestIndex<'_>) -> f64 {
        let total: f64 = self
            .cloud
            .points()
            .map(|p| {
                let mut best = f64::INFINITY;
                to.nearest(p, 0, to.order.len(), &mut best);
                best
            })
            .sum();
        total / self.cloud.len() as f64
    }

    /// Lowers `best` to the least squared distance from `q` to the points of `lo..hi`. A far
    /// side is skipped only when the squared distance to the split plane exceeds `best`: its
    /// points are at least that far (rounding is monotone), so the minimum is unchanged.
    fn nearest(&self, q: &[f64], lo: usize, hi: usize, best: &mut f64) {
        if hi - lo <= LEAF {
            for k in lo..hi {
                *best = best.min(squared(q, self.point(k)));
            }
            return;
        }
        let mid = (lo + hi) / 2;
        let p = self.point(mid);
        *best = best.min(squared(q, p));
        let axis = self.axis[mid] as usize;
        let diff = q[axis] - p[axis];
        let (near, far) = if diff < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        self.nearest(q, near.0, near.1, best);
        if diff * diff <= *best {
            self.nearest(q, far.0, far.1, best);
        }
    }
}

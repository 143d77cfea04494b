//! Many pairs at once: rayon over pairs, each pair solved on one thread.

use deepemd_core::{Emd, EmdEstimator, EmdRequest, PointCloud, Result};
use rayon::prelude::*;

/// Solves every pair in parallel with `estimator`, keeping the input order.
///
/// Parallelism is over pairs, which is the efficient split for the many small problems of
/// training-pair generation; large single problems parallelize inside the solver instead.
pub fn par_estimate<E: EmdEstimator + ?Sized>(
    estimator: &E,
    pairs: &[(PointCloud, PointCloud)],
    request: EmdRequest,
) -> Vec<Result<Emd>> {
    pairs
        .par_iter()
        .map(|(a, b)| estimator.estimate(a, b, request))
        .collect()
}

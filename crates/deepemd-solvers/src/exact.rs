//! `exact`: the fastest exact solver we have. Until the certified fast solver lands it
//! delegates to the Hungarian reference.

use deepemd_core::{Emd, EmdEstimator, EmdRequest, PointCloud, Result};

use crate::Hungarian;

/// The fastest exact solver available (today: [`Hungarian`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Exact;

impl EmdEstimator for Exact {
    fn name(&self) -> &str {
        "exact"
    }

    fn is_exact(&self) -> bool {
        true
    }

    fn estimate(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<Emd> {
        Hungarian.estimate(a, b, request)
    }

    fn estimate_batch(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        request: EmdRequest,
    ) -> Vec<Result<Emd>> {
        crate::batch::par_estimate(self, pairs, request)
    }
}

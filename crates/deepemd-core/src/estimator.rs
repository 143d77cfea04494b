//! The one interface every EMD method answers, exact or approximate.

use crate::cost::Cost;
use crate::emd::Emd;
use crate::error::Result;
use crate::point_cloud::PointCloud;
use crate::unequal::Unequal;

/// What to compute besides the distance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmdRequest {
    /// The ground cost.
    pub cost: Cost,
    /// Whether to return the gradient with respect to both clouds.
    pub gradient: bool,
    /// What to compute when the clouds have different sizes (ignored for equal sizes, where
    /// both conventions agree). Default: [`Unequal::Uniform`].
    pub unequal: Unequal,
}

impl EmdRequest {
    /// A request for the distance under `cost`, without gradient.
    pub fn new(cost: Cost) -> Self {
        Self {
            cost,
            gradient: false,
            unequal: Unequal::Uniform,
        }
    }

    /// The same request, with the given convention for unequal sizes.
    pub fn with_unequal(self, unequal: Unequal) -> Self {
        Self { unequal, ..self }
    }

    /// The same request, with the gradient.
    pub fn with_gradient(self) -> Self {
        Self {
            gradient: true,
            ..self
        }
    }
}

/// An EMD method: the exact solvers, Sinkhorn and the learned model all implement it, so
/// experiments and benches can hold a `Vec<Box<dyn EmdEstimator>>`.
///
/// Implementations are deterministic: the same input gives the same output.
pub trait EmdEstimator: Send + Sync {
    /// The method's spelling in the registry of `deepemd-methods` (`exact`, `hungarian`,
    /// `sinkhorn`, `model/argmax`, `model/refined`, …): what tables and JSON results print.
    fn name(&self) -> &str;

    /// Whether `estimate` returns the exact EMD (up to floating-point rounding).
    fn is_exact(&self) -> bool;

    /// Checks, without solving, what this method can tell from the pair alone: the dimensions
    /// agree, the convention and the sizes are ones it supports. A batch calls it for every
    /// pair before solving any (so a bad pair late in a list costs no work). `estimate` makes
    /// the same checks; this is never weaker than them. The default checks the dimensions.
    fn check_pair(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<()> {
        let _ = request;
        crate::point_cloud::check_same_dim(a, b)
    }

    /// Estimates the EMD between two clouds of the same dimension.
    fn estimate(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<Emd>;

    /// Estimates many pairs. The default runs them one by one; implementations override it
    /// when they can share work or run pairs in parallel.
    fn estimate_batch(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        request: EmdRequest,
    ) -> Vec<Result<Emd>> {
        pairs
            .iter()
            .map(|(a, b)| self.estimate(a, b, request))
            .collect()
    }
}

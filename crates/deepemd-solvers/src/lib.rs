//! # deepemd-solvers
//!
//! EMD solvers that answer [`deepemd_core::EmdEstimator`]:
//! - [`Hungarian`]: the exact reference (scipy's algorithm through `lsap`);
//! - [`Exact`]: the certified fast exact solver (auction with ε-scaling on nearest-neighbour
//!   candidates, certified by dual potentials on the full cost);
//! - [`Sinkhorn`]: the entropic baseline of the paper.
//!
//! [`par_estimate`] solves many pairs in parallel.

mod batch;
mod exact;
mod hungarian;
mod sinkhorn;

pub use batch::par_estimate;
pub use exact::{
    Certificate, Duals, Exact, ExactParams, ExactSolution, SolveStats, WarmStart,
    verify_certificate,
};
pub use hungarian::{Hungarian, hungarian_emd};
pub use sinkhorn::{Sinkhorn, SinkhornParams, SinkhornResult};

use deepemd_core::EmdEstimator;

/// The estimator called `name` on the command line: `exact`, `hungarian` or `sinkhorn`.
pub fn by_name(name: &str) -> Option<Box<dyn EmdEstimator>> {
    match name {
        "exact" => Some(Box::new(Exact::default())),
        "hungarian" => Some(Box::new(Hungarian)),
        "sinkhorn" => Some(Box::new(Sinkhorn::default())),
        _ => None,
    }
}

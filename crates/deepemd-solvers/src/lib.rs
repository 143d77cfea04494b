//! # deepemd-solvers
//!
//! EMD solvers that answer [`deepemd_core::EmdEstimator`]:
//! - [`Hungarian`]: the exact reference (scipy's algorithm through `lsap`; for clouds of
//!   different sizes the partial matching, or the uniform transport as an expanded assignment);
//! - [`Exact`]: the certified fast exact solver (from 1024 points a multiscale start on group
//!   centroids, then an ε-scaled auction and sparse shortest augmenting paths on candidates
//!   chosen by distance and reduced cost, certified by dual potentials on the full cost; clouds
//!   of different sizes as integer transportation problems under either convention);
//! - [`Sinkhorn`]: the entropic baseline of the paper (either convention for unequal sizes).
//!
//! [`par_estimate`] solves many pairs in parallel.
//!
//! ```
//! use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
//! use deepemd_solvers::{Exact, Hungarian};
//!
//! let a = PointCloud::from_points(&[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])?;
//! let b = PointCloud::from_points(&[[1.0, 0.1, 0.0], [0.0, 0.1, 0.0]])?;
//! let request = EmdRequest::new(Cost::Euclidean).with_gradient();
//! let emd = Exact::default().estimate(&a, &b, request)?;
//! assert!((emd.distance - 0.1).abs() < 1e-12); // each point moves 0.1 up
//! assert_eq!(emd.distance, Hungarian.estimate(&a, &b, request)?.distance);
//! assert!(emd.gradient.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;
mod exact;
mod hungarian;
mod sinkhorn;

pub use batch::par_estimate;
pub use exact::{
    Certificate, CertificateTolerance, Duals, Exact, ExactParams, ExactSolution, SolveStats,
    WarmStart, dual_lower_bound, verify_certificate,
};
pub use hungarian::{Hungarian, MAX_UNIFORM_LCM, hungarian_emd};
pub use sinkhorn::{Sinkhorn, SinkhornParams, SinkhornResult};

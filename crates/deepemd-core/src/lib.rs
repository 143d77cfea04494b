//! # deepemd-core
//!
//! The types every other DeepEMD crate speaks: validated [`PointCloud`]s, [`Matching`]s (a
//! checked bijection, a [`PartialMatching`] for unequal sizes, or an [`Assignment`] that may hit
//! a target twice), the ground [`Cost`], the [`Emd`] of a matching with its [`Gradient`], the
//! [`EmdEstimator`] trait that every method implements, and the [`metrics`] of the paper's
//! tables.
//!
//! This crate depends on neither candle nor HDF5 (checked in CI).
//!
//! ```
//! use deepemd_core::{Cost, Emd, Matching, Pairing, PointCloud};
//! let a = PointCloud::from_points(&[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]).unwrap();
//! let b = PointCloud::from_points(&[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).unwrap();
//! let swap = Pairing::Bijection(Matching::new(vec![1, 0]).unwrap());
//! let emd = Emd::of_pairing(&a, &b, swap, Cost::Euclidean, false).unwrap();
//! assert_eq!(emd.distance, 0.0);
//! ```

mod cost;
mod emd;
mod error;
mod estimator;
mod frame;
mod matching;
mod method;
pub mod metrics;
mod point_cloud;
pub mod rounding;
pub mod synthetic;
pub mod tolerance;
mod transport_plan;
mod unequal;

pub use cost::Cost;
pub use emd::{Emd, Gradient, TransportCost};
pub use error::{Error, NonFiniteKind, Result};
pub use estimator::{EmdEstimator, EmdRequest};
pub use frame::{WorkingFrame, check_representable, scale_by_power_of_two};
pub use matching::{Assignment, Matching, Pairing, PartialMatching};
pub use method::Method;
pub use point_cloud::{JointNormalization, PointCloud, check_same_dim};
pub use transport_plan::TransportPlan;
pub use unequal::Unequal;

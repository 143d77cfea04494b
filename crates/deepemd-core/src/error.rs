//! The one error type of `deepemd-core`.

use std::fmt;

/// Everything that can go wrong in the core types, estimators and metrics.
///
/// Settings errors ([`Error::InvalidParameter`]) are kept apart from input errors
/// ([`Error::InvalidInput`] and the specific ones) so a caller can tell "you configured this
/// wrong" from "this input is bad".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A cloud with no points.
    #[error("point cloud is empty")]
    Empty,
    /// A coordinate that is NaN or infinite.
    #[error("point {index} has {kind} coordinate")]
    NonFinite {
        /// Index of the offending point.
        index: usize,
        /// "a NaN" or "an infinite", as displayed.
        kind: NonFiniteKind,
    },
    /// Points must be 2-D or 3-D.
    #[error("points must have 2 or 3 coordinates, got {0}")]
    UnsupportedDimension(usize),
    /// A flat coordinate buffer whose length is not a multiple of the dimension.
    #[error("{len} coordinates do not split into points of dimension {dim}")]
    Ragged {
        /// Buffer length.
        len: usize,
        /// Requested dimension.
        dim: usize,
    },
    /// Two clouds of different dimensions.
    #[error("the clouds have different dimensions: {a} and {b}")]
    DimensionMismatch {
        /// Dimension of the first cloud.
        a: usize,
        /// Dimension of the second cloud.
        b: usize,
    },
    /// Two clouds of different sizes given to a method that needs equal sizes.
    #[error("the clouds have different sizes ({a} and {b}); {method} needs equal sizes")]
    SizeMismatch {
        /// Size of the first cloud.
        a: usize,
        /// Size of the second cloud.
        b: usize,
        /// The method that refused.
        method: String,
    },
    /// A matching that is not what its type promises.
    #[error("invalid matching: {0}")]
    InvalidMatching(String),
    /// A setting outside its valid range, or an unknown name (a method, a cost, a convention):
    /// the caller configured something wrong.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// An input the operation cannot take (a matrix of the wrong size, a NaN score, clouds of
    /// another dimension than a model's, a selector past the end): the data is wrong, not the
    /// settings.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Metric inputs that make the statistic undefined (constant input, lengths differ, ...).
    #[error("metric {metric}: {message}")]
    Metric {
        /// Which statistic.
        metric: &'static str,
        /// Why it is undefined.
        message: String,
    },
    /// A result that exists mathematically but not in f64 (it overflows, or underflows to 0 or
    /// a subnormal number): reported instead of a silent ∞ or 0.
    #[error("{0}")]
    NotRepresentable(String),
    /// An estimator failed for a reason of its own.
    #[error("{method}: {message}")]
    Estimator {
        /// The estimator's name.
        method: String,
        /// What went wrong.
        message: String,
    },
}

/// Which kind of non-finite value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFiniteKind {
    /// Not a number.
    NaN,
    /// Positive or negative infinity.
    Infinite,
}

impl NonFiniteKind {
    /// Classifies a value; `None` when it is finite.
    pub fn of(x: f64) -> Option<Self> {
        if x.is_nan() {
            Some(Self::NaN)
        } else if x.is_infinite() {
            Some(Self::Infinite)
        } else {
            None
        }
    }
}

impl fmt::Display for NonFiniteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NaN => "a NaN",
            Self::Infinite => "an infinite",
        })
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The ground cost between two points. See `docs/math.md` for the conventions.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::point_cloud::PointCloud;

/// The ground cost `c(a, b)` whose mean over a matching is the EMD.
///
/// ```
/// use deepemd_core::Cost;
/// assert_eq!(Cost::Euclidean.between(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
/// assert_eq!(Cost::SqEuclidean.between(&[0.0, 0.0], &[3.0, 4.0]), 25.0);
/// assert_eq!("sqeuclidean".parse::<Cost>().unwrap(), Cost::SqEuclidean);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Cost {
    /// `‖a − b‖`, the convention of MSN/PCN point-cloud evaluation (the default).
    #[default]
    Euclidean,
    /// `‖a − b‖²`, the 2-Wasserstein ground cost.
    SqEuclidean,
}

impl Cost {
    /// Every cost, for loops in tests and benches.
    pub const ALL: [Cost; 2] = [Cost::Euclidean, Cost::SqEuclidean];

    /// The cost between two points of the same dimension.
    #[inline]
    pub fn between(self, a: &[f64], b: &[f64]) -> f64 {
        let sq = sq_dist(a, b);
        match self {
            Cost::Euclidean => sq.sqrt(),
            Cost::SqEuclidean => sq,
        }
    }

    /// Adds `weight · ∂c(a, b)/∂a` to `out` (the gradient with respect to `b` is its negative).
    /// For the Euclidean cost at `a = b` the subgradient 0 is used.
    #[inline]
    pub fn add_gradient_wrt_a(self, a: &[f64], b: &[f64], weight: f64, out: &mut [f64]) {
        let factor = match self {
            Cost::Euclidean => {
                let d = sq_dist(a, b).sqrt();
                if d == 0.0 {
                    return;
                }
                weight / d
            }
            Cost::SqEuclidean => 2.0 * weight,
        };
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o += factor * (x - y);
        }
    }

    /// The exponent `p` of this cost as a power of the distance (1 or 2): scaling both clouds by
    /// `s` scales the EMD by `s^p`.
    pub fn homogeneity(self) -> i32 {
        match self {
            Cost::Euclidean => 1,
            Cost::SqEuclidean => 2,
        }
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Cost::Euclidean => "euclidean",
            Cost::SqEuclidean => "sqeuclidean",
        }
    }

    /// The dense `n_a × n_b` cost matrix, row-major: entry `i * n_b + j` is `c(a_i, b_j)`.
    pub fn matrix(self, a: &PointCloud, b: &PointCloud) -> Vec<f64> {
        let mut out = Vec::with_capacity(a.len() * b.len());
        for p in a.points() {
            out.extend(b.points().map(|q| self.between(p, q)));
        }
        out
    }
}

#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cost {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "euclidean" => Ok(Cost::Euclidean),
            "sqeuclidean" => Ok(Cost::SqEuclidean),
            other => Err(Error::InvalidParameter(format!(
                "unknown cost '{other}' (expected euclidean or sqeuclidean)"
            ))),
        }
    }
}

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
    ///
    /// The Euclidean distance is right for every finite input, however small or large (points
    /// 1e-200 apart are 1e-200 apart, not 0); the squared distance over- or underflows where its
    /// value leaves f64's range, which [`crate::Emd::of_pairing`] reports as an error.
    #[inline]
    pub fn between(self, a: &[f64], b: &[f64]) -> f64 {
        let sq = sq_dist(a, b);
        match self {
            Cost::Euclidean => euclidean_from_sq(sq, a, b),
            Cost::SqEuclidean => sq,
        }
    }

    /// Adds `weight · ∂c(a, b)/∂a` to `out` (the gradient with respect to `b` is its negative).
    /// For the Euclidean cost at `a = b` the subgradient 0 is used.
    #[inline]
    pub fn add_gradient_wrt_a(self, a: &[f64], b: &[f64], weight: f64, out: &mut [f64]) {
        let factor = match self {
            Cost::Euclidean => {
                let d = euclidean_from_sq(sq_dist(a, b), a, b);
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

/// `‖a − b‖` from its square `sq`, recomputed with scaled differences (as `hypot` does) when
/// the square left the range where it is accurate: squares of differences below ~1e-146
/// underflow, above ~1e146 overflow. Inside that range this is `sq.sqrt()` bit for bit.
#[inline]
fn euclidean_from_sq(sq: f64, a: &[f64], b: &[f64]) -> f64 {
    const SAFE_MIN: f64 = 1e-290;
    const SAFE_MAX: f64 = 1e290;
    if sq > SAFE_MIN && sq < SAFE_MAX {
        return sq.sqrt();
    }
    let largest = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0_f64, f64::max);
    if largest == 0.0 || !largest.is_finite() {
        return largest;
    }
    let scaled: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            let d = (x - y) / largest;
            d * d
        })
        .sum();
    largest * scaled.sqrt()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euclidean_distance_is_right_at_every_scale() {
        for s in [1e-300, 1e-200, 1e-160, 1e-8, 1.0, 1e8, 1e160, 1e200, 1e300] {
            let d = Cost::Euclidean.between(&[0.0, 0.0, 0.0], &[3.0 * s, 4.0 * s, 0.0]);
            assert!((d / (5.0 * s) - 1.0).abs() < 1e-15, "s = {s}: {d}");
            let mut g = [0.0; 3];
            Cost::Euclidean.add_gradient_wrt_a(&[3.0 * s, 4.0 * s, 0.0], &[0.0; 3], 1.0, &mut g);
            assert!(
                (g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15,
                "s = {s}"
            );
        }
        assert_eq!(Cost::Euclidean.between(&[1e-300, 0.0], &[1e-300, 0.0]), 0.0);
    }
}

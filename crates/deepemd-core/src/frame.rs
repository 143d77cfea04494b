//! The working frame of a pair: where solvers compute so that no tolerance depends on the units.
//!
//! A pair of finite clouds may sit anywhere in f64's range: coordinates near 1e-200 (whose
//! squared distances underflow to 0), near 1e200 (whose squared distances overflow), or a tiny
//! cloud far from the origin. Solvers compare costs against tolerances and square differences;
//! doing that in the input's units made a certified solver accept a non-optimal matching on
//! clouds of extent 1e-8 (its absolute tolerance was larger than the costs). Every solver
//! therefore works on `(p − center) · 2^−k`, where `center` is the middle of the pair's bounding
//! box and `2^k` the smallest power of two at least its half-extent: all coordinates land in
//! `[−1, 1]`, costs are O(1), and tolerances in this frame are relative to the pair's own scale.
//!
//! The scale is a power of two so that going back is exact: a cost `c` in the frame is
//! `c · 2^(k·p)` in input units (`p` = [`Cost::homogeneity`]), with no rounding unless the
//! result leaves f64's range — which the caller reports as an error, never as 0 or ∞.

use crate::cost::Cost;
use crate::error::{Error, Result};
use crate::point_cloud::{PointCloud, check_same_dim};

/// A translation and a power-of-two scale shared by both clouds of a pair.
///
/// ```
/// use deepemd_core::{Cost, PointCloud, WorkingFrame};
/// let a = PointCloud::from_points(&[[1e-200, 0.0], [3e-200, 0.0]]).unwrap();
/// let b = PointCloud::from_points(&[[1e-200, 1e-200], [3e-200, 1e-200]]).unwrap();
/// let frame = WorkingFrame::fit(&a, &b).unwrap();
/// let fa = frame.to_frame(&a).unwrap();
/// assert!(fa.as_flat().iter().all(|x| x.abs() <= 1.0));
/// // A frame distance back in input units (the scale is a power of two: no rounding).
/// let d_frame = Cost::Euclidean.between(fa.point(0), fa.point(1));
/// let d = frame.cost_to_input(Cost::Euclidean, d_frame);
/// assert!((d / 2e-200 - 1.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct WorkingFrame {
    center: Vec<f64>,
    exponent: i32,
}

impl WorkingFrame {
    /// The frame of a pair: the middle of the bounding box of both clouds and the smallest power
    /// of two at least its half-extent (exponent 0 when all points coincide).
    pub fn fit(a: &PointCloud, b: &PointCloud) -> Result<Self> {
        check_same_dim(a, b)?;
        let dim = a.dim();
        let mut lo = vec![f64::INFINITY; dim];
        let mut hi = vec![f64::NEG_INFINITY; dim];
        for p in a.points().chain(b.points()) {
            for d in 0..dim {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        // Halves first: `hi + lo` and `hi − lo` can overflow, their halves cannot.
        let center: Vec<f64> = lo.iter().zip(&hi).map(|(l, h)| l / 2.0 + h / 2.0).collect();
        let half_extent = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| h / 2.0 - l / 2.0)
            .fold(0.0_f64, f64::max);
        let exponent = if half_extent > 0.0 {
            smallest_power_of_two_exponent_at_least(half_extent)
        } else {
            0
        };
        Ok(Self { center, exponent })
    }

    /// The middle of the pair's bounding box, subtracted from every point.
    pub fn center(&self) -> &[f64] {
        &self.center
    }

    /// `k` of the scale `2^k`: one frame unit of length is `2^k` input units.
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    /// The cloud in frame coordinates, every coordinate in `[−1, 1]` for the clouds it was fitted
    /// to.
    pub fn to_frame(&self, cloud: &PointCloud) -> Result<PointCloud> {
        if cloud.dim() != self.center.len() {
            return Err(Error::DimensionMismatch {
                a: self.center.len(),
                b: cloud.dim(),
            });
        }
        let coords = cloud
            .points()
            .flat_map(|p| {
                p.iter()
                    .zip(&self.center)
                    .map(|(x, c)| scale_by_power_of_two(x - c, -self.exponent))
            })
            .collect();
        PointCloud::from_flat(cloud.dim(), coords)
    }

    /// A frame cost, potential or sum of costs in input units: `x · 2^(k·p)`. May be ∞ or 0 when
    /// the input-unit value is outside f64's range; [`check_representable`] says so.
    pub fn cost_to_input(&self, cost: Cost, x: f64) -> f64 {
        scale_by_power_of_two(x, self.exponent * cost.homogeneity())
    }

    /// An input-unit cost or potential in frame units: `x · 2^(−k·p)`.
    pub fn cost_to_frame(&self, cost: Cost, x: f64) -> f64 {
        scale_by_power_of_two(x, -self.exponent * cost.homogeneity())
    }

    /// A frame length (or a coordinate difference) in input units: `x · 2^k`.
    pub fn length_to_input(&self, x: f64) -> f64 {
        scale_by_power_of_two(x, self.exponent)
    }
}

/// `x · 2^e`, exact unless the result leaves f64's normal range. Applied in steps so that no
/// intermediate power of two overflows (`2^±1000` are both normal numbers).
pub fn scale_by_power_of_two(mut x: f64, mut e: i32) -> f64 {
    const STEP: i32 = 1000;
    while e > STEP {
        x *= 2f64.powi(STEP);
        e -= STEP;
    }
    while e < -STEP {
        x *= 2f64.powi(-STEP);
        e += STEP;
    }
    x * 2f64.powi(e)
}

/// The smallest `k` with `2^k ≥ x`, for a finite `x > 0`.
fn smallest_power_of_two_exponent_at_least(x: f64) -> i32 {
    let mut k = x.log2().ceil() as i32;
    // `log2` may be off by one ulp near powers of two; settle it exactly.
    while scale_by_power_of_two(1.0, k) < x {
        k += 1;
    }
    while scale_by_power_of_two(1.0, k - 1) >= x {
        k -= 1;
    }
    k
}

/// Checks that a computed value is a normal f64, or an exact 0 where 0 is the true value
/// (`nonzero` says it is not): ∞, NaN, or an underflow to 0 or to a subnormal number are errors
/// naming `what`.
pub fn check_representable(what: &str, nonzero: bool, input_value: f64) -> Result<f64> {
    if !input_value.is_finite() {
        return Err(Error::NotRepresentable(format!(
            "{what} overflows f64 (the clouds are too large for this cost; rescale them)"
        )));
    }
    if nonzero && input_value.abs() < f64::MIN_POSITIVE {
        return Err(Error::NotRepresentable(format!(
            "{what} underflows f64 (the clouds are too small for this cost; rescale them)"
        )));
    }
    Ok(input_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_coordinates_lie_in_the_unit_box_at_every_scale() {
        for s in [1e-300, 1e-200, 1e-12, 1.0, 1e12, 1e200, 1e300] {
            for t in [0.0, 1e3, -7.5] {
                let a =
                    PointCloud::from_points(&[[t * s, 0.0, s], [s + t * s, -s, 0.5 * s]]).unwrap();
                let b = PointCloud::from_points(&[[-s + t * s, 0.25 * s, 0.0]]).unwrap();
                let f = WorkingFrame::fit(&a, &b).unwrap();
                for c in [f.to_frame(&a).unwrap(), f.to_frame(&b).unwrap()] {
                    assert!(
                        c.as_flat().iter().all(|x| x.abs() <= 1.0),
                        "s = {s}, t = {t}"
                    );
                }
                // The largest half-extent is at least half a frame unit.
                let fa = f.to_frame(&a).unwrap();
                let fb = f.to_frame(&b).unwrap();
                let span = fa
                    .as_flat()
                    .iter()
                    .chain(fb.as_flat())
                    .fold(0.0_f64, |m, x| m.max(x.abs()));
                assert!(span >= 0.5 - 1e-12, "s = {s}, t = {t}, span {span}");
            }
        }
    }

    #[test]
    fn extreme_but_finite_coordinates_fit() {
        let a = PointCloud::from_points(&[[f64::MAX, -f64::MAX]]).unwrap();
        let b = PointCloud::from_points(&[[-f64::MAX, f64::MAX]]).unwrap();
        let f = WorkingFrame::fit(&a, &b).unwrap();
        assert_eq!(f.exponent(), 1024);
        let fa = f.to_frame(&a).unwrap();
        assert!(fa.as_flat().iter().all(|x| x.abs() <= 1.0));
    }

    #[test]
    fn coincident_points_get_the_unit_frame() {
        let a = PointCloud::from_points(&[[3.0, 4.0]]).unwrap();
        let f = WorkingFrame::fit(&a, &a).unwrap();
        assert_eq!(f.exponent(), 0);
        assert_eq!(f.to_frame(&a).unwrap().as_flat(), &[0.0, 0.0]);
    }

    #[test]
    fn powers_of_two_round_trip_exactly() {
        for e in [-1074, -1022, -1000, -3, 0, 5, 1000, 1023] {
            let x = 0.6180339887498949;
            let y = scale_by_power_of_two(scale_by_power_of_two(x, e), -e);
            // Below 2^-1021 the product is subnormal and loses bits.
            if e > -1022 {
                assert_eq!(y, x, "e = {e}");
            }
        }
        assert_eq!(smallest_power_of_two_exponent_at_least(1.0), 0);
        assert_eq!(smallest_power_of_two_exponent_at_least(1.5), 1);
        assert_eq!(smallest_power_of_two_exponent_at_least(0.5), -1);
        assert_eq!(smallest_power_of_two_exponent_at_least(f64::MAX), 1024);
        assert_eq!(smallest_power_of_two_exponent_at_least(5e-324), -1074);
    }

    #[test]
    fn unrepresentable_values_are_errors() {
        assert!(check_representable("the EMD", true, f64::INFINITY).is_err());
        assert!(check_representable("the EMD", true, f64::NAN).is_err());
        assert!(check_representable("the EMD", true, 0.0).is_err());
        assert!(check_representable("the EMD", true, 1e-310).is_err());
        assert_eq!(check_representable("the EMD", false, 0.0).unwrap(), 0.0);
        assert_eq!(check_representable("the EMD", true, 2.0).unwrap(), 2.0);
    }
}

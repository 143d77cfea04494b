//! A validated set of 2-D or 3-D points.

use crate::error::{Error, NonFiniteKind, Result};
use crate::frame::{WorkingFrame, scale_by_power_of_two};

/// A non-empty set of 2-D or 3-D points with finite coordinates, stored row-major.
///
/// Validation happens once, at construction, so every solver can assume clean input.
///
/// ```
/// use deepemd_core::PointCloud;
/// let cloud = PointCloud::from_points(&[[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]]).unwrap();
/// assert_eq!(cloud.len(), 2);
/// assert_eq!(cloud.point(1), &[1.0, 2.0, 2.0]);
/// assert!(PointCloud::from_points(&[[f64::NAN, 0.0]]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PointCloud {
    dim: usize,
    coords: Vec<f64>,
}

impl PointCloud {
    /// Builds a cloud from a row-major buffer of `dim`-dimensional points.
    pub fn from_flat(dim: usize, coords: Vec<f64>) -> Result<Self> {
        if dim != 2 && dim != 3 {
            return Err(Error::UnsupportedDimension(dim));
        }
        if coords.is_empty() {
            return Err(Error::Empty);
        }
        if coords.len() % dim != 0 {
            return Err(Error::Ragged {
                len: coords.len(),
                dim,
            });
        }
        if let Some((pos, kind)) = coords
            .iter()
            .enumerate()
            .find_map(|(pos, &x)| NonFiniteKind::of(x).map(|k| (pos, k)))
        {
            return Err(Error::NonFinite {
                index: pos / dim,
                kind,
            });
        }
        Ok(Self { dim, coords })
    }

    /// Builds a cloud from fixed-size points.
    pub fn from_points<const D: usize>(points: &[[f64; D]]) -> Result<Self> {
        Self::from_flat(D, points.iter().flatten().copied().collect())
    }

    /// Builds a cloud from `f32` coordinates (the model's and HDF5 datasets' precision).
    pub fn from_flat_f32(dim: usize, coords: &[f32]) -> Result<Self> {
        Self::from_flat(dim, coords.iter().map(|&x| f64::from(x)).collect())
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.coords.len() / self.dim
    }

    /// Always false: a cloud is never empty. Present for API symmetry with collections.
    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }

    /// Dimension of every point (2 or 3).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Coordinates of point `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    #[inline]
    pub fn point(&self, i: usize) -> &[f64] {
        &self.coords[i * self.dim..(i + 1) * self.dim]
    }

    /// The row-major coordinate buffer (`len() * dim()` values).
    pub fn as_flat(&self) -> &[f64] {
        &self.coords
    }

    /// The coordinates as `f32`, row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        self.coords.iter().map(|&x| x as f32).collect()
    }

    /// Iterates over the points.
    pub fn points(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.coords.chunks_exact(self.dim)
    }

    /// Consumes the cloud and returns its row-major buffer.
    pub fn into_flat(self) -> Vec<f64> {
        self.coords
    }

    /// The mean of the points.
    pub fn centroid(&self) -> Vec<f64> {
        let mut c = vec![0.0; self.dim];
        for p in self.points() {
            for (ci, x) in c.iter_mut().zip(p) {
                *ci += x;
            }
        }
        let n = self.len() as f64;
        c.iter_mut().for_each(|x| *x /= n);
        c
    }

    /// The largest distance from `center` to a point.
    pub fn max_radius_from(&self, center: &[f64]) -> f64 {
        self.points()
            .map(|p| {
                p.iter()
                    .zip(center)
                    .map(|(x, c)| (x - c) * (x - c))
                    .sum::<f64>()
            })
            .fold(0.0_f64, f64::max)
            .sqrt()
    }

    /// Returns `(p - shift) * scale` for every point `p`.
    ///
    /// Errors if `scale` or `shift` is not finite, or `shift` has the wrong length.
    pub fn affine(&self, shift: &[f64], scale: f64) -> Result<Self> {
        if shift.len() != self.dim {
            return Err(Error::InvalidInput(format!(
                "shift has {} components for {}-D points",
                shift.len(),
                self.dim
            )));
        }
        let coords = self
            .coords
            .chunks_exact(self.dim)
            .flat_map(|p| p.iter().zip(shift).map(move |(x, s)| (x - s) * scale))
            .collect();
        Self::from_flat(self.dim, coords)
    }

    /// The cloud with its points reordered: point `i` of the result is point `order[i]` of `self`.
    pub fn permuted(&self, order: &[usize]) -> Result<Self> {
        crate::Matching::new(order.to_vec())?;
        if order.len() != self.len() {
            return Err(Error::InvalidMatching(format!(
                "an order of {} indices for {} points",
                order.len(),
                self.len()
            )));
        }
        let coords = order
            .iter()
            .flat_map(|&i| self.point(i).iter().copied())
            .collect();
        Ok(Self {
            dim: self.dim,
            coords,
        })
    }

    /// The points `start..end` as a new cloud.
    pub fn slice(&self, start: usize, end: usize) -> Result<Self> {
        if start >= end || end > self.len() {
            return Err(Error::InvalidInput(format!(
                "slice {start}..{end} of a cloud of {} points",
                self.len()
            )));
        }
        Ok(Self {
            dim: self.dim,
            coords: self.coords[start * self.dim..end * self.dim].to_vec(),
        })
    }
}

/// Checks that two clouds can be compared: same dimension.
pub fn check_same_dim(a: &PointCloud, b: &PointCloud) -> Result<()> {
    if a.dim() != b.dim() {
        return Err(Error::DimensionMismatch {
            a: a.dim(),
            b: b.dim(),
        });
    }
    Ok(())
}

/// One translation and one scale for both clouds: the optimal matching is invariant to it, and
/// the EMD scales by `scale` (by `scale²` for the squared cost).
#[derive(Clone, Debug, PartialEq)]
pub struct JointNormalization {
    /// Subtracted from every point.
    pub shift: Vec<f64>,
    /// Multiplies every point after the shift.
    pub scale: f64,
}

impl JointNormalization {
    /// Centers the union of both clouds at the origin and scales it to unit max radius.
    /// Coincident clouds made of one repeated point get scale 1.
    ///
    /// Works for every finite input: where the direct sums and squares would over- or underflow
    /// (coordinates beyond ~1e100 or a spread below ~1e-100), the mean and radius are taken in
    /// the pair's [`WorkingFrame`] and converted back.
    pub fn fit(a: &PointCloud, b: &PointCloud) -> Result<Self> {
        let (direct, radius) = Self::fit_direct(a, b)?;
        if direct.shift.iter().all(|x| x.is_finite()) && (1e-100..=1e100).contains(&radius) {
            return Ok(direct);
        }
        let frame = WorkingFrame::fit(a, b)?;
        let (in_frame, _) = Self::fit_direct(&frame.to_frame(a)?, &frame.to_frame(b)?)?;
        let shift = frame
            .center()
            .iter()
            .zip(&in_frame.shift)
            .map(|(c, s)| c + frame.length_to_input(*s))
            .collect();
        let scale = scale_by_power_of_two(in_frame.scale, -frame.exponent());
        Ok(Self { shift, scale })
    }

    /// The mean and max radius computed in the input's units (kept for inputs where they are
    /// accurate, so the pairs generated from a seed stay bit for bit what they were).
    /// Also returns the radius.
    fn fit_direct(a: &PointCloud, b: &PointCloud) -> Result<(Self, f64)> {
        check_same_dim(a, b)?;
        let dim = a.dim();
        let mut shift = vec![0.0; dim];
        for p in a.points().chain(b.points()) {
            for (s, x) in shift.iter_mut().zip(p) {
                *s += x;
            }
        }
        let total = (a.len() + b.len()) as f64;
        shift.iter_mut().for_each(|s| *s /= total);
        let radius = a.max_radius_from(&shift).max(b.max_radius_from(&shift));
        let scale = if radius > 0.0 { 1.0 / radius } else { 1.0 };
        Ok((Self { shift, scale }, radius))
    }

    /// Applies the normalization to a cloud.
    pub fn apply(&self, cloud: &PointCloud) -> Result<PointCloud> {
        cloud.affine(&self.shift, self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            PointCloud::from_flat(3, vec![]),
            Err(Error::Empty)
        ));
        assert!(matches!(
            PointCloud::from_flat(4, vec![0.0; 4]),
            Err(Error::UnsupportedDimension(4))
        ));
        assert!(matches!(
            PointCloud::from_flat(3, vec![0.0; 4]),
            Err(Error::Ragged { len: 4, dim: 3 })
        ));
        let err = PointCloud::from_flat(2, vec![0.0, 1.0, 2.0, f64::INFINITY]).unwrap_err();
        assert_eq!(err.to_string(), "point 1 has an infinite coordinate");
        let err = PointCloud::from_flat(2, vec![f64::NAN, 1.0]).unwrap_err();
        assert_eq!(err.to_string(), "point 0 has a NaN coordinate");
    }

    #[test]
    fn joint_normalization_works_at_every_scale() {
        for s in [1e-300, 1e-200, 1e-120, 1.0, 1e120, 1e200, 1e300] {
            let t = 5.0 * s;
            let a = PointCloud::from_points(&[[t, t], [t + s, t]]).unwrap();
            let b = PointCloud::from_points(&[[t, t + s], [t + s, t + s]]).unwrap();
            let norm = JointNormalization::fit(&a, &b).unwrap();
            let na = norm.apply(&a).unwrap();
            let expected = [-1.0, -1.0, 1.0, -1.0].map(|x: f64| x * 0.5f64.sqrt());
            for (x, e) in na.as_flat().iter().zip(expected) {
                assert!((x - e).abs() < 1e-12, "s = {s}: {:?}", na.as_flat());
            }
        }
    }

    #[test]
    fn joint_normalization_centers_and_scales_the_union() {
        let a = PointCloud::from_points(&[[0.0, 0.0], [2.0, 0.0]]).unwrap();
        let b = PointCloud::from_points(&[[4.0, 0.0], [6.0, 0.0]]).unwrap();
        let norm = JointNormalization::fit(&a, &b).unwrap();
        assert_eq!(norm.shift, vec![3.0, 0.0]);
        assert!((norm.scale - 1.0 / 3.0).abs() < 1e-15);
        let na = norm.apply(&a).unwrap();
        assert!((na.point(0)[0] + 1.0).abs() < 1e-15);
    }

    #[test]
    fn permuted_reorders_points() {
        let a = PointCloud::from_points(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]).unwrap();
        let p = a.permuted(&[2, 0, 1]).unwrap();
        assert_eq!(p.point(0), &[2.0, 0.0]);
        assert!(a.permuted(&[0, 0, 1]).is_err());
    }
}

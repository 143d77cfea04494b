//! The optimality certificate of an assignment: dual potentials `(u, v)` with
//! `u_i + v_j ≤ c_ij` for **every** pair (checked on the fly, O(n·m) time, O(n + m) memory) and
//! a primal cost equal to the dual value `Σu + Σv` up to a tolerance. By LP duality no matching
//! can cost less than `Σu + Σv`, so a matching that attains it is optimal.
//!
//! The check runs in the pair's [`WorkingFrame`], where coordinates lie in `[−1, 1]`: its
//! tolerances are relative to the pair's scale, so the verdict on a pair does not change when
//! both clouds are scaled by 1e-12 or 1e12 or moved far away.

use deepemd_core::tolerance::DUAL_FEASIBILITY_REL;
use deepemd_core::{Cost, Error, Method, Pairing, PointCloud, Result, WorkingFrame};
use rayon::prelude::*;

/// Dual potentials: `a[i]` for the points of A, `b[j]` for the points of B, with
/// `a[i] + b[j] ≤ c_ij` for every pair. For a matching the dual value is `Σa + Σb` (the sum of
/// matched costs); for a partial matching the larger cloud's potentials are also `≤ 0` (its
/// points may stay unmatched); for a transport plan between uniform distributions the dual
/// value is `mean(a) + mean(b)` (the EMD itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Duals {
    /// Potentials of A's points.
    pub a: Vec<f64>,
    /// Potentials of B's points.
    pub b: Vec<f64>,
}

impl Duals {
    /// Frame potentials in input units; an error if they leave f64's range.
    pub(crate) fn to_input(&self, frame: &WorkingFrame, cost: Cost) -> Result<Self> {
        let convert = |v: &[f64]| -> Result<Vec<f64>> {
            v.iter()
                .map(|&x| {
                    let y = frame.cost_to_input(cost, x);
                    if y.is_finite() {
                        Ok(y)
                    } else {
                        Err(Error::NotRepresentable(
                            "the dual potentials overflow f64 (the clouds are too large for \
                             this cost; rescale them)"
                                .into(),
                        ))
                    }
                })
                .collect()
        };
        Ok(Self {
            a: convert(&self.a)?,
            b: convert(&self.b)?,
        })
    }

    fn to_frame(&self, frame: &WorkingFrame, cost: Cost) -> Self {
        let convert = |v: &[f64]| v.iter().map(|&x| frame.cost_to_frame(cost, x)).collect();
        Self {
            a: convert(&self.a),
            b: convert(&self.b),
        }
    }
}

/// How close to exact a certificate must be, relative to the pair's own scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CertificateTolerance {
    /// Largest allowed `u_i + v_j − c_ij`, in units of the pair's cost scale (`h` for the
    /// Euclidean cost, `h²` for the squared one, `h` the half-extent of the pair's bounding box).
    pub feasibility: f64,
    /// Largest allowed `primal − dual`, relative to the primal cost, on top of `n · feasibility`.
    pub gap: f64,
}

impl Default for CertificateTolerance {
    /// What [`crate::Exact`] certifies: feasibility to 1e-12 of the scale, gap 1e-11.
    fn default() -> Self {
        Self {
            feasibility: DUAL_FEASIBILITY_REL,
            gap: 1e-11,
        }
    }
}

/// What a certificate check measured. For a matching the figures are sums over its pairs; for
/// a transport plan they are mass-weighted (the EMD's own units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Certificate {
    /// Sum of the matched costs (a plan: `Σ P_ij c_ij`).
    pub primal: f64,
    /// `Σ u + Σ v` (a plan: `mean(u) + mean(v)`), a lower bound on every feasible primal.
    pub dual: f64,
    /// Largest violation of `u_i + v_j ≤ c_ij` (0 when feasible).
    pub max_violation: f64,
}

impl Certificate {
    /// `primal − dual`, the most the matching can exceed the optimum by.
    pub fn gap(&self) -> f64 {
        self.primal - self.dual
    }

    /// Frame figures in input units (∞ or 0 where they leave f64's range; the EMD itself is
    /// checked separately).
    pub(crate) fn to_input(self, frame: &WorkingFrame, cost: Cost) -> Self {
        Self {
            primal: frame.cost_to_input(cost, self.primal),
            dual: frame.cost_to_input(cost, self.dual),
            max_violation: frame.cost_to_input(cost, self.max_violation),
        }
    }
}

/// Checks `duals` (in the input's units) against every pair and `pairing`'s cost; `Err` when a
/// constraint is violated or the gap is larger than `tolerance` allows. The figures returned
/// are in the input's units.
///
/// ```
/// use deepemd_core::{Cost, EmdRequest, PointCloud};
/// use deepemd_solvers::{CertificateTolerance, Exact, verify_certificate};
/// let a = PointCloud::from_points(&[[0.0, 0.0], [1e-9, 0.0]]).unwrap();
/// let b = PointCloud::from_points(&[[1e-9, 1e-10], [0.0, 1e-10]]).unwrap();
/// let s = Exact::default().solve(&a, &b, EmdRequest::new(Cost::Euclidean)).unwrap();
/// let tol = CertificateTolerance::default();
/// let cert = verify_certificate(&a, &b, Cost::Euclidean, &s.emd.pairing, &s.duals, tol).unwrap();
/// assert!((cert.primal - 2e-10).abs() < 1e-24);
/// ```
pub fn verify_certificate(
    a: &PointCloud,
    b: &PointCloud,
    cost: Cost,
    pairing: &Pairing,
    duals: &Duals,
    tolerance: CertificateTolerance,
) -> Result<Certificate> {
    let frame = WorkingFrame::fit(a, b)?;
    let (fa, fb) = (frame.to_frame(a)?, frame.to_frame(b)?);
    let frame_duals = duals.to_frame(&frame, cost);
    Ok(verify_in_frame(&fa, &fb, cost, pairing, &frame_duals, tolerance)?.to_input(&frame, cost))
}

/// The check on clouds already in their working frame, where `tolerance.feasibility` is an
/// absolute tolerance (the frame's unit is the pair's scale).
pub(crate) fn verify_in_frame(
    a: &PointCloud,
    b: &PointCloud,
    cost: Cost,
    pairing: &Pairing,
    duals: &Duals,
    tolerance: CertificateTolerance,
) -> Result<Certificate> {
    let fail = |m: String| {
        Err(Error::Estimator {
            method: Method::Exact.name().into(),
            message: format!("certificate failed: {m}"),
        })
    };
    if duals.a.len() != a.len() || duals.b.len() != b.len() {
        return fail("dual vectors of the wrong length".into());
    }
    if !pairing.fits(a.len(), b.len()) {
        return fail(format!(
            "a {} of {} pairs does not fit clouds of {} and {} points",
            pairing.kind(),
            pairing.len(),
            a.len(),
            b.len()
        ));
    }
    if let Pairing::Map(_) | Pairing::MapFromB(_) = pairing {
        // A map may hit a point twice: it is not feasible for any of the LPs certified here.
        return fail(format!("a {} is not a matching or a plan", pairing.kind()));
    }
    // u_i + v_j − c_ij ≤ tol for all j  ⇔  u_i − min_j (c_ij − v_j) ≤ tol.
    let columns = super::scan::Columns::new(b);
    let max_violation = (0..a.len())
        .into_par_iter()
        .map(|i| duals.a[i] - columns.min_reduced(a.point(i), &duals.b, cost))
        .reduce(|| 0.0, f64::max);
    // Points that may stay unmatched (the larger cloud of a partial matching) need v ≤ 0; a
    // plan uses every point, so its potentials have no sign.
    let sign = match (pairing, a.len().cmp(&b.len())) {
        (Pairing::Plan(_), _) => 0.0,
        (_, std::cmp::Ordering::Less) => duals.b.iter().copied().fold(0.0_f64, f64::max),
        (_, std::cmp::Ordering::Greater) => duals.a.iter().copied().fold(0.0_f64, f64::max),
        (_, std::cmp::Ordering::Equal) => 0.0,
    };
    let max_violation = max_violation.max(sign);
    let feasibility_tol = tolerance.feasibility;
    let (primal, dual, gap_tol) = match pairing {
        // Masses sum to 1, so the constraints' slack adds at most `feasibility` to the gap.
        Pairing::Plan(plan) => {
            let primal: f64 = plan
                .weighted()
                .map(|(i, j, w)| w * cost.between(a.point(i), b.point(j)))
                .sum();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let dual = mean(&duals.a) + mean(&duals.b);
            (primal, dual, tolerance.gap * primal.abs() + feasibility_tol)
        }
        _ => {
            let primal: f64 = pairing
                .pairs()
                .map(|(i, j)| cost.between(a.point(i), b.point(j)))
                .sum();
            let dual: f64 = duals.a.iter().sum::<f64>() + duals.b.iter().sum::<f64>();
            let slack = pairing.len() as f64 * feasibility_tol;
            (primal, dual, tolerance.gap * primal.abs() + slack)
        }
    };
    let cert = Certificate {
        primal,
        dual,
        max_violation,
    };
    if max_violation > feasibility_tol {
        return fail(format!(
            "a dual constraint is violated by {max_violation:e} (tolerance {feasibility_tol:e})"
        ));
    }
    if cert.gap() > gap_tol {
        return fail(format!(
            "primal {primal} exceeds dual {dual} by {:e} (tolerance {gap_tol:e})",
            cert.gap()
        ));
    }
    Ok(cert)
}

//! The optimality certificate of an assignment: dual potentials `(u, v)` with
//! `u_i + v_j ≤ c_ij` for **every** pair (checked on the fly, O(n·m) time, O(n + m) memory) and
//! a primal cost equal to the dual value `Σu + Σv` up to a tolerance. By LP duality no matching
//! can cost less than `Σu + Σv`, so a matching that attains it is optimal.

use deepemd_core::{Cost, Error, Pairing, PointCloud, Result};
use rayon::prelude::*;

/// Dual potentials: `a[i]` for the points of A, `b[j]` for the points of B. For a partial
/// matching the larger cloud's potentials are also `≤ 0` (its points may stay unmatched).
#[derive(Clone, Debug, PartialEq)]
pub struct Duals {
    /// Potentials of A's points.
    pub a: Vec<f64>,
    /// Potentials of B's points.
    pub b: Vec<f64>,
}

/// What a certificate check measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Certificate {
    /// Sum of the matched costs.
    pub primal: f64,
    /// `Σ u + Σ v`, a lower bound on every matching's sum.
    pub dual: f64,
    /// Largest violation of `u_i + v_j ≤ c_ij` (0 when feasible).
    pub max_violation: f64,
}

impl Certificate {
    /// `primal − dual`, the most the matching can exceed the optimum by.
    pub fn gap(&self) -> f64 {
        self.primal - self.dual
    }
}

/// Checks `duals` against every pair and `pairing`'s cost; `Err` when a constraint is violated
/// by more than `feasibility_tol` or the gap exceeds `gap_tol`.
pub fn verify_certificate(
    a: &PointCloud,
    b: &PointCloud,
    cost: Cost,
    pairing: &Pairing,
    duals: &Duals,
    feasibility_tol: f64,
    gap_tol: f64,
) -> Result<Certificate> {
    let fail = |m: String| {
        Err(Error::Estimator {
            method: "exact".into(),
            message: format!("certificate failed: {m}"),
        })
    };
    if duals.a.len() != a.len() || duals.b.len() != b.len() {
        return fail("dual vectors of the wrong length".into());
    }
    // u_i + v_j − c_ij ≤ tol for all j  ⇔  u_i − min_j (c_ij − v_j) ≤ tol.
    let columns = super::scan::Columns::new(b);
    let max_violation = (0..a.len())
        .into_par_iter()
        .map(|i| duals.a[i] - columns.min_reduced(a.point(i), &duals.b, cost))
        .reduce(|| 0.0, f64::max);
    // Points that may stay unmatched (the larger cloud of a partial matching) need v ≤ 0.
    let sign = match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Less => duals.b.iter().copied().fold(0.0_f64, f64::max),
        std::cmp::Ordering::Greater => duals.a.iter().copied().fold(0.0_f64, f64::max),
        std::cmp::Ordering::Equal => 0.0,
    };
    let max_violation = max_violation.max(sign);
    let primal: f64 = pairing
        .pairs()
        .map(|(i, j)| cost.between(a.point(i), b.point(j)))
        .sum();
    let dual: f64 = duals.a.iter().sum::<f64>() + duals.b.iter().sum::<f64>();
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

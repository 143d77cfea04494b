//! The reference exact solver: scipy's `linear_sum_assignment` (Crouse's shortest augmenting
//! path variant of the Jonker–Volgenant algorithm, Crouse 2016, doi:10.1109/TAES.2016.140952)
//! through the `lsap` crate, a line-by-line port of scipy's C++ code. O(n³) time, O(n·m) memory.
//!
//! For clouds of different sizes under [`Unequal::Uniform`] it is the reference by definition:
//! every vertex of the uniform transport polytope moves mass in units of `1 / lcm(n, m)`, so
//! the problem is the assignment between A's points repeated `lcm / n` times and B's repeated
//! `lcm / m` times (Birkhoff–von Neumann), solved as it is. That needs `lcm(n, m) ≤`
//! [`MAX_UNIFORM_LCM`].

use std::collections::BTreeMap;

use deepemd_core::{
    Cost, Emd, EmdEstimator, EmdRequest, Error, Method, Pairing, PointCloud, Result, TransportPlan,
    Unequal, WorkingFrame, check_same_dim,
};

/// The largest `lcm(n, m)` for which [`Hungarian`] solves the uniform convention (its
/// expanded assignment problem is `lcm × lcm`: 2048 is 32 MiB and about a second).
pub const MAX_UNIFORM_LCM: usize = 2048;

/// The Hungarian reference solver. Rectangular input gives a
/// [`PartialMatching`](deepemd_core::PartialMatching) in which every point of the smaller cloud
/// is matched, or under [`Unequal::Uniform`] a [`TransportPlan`] (see the module header).
///
/// ```
/// use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
/// use deepemd_solvers::Hungarian;
/// let a = PointCloud::from_points(&[[0.0, 0.0], [10.0, 0.0]]).unwrap();
/// let b = PointCloud::from_points(&[[10.0, 1.0], [0.0, 1.0]]).unwrap();
/// let emd = Hungarian.estimate(&a, &b, EmdRequest::new(Cost::Euclidean)).unwrap();
/// assert_eq!(emd.distance, 1.0);
/// assert_eq!(emd.pairing.as_bijection().unwrap().targets(), &[1, 0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Hungarian;

impl Hungarian {
    /// Solves the assignment problem on a dense row-major `n × m` cost matrix and returns the
    /// pairs `(row, column)` sorted by row; `min(n, m)` of them.
    pub fn solve_matrix(costs: &[f64], n: usize, m: usize) -> Result<Vec<(usize, usize)>> {
        if costs.len() != n * m {
            return Err(Error::InvalidInput(format!(
                "{} costs for a {n} × {m} matrix",
                costs.len()
            )));
        }
        if let Some(p) = costs.iter().position(|c| !c.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "cost ({}, {}) is not finite",
                p / m,
                p % m
            )));
        }
        // lsap wants an owned Vec; the copy is O(n·m), negligible next to the O(n³) solve.
        let (rows, cols) =
            lsap::solve(n, m, &costs.to_vec(), false).map_err(|e| Error::Estimator {
                method: Method::Hungarian.name().into(),
                message: format!("lsap failed: {e:?}"),
            })?;
        Ok(rows.into_iter().zip(cols).collect())
    }
}

impl EmdEstimator for Hungarian {
    fn name(&self) -> &str {
        Method::Hungarian.name()
    }

    fn is_exact(&self) -> bool {
        true
    }

    fn check_pair(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<()> {
        check_same_dim(a, b)?;
        if a.len() != b.len() && request.unequal == Unequal::Uniform {
            check_uniform_size(a.len(), b.len())?;
        }
        Ok(())
    }

    fn estimate(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<Emd> {
        check_same_dim(a, b)?;
        // The matching is found in the pair's working frame (coordinates in [−1, 1]), where no
        // cost over- or underflows; the value comes from the input's own coordinates.
        let (n, m) = (a.len(), b.len());
        let uniform = n != m && request.unequal == Unequal::Uniform;
        if uniform {
            // Refuse before the n × m matrix is built.
            check_uniform_size(n, m)?;
        }
        let frame = WorkingFrame::fit(a, b)?;
        let costs = request
            .cost
            .matrix(&frame.to_frame(a)?, &frame.to_frame(b)?);
        let pairing = if uniform {
            Pairing::Plan(uniform_plan(&costs, n, m)?)
        } else {
            Pairing::from_pairs(n, m, Self::solve_matrix(&costs, n, m)?)?
        };
        Emd::of_pairing(a, b, pairing, request.cost, request.gradient)
    }

    fn estimate_batch(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        request: EmdRequest,
    ) -> Vec<Result<Emd>> {
        crate::batch::par_estimate(self, pairs, request)
    }
}

/// The optimal plan between the uniform distributions by the expanded assignment problem.
fn uniform_plan(costs: &[f64], n: usize, m: usize) -> Result<TransportPlan> {
    let l = check_uniform_size(n, m)?;
    let (ra, rb) = (l / n, l / m);
    let expanded: Vec<f64> = (0..l * l)
        .map(|k| costs[(k / l / ra) * m + (k % l) / rb])
        .collect();
    let mut amounts: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    for (r, c) in Hungarian::solve_matrix(&expanded, l, l)? {
        *amounts.entry((r / ra, c / rb)).or_default() += 1;
    }
    TransportPlan::new(
        n,
        m,
        amounts.into_iter().map(|((i, j), k)| (i, j, k)).collect(),
    )
}

/// `lcm(n, m)`, or the error saying the expanded problem is too large.
fn check_uniform_size(n: usize, m: usize) -> Result<usize> {
    let l = TransportPlan::unit_for(n, m)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    if l > MAX_UNIFORM_LCM {
        return Err(Error::InvalidInput(format!(
            "{} solves the uniform convention for {n} vs {m} points as a {l} × {l} \
             assignment (lcm of the sizes), above its limit of {MAX_UNIFORM_LCM}; use the {} \
             method",
            Method::Hungarian,
            Method::Exact
        )));
    }
    Ok(l)
}

/// The exact EMD value between two clouds by the Hungarian reference, under the default
/// convention for unequal sizes ([`Unequal::Uniform`](deepemd_core::Unequal), up to
/// [`MAX_UNIFORM_LCM`]; an error beyond). For another convention use
/// [`Hungarian::estimate`] with [`EmdRequest::with_unequal`].
pub fn hungarian_emd(a: &PointCloud, b: &PointCloud, cost: Cost) -> Result<f64> {
    Ok(Hungarian.estimate(a, b, EmdRequest::new(cost))?.distance)
}

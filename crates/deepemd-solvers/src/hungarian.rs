//! The reference exact solver: scipy's `linear_sum_assignment` (Crouse's shortest augmenting
//! path variant of the Jonker–Volgenant algorithm, Crouse 2016, doi:10.1109/TAES.2016.140952)
//! through the `lsap` crate, a line-by-line port of scipy's C++ code. O(n³) time, O(n·m) memory.

use deepemd_core::{
    Cost, Emd, EmdEstimator, EmdRequest, Error, Method, Pairing, PointCloud, Result, WorkingFrame,
    check_same_dim,
};

/// The Hungarian reference solver. Rectangular input gives a [`PartialMatching`] in which
/// every point of the smaller cloud is matched.
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
            return Err(Error::InvalidParameter(format!(
                "{} costs for a {n} × {m} matrix",
                costs.len()
            )));
        }
        if let Some(p) = costs.iter().position(|c| !c.is_finite()) {
            return Err(Error::InvalidParameter(format!(
                "cost ({}, {}) is not finite",
                p / m,
                p % m
            )));
        }
        // lsap wants an owned Vec; the copy is O(n·m), negligible next to the O(n³) solve.
        let (rows, cols) =
            lsap::solve(n, m, &costs.to_vec(), false).map_err(|e| Error::Estimator {
                method: "hungarian".into(),
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

    fn estimate(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<Emd> {
        check_same_dim(a, b)?;
        // The matching is found in the pair's working frame (coordinates in [−1, 1]), where no
        // cost over- or underflows; the value comes from the input's own coordinates.
        let frame = WorkingFrame::fit(a, b)?;
        let costs = request
            .cost
            .matrix(&frame.to_frame(a)?, &frame.to_frame(b)?);
        let pairs = Self::solve_matrix(&costs, a.len(), b.len())?;
        let pairing = Pairing::from_pairs(a.len(), b.len(), pairs)?;
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

/// The exact EMD value between two clouds by the Hungarian reference.
pub fn hungarian_emd(a: &PointCloud, b: &PointCloud, cost: Cost) -> Result<f64> {
    Ok(Hungarian.estimate(a, b, EmdRequest::new(cost))?.distance)
}

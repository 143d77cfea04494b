//! The Chamfer distance, PointFlow's convention (docs/math.md): for clouds X (n points) and
//! Y (m points),
//! `CD(X, Y) = (1/n) Σ_x min_y ‖x − y‖² + (1/m) Σ_y min_x ‖x − y‖²`,
//! both directions, squared distances, each direction averaged. Note the units: a squared
//! length, where the EMD of this project is a length.

use deepemd_core::PointCloud;

use crate::error::{Error, Result};

/// The Chamfer distance of two clouds in f64 (a reference and the metric of
/// [`crate::generation_metrics`]). O(n·m) time, O(1) memory.
pub fn chamfer_distance(x: &PointCloud, y: &PointCloud) -> Result<f64> {
    if x.dim() != y.dim() {
        return Err(Error::Sets(format!(
            "a {}-D cloud and a {}-D cloud have no Chamfer distance",
            x.dim(),
            y.dim()
        )));
    }
    let one_way = |from: &PointCloud, to: &PointCloud| -> f64 {
        let total: f64 = from
            .points()
            .map(|p| {
                to.points()
                    .map(|q| p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        total / from.len() as f64
    };
    Ok(one_way(x, y) + one_way(y, x))
}

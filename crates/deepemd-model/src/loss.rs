//! The DeepEMD loss for other candle training loops (e.g. a point-cloud generator): the EMD of
//! the model's matching, as a differentiable scalar whose gradient is the estimator's gradient
//! (the matching is held fixed, as in the paper).

use candle_core::{D, DType, Tensor};
use deepemd_core::{Cost, Pairing, PointCloud};

use crate::error::Result;
use crate::estimator::DeepEmd;
use crate::rounding::Rounding;

/// Below this, a squared distance is treated as zero when taking the square root: the value
/// changes by at most 1e-10 and coincident points get a zero gradient, as in `docs/math.md`.
const SQRT_FLOOR: f64 = 1e-20;

/// The mean over pairs of the EMD (Euclidean cost) of the matching that `estimator` predicts
/// with `rounding`. Backward through the result gives `∂/∂a` and `∂/∂b` for those matchings.
///
/// # Shapes
/// `a`, `b`: `[B, n, point_dim]` (any device) → a scalar.
pub fn emd_loss(estimator: &DeepEmd, a: &Tensor, b: &Tensor, rounding: Rounding) -> Result<Tensor> {
    let (batch, n, dim) = a.dims3()?;
    let to_clouds = |t: &Tensor| -> Result<Vec<PointCloud>> {
        let v = t
            .detach()
            .to_device(&candle_core::Device::Cpu)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        v.chunks(n * dim)
            .map(|c| Ok(PointCloud::from_flat_f32(dim, c)?))
            .collect()
    };
    let (ca, cb) = (to_clouds(a)?, to_clouds(b)?);
    let pairs: Vec<(&PointCloud, &PointCloud)> = ca.iter().zip(&cb).collect();
    let logits = estimator.logits_batch(&pairs)?;
    let mut index = Vec::with_capacity(batch * n);
    for ((x, y), s) in pairs.iter().zip(&logits) {
        match rounding.apply(s, x, y, Cost::Euclidean)? {
            Pairing::Bijection(m) => index.extend(m.targets().iter().map(|&t| t as u32)),
            Pairing::Map(m) => index.extend(m.targets().iter().map(|&t| t as u32)),
            Pairing::Partial(_) => unreachable!("equal sizes never give a partial matching"),
        }
    }
    let index = Tensor::from_vec(index, (batch, n, 1), a.device())?
        .broadcast_as((batch, n, dim))?
        .contiguous()?;
    let matched = b.gather(&index, 1)?;
    let dist = ((a - matched)?.sqr()?.sum(D::Minus1)? + SQRT_FLOOR)?.sqrt()?;
    Ok(dist.mean_all()?)
}

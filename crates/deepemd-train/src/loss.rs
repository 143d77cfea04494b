//! The training objective: cross-entropy of each row of `S` against the optimal target, plus
//! the same on columns (each `b_j` against its optimal source), averaged.

use candle_core::{D, DType, Result, Tensor};
use candle_nn::ops::log_softmax;

/// `(loss, row accuracy)`. `row accuracy` is the share of rows whose argmax is the optimum.
///
/// # Shapes
/// `logits`: `[B, n, n]`; `target`, `inverse`: `[B, n]` u32 → a scalar and an `f32`.
pub fn matching_loss(logits: &Tensor, target: &Tensor, inverse: &Tensor) -> Result<(Tensor, f32)> {
    let rows = log_softmax(logits, D::Minus1)?.gather(&target.unsqueeze(2)?.contiguous()?, 2)?;
    let cols = log_softmax(logits, 1)?.gather(&inverse.unsqueeze(1)?.contiguous()?, 1)?;
    let loss = ((rows.mean_all()? + cols.mean_all()?)? * -0.5)?;
    let hits = logits
        .argmax(D::Minus1)?
        .eq(target)?
        .to_dtype(DType::F32)?
        .mean_all()?
        .to_scalar::<f32>()?;
    Ok((loss, hits))
}

//! The training objective: cross-entropy of each optimal pair `(i, j)` in its row of `S` (`b_j`
//! among all of B as the match of `a_i`) and in its column (`a_i` among all of A), averaged.
//! For `n = m` these are every row and every column; for `n ≠ m`, every point of the smaller
//! cloud and the matched points of the larger one (its unmatched points have no target).

use candle_core::{D, DType, Result, Tensor};
use candle_nn::ops::log_softmax;

/// `(loss, accuracy)`. `accuracy` is the share of the smaller cloud's points whose argmax over
/// the larger cloud is their optimal partner (the row accuracy for `n <= m`).
///
/// # Shapes
/// `logits`: `[B, n, m]`; `matched`, `partners`: `[B, min(n, m)]` u32 (see
/// [`crate::data::Batch`]) → a scalar and an `f32`.
pub fn matching_loss(
    logits: &Tensor,
    matched: &Tensor,
    partners: &Tensor,
) -> Result<(Tensor, f32)> {
    let (bsz, n, m) = logits.dims3()?;
    let at_matches =
        |log_p: Tensor| -> Result<Tensor> { log_p.reshape((bsz, n * m))?.gather(matched, 1) };
    let rows = at_matches(log_softmax(logits, D::Minus1)?)?;
    let cols = at_matches(log_softmax(logits, 1)?)?;
    let loss = ((rows.mean_all()? + cols.mean_all()?)? * -0.5)?;
    let across = if n <= m { 2 } else { 1 };
    let hits = logits
        .argmax(across)?
        .eq(partners)?
        .to_dtype(DType::F32)?
        .mean_all()?
        .to_scalar::<f32>()?;
    Ok((loss, hits))
}

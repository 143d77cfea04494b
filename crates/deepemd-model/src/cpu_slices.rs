//! The f32 data of a CPU tensor as a slice, for this crate's custom ops.

use candle_core::{CpuStorage, Layout, Result};

/// The values of a contiguous f32 input of `op` (its name, for the error) in `s` at `l`;
/// anything else is an error naming the op and the input `what`.
pub(crate) fn f32_slice<'a>(
    op: &str,
    s: &'a CpuStorage,
    l: &Layout,
    what: &str,
) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("{op}: {what} must be f32");
    };
    let Some((start, end)) = l.contiguous_offsets() else {
        candle_core::bail!("{op}: {what} must be contiguous");
    };
    Ok(&data[start..end])
}

/// The largest absolute difference of two tensors of one shape (for the tests).
#[cfg(test)]
pub(crate) fn max_abs_diff(x: &candle_core::Tensor, y: &candle_core::Tensor) -> f32 {
    (x - y)
        .and_then(|d| d.abs()?.max_all()?.to_scalar::<f32>())
        .expect("tensors of one shape")
}

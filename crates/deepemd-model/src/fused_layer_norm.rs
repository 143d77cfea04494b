//! Layer normalization for the CPU in one pass per row, with its own backward pass. candle-nn's
//! fused `layer_norm` has no backward (gradients would silently vanish in training) and the
//! version built from primitive ops makes seven passes over the activations and keeps five
//! intermediate tensors for autograd; this one reads `x` once forward and twice backward, and
//! keeps nothing (the row statistics are recomputed in the backward pass, `d` flops per row).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::cpu_slices::f32_slice;

/// The op's name in errors.
const OP: &str = "fused layer norm";

/// Rows per rayon task: enough work to amortize the task (≈ 32 K floats at d = 128).
const ROWS_PER_TASK: usize = 256;

/// `(x − mean) / √(var + eps) · weight + bias` over the last dimension, fused.
/// Inputs `x` `[.., d]`, `weight` and `bias` `[d]` (f32, CPU).
#[derive(Clone, Copy, Debug)]
pub struct FusedLayerNorm {
    /// Added to the variance.
    pub eps: f32,
}

/// The layer norm of `x` by [`FusedLayerNorm`] (CPU tensors only), differentiable with respect
/// to all three inputs.
pub fn fused_layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f32) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        FusedLayerNorm { eps },
    )
}

/// The width `d` of `x`'s rows, checked against the `[d]` parameters.
fn row_width(x: &Layout, p1: &Layout, p2: &Layout) -> Result<usize> {
    let d = x.shape().dims().last().copied().unwrap_or(0);
    if d == 0 || p1.shape().dims() != [d] || p2.shape().dims() != [d] {
        candle_core::bail!(
            "fused layer norm: x {:?} does not fit the parameters {:?}, {:?}",
            x.shape(),
            p1.shape(),
            p2.shape()
        );
    }
    Ok(d)
}

/// The mean and `1/√(var + eps)` of one row (two passes: no cancellation in the variance).
#[inline]
fn row_statistics(x: &[f32], eps: f32) -> (f32, f32) {
    let d = x.len() as f32;
    let mean = x.iter().sum::<f32>() / d;
    let var = x.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / d;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for FusedLayerNorm {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = row_width(l1, l2, l3)?;
        let (x, w, b) = (
            f32_slice(OP, s1, l1, "x")?,
            f32_slice(OP, s2, l2, "weight")?,
            f32_slice(OP, s3, l3, "bias")?,
        );
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(ROWS_PER_TASK * d)
            .zip(x.par_chunks(ROWS_PER_TASK * d))
            .for_each(|(out, x)| {
                for (y, x) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                    let (mean, rstd) = row_statistics(x, self.eps);
                    for (((y, &x), &w), &b) in y.iter_mut().zip(x).zip(w).zip(b) {
                        *y = (x - mean) * rstd * w + b;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _out: &Tensor,
        grad_out: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = weight.dim(0)?;
        let rows = x.elem_count() / d;
        let flat = x.apply_op3_no_bwd(
            weight,
            &grad_out.contiguous()?,
            &FusedLayerNormBackward { eps: self.eps },
        )?;
        let dx = flat.narrow(0, 0, rows * d)?.reshape(x.shape())?;
        let dw = flat.narrow(0, rows * d, d)?;
        let db = flat.narrow(0, rows * d + d, d)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// The backward kernel: inputs `x`, `weight`, `dy`; output `dx`, `dweight`, `dbias` back to
/// back, flat. With `x̂ = (x − mean)·rstd` and `g = dy ∘ weight`:
/// `dx = rstd · (g − mean(g) − x̂ · mean(g ∘ x̂))`, `dweight = Σ_rows dy ∘ x̂`, `dbias = Σ_rows dy`.
#[derive(Clone, Copy, Debug)]
struct FusedLayerNormBackward {
    eps: f32,
}

impl CustomOp3 for FusedLayerNormBackward {
    fn name(&self) -> &'static str {
        "fused-layer-norm-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = row_width(l1, l2, l2)?;
        if l3.shape() != l1.shape() {
            candle_core::bail!(
                "fused layer norm backward: dy {:?} differs from x {:?}",
                l3.shape(),
                l1.shape()
            );
        }
        let (x, w, dy) = (
            f32_slice(OP, s1, l1, "x")?,
            f32_slice(OP, s2, l2, "weight")?,
            f32_slice(OP, s3, l3, "dy")?,
        );
        let mut out = vec![0f32; x.len() + 2 * d];
        let (dx, _) = out.split_at_mut(x.len());
        // Each task: its rows of dx, and its partial sums of dweight and dbias.
        let partials: Vec<Vec<f32>> = dx
            .par_chunks_mut(ROWS_PER_TASK * d)
            .zip(x.par_chunks(ROWS_PER_TASK * d))
            .zip(dy.par_chunks(ROWS_PER_TASK * d))
            .map(|((dx, x), dy)| {
                let mut sums = vec![0f32; 2 * d];
                let (dw, db) = sums.split_at_mut(d);
                let mut xhat = vec![0f32; d];
                for ((dx, x), dy) in dx
                    .chunks_exact_mut(d)
                    .zip(x.chunks_exact(d))
                    .zip(dy.chunks_exact(d))
                {
                    let (mean, rstd) = row_statistics(x, self.eps);
                    let (mut mean_g, mut mean_gx) = (0f32, 0f32);
                    for k in 0..d {
                        xhat[k] = (x[k] - mean) * rstd;
                        let g = dy[k] * w[k];
                        mean_g += g;
                        mean_gx += g * xhat[k];
                        dw[k] += dy[k] * xhat[k];
                        db[k] += dy[k];
                    }
                    mean_g /= d as f32;
                    mean_gx /= d as f32;
                    for k in 0..d {
                        dx[k] = rstd * (dy[k] * w[k] - mean_g - xhat[k] * mean_gx);
                    }
                }
                sums
            })
            .collect();
        let tail = &mut out[x.len()..];
        for sums in &partials {
            for (t, s) in tail.iter_mut().zip(sums) {
                *t += s;
            }
        }
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu_slices::max_abs_diff;
    use crate::layers::layer_norm_of_primitive_ops;
    use candle_core::{Device, Var};

    /// The layer norm of primitive ops (the reference path), for reference.
    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Tensor {
        layer_norm_of_primitive_ops(x, w, b, eps).unwrap()
    }

    fn max_rel_diff(x: &Tensor, y: &Tensor) -> f32 {
        let scale = y
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        max_abs_diff(x, y) / scale.max(1e-12)
    }

    #[test]
    fn values_and_gradients_equal_the_reference() {
        let dev = Device::Cpu;
        // Row counts below, at and above a task's rows; widths 1, odd, the model's.
        for (shape, d) in [
            (vec![1usize, 1, 1], 1usize),
            (vec![2, 3, 7], 7),
            (vec![2, 300, 128], 128),
            (vec![1, 257, 33], 33),
        ] {
            let x = Var::from_tensor(
                &((Tensor::randn(0f32, 1.0, shape.as_slice(), &dev).unwrap() * 3.0).unwrap() + 1.5)
                    .unwrap(),
            )
            .unwrap();
            let w = Var::from_tensor(&Tensor::randn(1f32, 0.3, d, &dev).unwrap()).unwrap();
            let b = Var::from_tensor(&Tensor::randn(0f32, 0.3, d, &dev).unwrap()).unwrap();
            // A loss with a different weight per output, so every gradient term matters.
            let probe = Tensor::randn(0f32, 1.0, shape.as_slice(), &dev).unwrap();
            let fused = fused_layer_norm(&x, &w, &b, 1e-5).unwrap();
            let refd = reference(&x, &w, &b, 1e-5);
            assert!(max_rel_diff(&fused, &refd) < 1e-5, "{shape:?}");
            let grads = |y: &Tensor| (y * &probe).unwrap().sum_all().unwrap().backward().unwrap();
            let (gf, gr) = (grads(&fused), grads(&refd));
            for (var, name) in [(&x, "x"), (&w, "weight"), (&b, "bias")] {
                let (f, r) = (gf.get(var).unwrap(), gr.get(var).unwrap());
                let diff = max_rel_diff(f, r);
                assert!(diff < 1e-3, "{shape:?}: d{name} differs by {diff}");
            }
        }
    }

    #[test]
    fn a_constant_row_is_the_bias() {
        let x = Tensor::full(4f32, (3, 16), &Device::Cpu).unwrap();
        let w = Tensor::ones(16, candle_core::DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::arange(0f32, 16.0, &Device::Cpu).unwrap();
        let y = fused_layer_norm(&x, &w, &b, 1e-5).unwrap();
        let want = b.unsqueeze(0).unwrap().broadcast_as((3, 16)).unwrap();
        assert_eq!(max_rel_diff(&y, &want.contiguous().unwrap()), 0.0);
    }

    #[test]
    fn mismatched_parameters_are_errors() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 8), candle_core::DType::F32, &dev).unwrap();
        let w = Tensor::zeros(7, candle_core::DType::F32, &dev).unwrap();
        let err = fused_layer_norm(&x, &w, &w, 1e-5).unwrap_err().to_string();
        assert!(err.contains("does not fit"), "{err}");
    }
}

//! Fused multi-head attention for the CPU, in the FlashAttention style (Dao et al., 2022): each
//! rayon task takes one (batch, head, tile of query rows), walks the keys and values tile by
//! tile with an online softmax, and writes only its output rows. No `T × T` (or rows × T) score
//! buffer exists: the memory of attention is the output plus O(tile) scratch per thread, and the
//! scores stay in cache. The forward pass also keeps each row's log-sum-exp of its scores
//! (`T` floats per head), from which the backward pass recomputes the softmax tile by tile as
//! FlashAttention-2 does, in one pass over key tiles that gives dK, dV and dQ together (each
//! score's exponential computed once), again without a score matrix.

mod backward;
mod kernels;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::cpu_slices::f32_slice;
use backward::FusedAttentionBackward;
use kernels::{Tile, has_fma, transposed_tiles};

/// The op's name in errors.
const OP: &str = "fused attention";

/// Query rows per task.
const QUERY_TILE: usize = 32;
/// Keys per inner tile: one row of scores is `KEY_TILE` floats (four AVX-512 registers).
const KEY_TILE: usize = 64;
/// Groups of key tiles per head in the backward pass: each accumulates its own share of dQ
/// (`T × dh` floats), and the shares are added in group order, so the result does not depend
/// on how rayon schedules the groups.
const KEY_GROUPS: usize = 8;

/// `softmax(q kᵀ · scale) v` per (batch, head), fused. Inputs `[B, H, T, dh]` and
/// `[B, H, Tk, dh]` (f32, contiguous); output flat: the attention `[B, H, T, dh]`, then each
/// row's log-sum-exp of its scores `[B, H, T]` (for the backward pass, which takes the gradient
/// of the attention part only: the log-sum-exps are not differentiable outputs).
/// [`fused_attention`] returns the first part in shape.
#[derive(Clone, Copy, Debug)]
pub struct FusedAttention {
    /// The factor of the scores (1/√dh).
    pub scale: f32,
}

/// The attention of `q` to `k`, `v` by [`FusedAttention`] (CPU tensors only), differentiable
/// with respect to all three.
pub fn fused_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f32) -> Result<Tensor> {
    let flat =
        q.contiguous()?
            .apply_op3(&k.contiguous()?, &v.contiguous()?, FusedAttention { scale })?;
    flat.narrow(0, 0, q.elem_count())?.reshape(q.shape())
}

impl CustomOp3 for FusedAttention {
    fn name(&self) -> &'static str {
        "fused-attention"
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
        let (b, h, t, dh) = l1.shape().dims4()?;
        let (bk, hk, tk, dk) = l2.shape().dims4()?;
        if (bk, hk, dk) != (b, h, dh) || l3.shape() != l2.shape() || tk == 0 {
            candle_core::bail!(
                "fused attention: q {:?}, k {:?}, v {:?} do not fit",
                l1.shape(),
                l2.shape(),
                l3.shape()
            );
        }
        let (q, k, v) = (
            f32_slice(OP, s1, l1, "q")?,
            f32_slice(OP, s2, l2, "k")?,
            f32_slice(OP, s3, l3, "v")?,
        );
        let mut flat = vec![0f32; b * h * t * (dh + 1)];
        let (out, lse) = flat.split_at_mut(b * h * t * dh);
        let arch = pulp::Arch::new();
        let fma = has_fma();
        if t > 0 && dh > 0 {
            out.par_chunks_mut(t * dh)
                .zip(lse.par_chunks_mut(t))
                .enumerate()
                .for_each(|(bh, (out_bh, lse_bh))| {
                    let q_bh = &q[bh * t * dh..(bh + 1) * t * dh];
                    // The keys transposed once per head, tile by tile (dh × KEY_TILE each),
                    // for every query tile to share.
                    let k_bh = transposed_tiles(&k[bh * tk * dh..(bh + 1) * tk * dh], dh);
                    let v_bh = &v[bh * tk * dh..(bh + 1) * tk * dh];
                    out_bh
                        .par_chunks_mut(QUERY_TILE * dh)
                        .zip(lse_bh.par_chunks_mut(QUERY_TILE))
                        .enumerate()
                        .for_each(|(tile, (out_tile, lse_tile))| {
                            let r0 = tile * QUERY_TILE;
                            let rows = out_tile.len() / dh;
                            // Compiled for the best SIMD level the CPU has (AVX-512,
                            // AVX2+FMA, or baseline), chosen at run time.
                            arch.dispatch(Tile {
                                q: &q_bh[r0 * dh..(r0 + rows) * dh],
                                k_tiles: &k_bh,
                                v: v_bh,
                                dh,
                                scale: self.scale,
                                out: out_tile,
                                lse: lse_tile,
                                fma,
                            });
                        });
                });
        }
        let len = flat.len();
        Ok((CpuStorage::F32(flat), Shape::from(len)))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        flat: &Tensor,
        grad_flat: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, h, t, dh) = q.dims4()?;
        let tk = k.dim(2)?;
        let n = q.elem_count();
        let out = flat.narrow(0, 0, n)?.reshape(q.shape())?;
        let lse = flat.narrow(0, n, b * h * t)?;
        // Only the attention part is used downstream; the log-sum-exps get zero gradients.
        let grad_out = grad_flat.narrow(0, 0, n)?.reshape(q.shape())?;
        // D_r = dO_r · O_r, the softmax's correction term, then the log-sum-exps.
        let delta = (&grad_out * &out)?.sum(3)?.flatten_all()?;
        let delta_lse = Tensor::cat(&[&delta, &lse], 0)?.contiguous()?;
        let grad_out = &grad_out;
        // Stacked on a new leading axis, so that the kernel reads each as a plain slice.
        let q_do = Tensor::stack(&[q, grad_out], 0)?;
        let kv = Tensor::stack(&[k, v], 0)?;
        let flat = q_do.apply_op3_no_bwd(
            &kv,
            &delta_lse,
            &FusedAttentionBackward { scale: self.scale },
        )?;
        let (nq, nk) = (b * h * t * dh, b * h * tk * dh);
        let dq = flat.narrow(0, 0, nq)?.reshape((b, h, t, dh))?;
        let dk = flat.narrow(0, nq, nk)?.reshape((b, h, tk, dh))?;
        let dv = flat.narrow(0, nq + nk, nk)?.reshape((b, h, tk, dh))?;
        Ok((Some(dq), Some(dk), Some(dv)))
    }
}

#[cfg(test)]
mod tests {
    use super::kernels::fast_exp;
    use super::*;
    use crate::cpu_slices::max_abs_diff;
    use candle_core::{D, Device};

    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Tensor {
        let s = (q
            .matmul(&k.transpose(2, 3).unwrap().contiguous().unwrap())
            .unwrap()
            * scale)
            .unwrap();
        candle_nn::ops::softmax(&s, D::Minus1)
            .unwrap()
            .matmul(v)
            .unwrap()
    }

    #[test]
    fn fast_exp_is_accurate_on_the_softmax_range() {
        for k in 0..=20_000 {
            let x = -87.0 * k as f32 / 20_001.0;
            let (ours, libm) = (fast_exp(x), x.exp());
            assert!(((ours - libm) / libm).abs() < 5e-7, "{x}: {ours} vs {libm}");
        }
        assert_eq!(fast_exp(-1e30), 0.0);
        assert_eq!(fast_exp(0.0), 1.0);
    }

    #[test]
    fn equals_the_reference_attention_on_awkward_shapes() {
        let device = Device::Cpu;
        // T not a multiple of the tiles, T = 1, a single key, batch > 1, several head dims.
        for (b, h, t, tk, dh) in [
            (1, 1, 1, 1, 4),
            (2, 3, 1, 7, 8),
            (1, 4, 33, 33, 32),
            (2, 2, 100, 130, 16),
            (1, 1, 65, 64, 5),
            (3, 2, 31, 200, 64),
        ] {
            let q = Tensor::randn(0f32, 2.0, (b, h, t, dh), &device).unwrap();
            let k = Tensor::randn(0f32, 2.0, (b, h, tk, dh), &device).unwrap();
            let v = Tensor::randn(0f32, 1.0, (b, h, tk, dh), &device).unwrap();
            let scale = 1.0 / (dh as f64).sqrt();
            let ours = fused_attention(&q, &k, &v, scale as f32).unwrap();
            let theirs = reference(&q, &k, &v, scale);
            let diff = max_abs_diff(&ours, &theirs);
            assert!(
                diff < 1e-5,
                "{:?}: max difference {diff}",
                (b, h, t, tk, dh)
            );
        }
    }

    #[test]
    fn gradients_equal_the_reference_backward() {
        let device = Device::Cpu;
        for (b, h, t, tk, dh) in [
            (1, 1, 1, 1, 4),
            (2, 3, 33, 70, 8),
            (1, 2, 65, 65, 32),
            (1, 1, 130, 7, 5),
            // More key tiles than groups: groups of two tiles, the last one short (600 keys:
            // 10 tiles in 5 groups) or a last group of one tile (550 keys: 9 tiles, 2+2+2+2+1).
            (1, 2, 20, 600, 16),
            (1, 1, 9, 550, 32),
        ] {
            let var = |shape, s: f32| {
                candle_core::Var::from_tensor(
                    &(Tensor::randn(0f32, 1.0, shape, &device).unwrap() * s as f64).unwrap(),
                )
                .unwrap()
            };
            let (q, k, v) = (
                var((b, h, t, dh), 2.0),
                var((b, h, tk, dh), 2.0),
                var((b, h, tk, dh), 1.0),
            );
            // A loss that weighs every output differently.
            let w = Tensor::randn(0f32, 1.0, (b, h, t, dh), &device).unwrap();
            let scale = 1.0 / (dh as f64).sqrt();
            let ours = (fused_attention(q.as_tensor(), k.as_tensor(), v.as_tensor(), scale as f32)
                .unwrap()
                * &w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let theirs = (reference(q.as_tensor(), k.as_tensor(), v.as_tensor(), scale) * &w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for (name, x) in [("q", &q), ("k", &k), ("v", &v)] {
                let (g1, g2) = (
                    ours.get(x.as_tensor()).unwrap(),
                    theirs.get(x.as_tensor()).unwrap(),
                );
                let diff = max_abs_diff(g1, g2);
                let size = g2
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                // Relative 1e-4, and an absolute 1e-5 for gradients that are zero in exact
                // arithmetic (dq with one key: the softmax is constant) but are f32 rounding
                // of terms of size ~1 here.
                assert!(
                    diff <= 1e-4 * size + 1e-5,
                    "{:?} d{name}: max difference {diff} (largest {size})",
                    (b, h, t, tk, dh)
                );
            }
        }
    }

    #[test]
    fn the_backward_pass_is_bit_for_bit_repeatable() {
        // The dQ shares of the key groups are added in a fixed order, whatever rayon's
        // schedule: two runs give identical gradients.
        let device = Device::Cpu;
        let x = |s: f64| {
            candle_core::Var::from_tensor(
                &(Tensor::randn(0f32, 1.0, (2, 2, 300, 32), &device).unwrap() * s).unwrap(),
            )
            .unwrap()
        };
        let (q, k, v) = (x(2.0), x(2.0), x(1.0));
        let w = Tensor::randn(0f32, 1.0, (2, 2, 300, 32), &device).unwrap();
        let grads = || {
            let g = (fused_attention(&q, &k, &v, 0.2).unwrap() * &w)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            [&q, &k, &v].map(|x| {
                g.get(x)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            })
        };
        assert_eq!(grads(), grads());
    }

    #[test]
    fn large_scores_do_not_overflow() {
        let device = Device::Cpu;
        let q = (Tensor::randn(0f32, 1.0, (1, 1, 40, 8), &device).unwrap() * 300.0).unwrap();
        let k = (Tensor::randn(0f32, 1.0, (1, 1, 90, 8), &device).unwrap() * 300.0).unwrap();
        let v = Tensor::randn(0f32, 1.0, (1, 1, 90, 8), &device).unwrap();
        let ours = fused_attention(&q, &k, &v, 1.0).unwrap();
        let theirs = reference(&q, &k, &v, 1.0);
        assert!(max_abs_diff(&ours, &theirs) < 1e-4);
    }
}

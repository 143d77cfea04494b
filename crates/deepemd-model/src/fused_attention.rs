//! Fused multi-head attention for the CPU, in the FlashAttention style (Dao et al., 2022): each
//! rayon task takes one (batch, head, tile of query rows), walks the keys and values tile by
//! tile with an online softmax, and writes only its output rows. No `T × T` (or rows × T) score
//! buffer exists: the memory of attention is the output plus O(tile) scratch per thread, and the
//! scores stay in cache. The forward pass also keeps each row's log-sum-exp of its scores
//! (`T` floats per head), from which the backward pass recomputes the softmax tile by tile as
//! FlashAttention-2 does, in one pass over key tiles that gives dK, dV and dQ together (each
//! score's exponential computed once), again without a score matrix.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::cpu_slices::f32_slice;

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

/// The backward kernel: inputs `q` and `dO` stacked `[2, B, H, T, dh]`, `k` and `v` stacked
/// `[2, B, H, Tk, dh]`, and
/// `D = rowsum(dO ∘ O)` then the forward's log-sum-exps, flat (`2·B·H·T`); output dQ, dK, dV
/// back to back, flat.
#[derive(Clone, Copy, Debug)]
struct FusedAttentionBackward {
    scale: f32,
}

impl CustomOp3 for FusedAttentionBackward {
    fn name(&self) -> &'static str {
        "fused-attention-backward"
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
        let (_, b, h, t, dh) = l1.shape().dims5()?;
        let tk = l2.shape().dims5()?.3;
        let (q_do, kv, delta_lse) = (
            f32_slice(OP, s1, l1, "q|dO")?,
            f32_slice(OP, s2, l2, "k|v")?,
            f32_slice(OP, s3, l3, "D|lse")?,
        );
        let (delta, lse) = delta_lse.split_at(b * h * t);
        let (q, d_out) = q_do.split_at(b * h * t * dh);
        let (k, v) = kv.split_at(b * h * tk * dh);
        let mut dq = vec![0f32; b * h * t * dh];
        let mut dk = vec![0f32; b * h * tk * dh];
        let mut dv = vec![0f32; b * h * tk * dh];
        if t > 0 && tk > 0 && dh > 0 {
            let scale = self.scale;
            dq.par_chunks_mut(t * dh)
                .zip(dk.par_chunks_mut(tk * dh))
                .zip(dv.par_chunks_mut(tk * dh))
                .enumerate()
                .for_each(|(bh, ((dq, dk), dv))| {
                    let (k, v) = (
                        &k[bh * tk * dh..(bh + 1) * tk * dh],
                        &v[bh * tk * dh..(bh + 1) * tk * dh],
                    );
                    let head = HeadGrads {
                        q: &q[bh * t * dh..(bh + 1) * t * dh],
                        d_out: &d_out[bh * t * dh..(bh + 1) * t * dh],
                        k,
                        k_tiles: transposed_tiles(k, dh),
                        v_tiles: transposed_tiles(v, dh),
                        delta: &delta[bh * t..(bh + 1) * t],
                        lse: &lse[bh * t..(bh + 1) * t],
                        dh,
                        scale,
                    };
                    head.backward(dq, dk, dv);
                });
        }
        let mut flat = dq;
        flat.extend(dk);
        flat.extend(dv);
        let len = flat.len();
        Ok((CpuStorage::F32(flat), Shape::from(len)))
    }
}

/// One head's inputs to the backward pass, with the keys and values transposed tile by tile
/// (see [`transposed_tiles`]).
struct HeadGrads<'a> {
    q: &'a [f32],
    d_out: &'a [f32],
    k: &'a [f32],
    k_tiles: Vec<f32>,
    v_tiles: Vec<f32>,
    delta: &'a [f32],
    lse: &'a [f32],
    dh: usize,
    scale: f32,
}

/// One tile of one pass of the backward pass, for [`pulp::Arch::dispatch`] (see [`Tile`]).
enum BackwardTile<'a, 'b> {
    /// Key tile `tile`: its dK and dV, and its terms of dQ added to `dq`.
    Keys {
        head: &'a HeadGrads<'a>,
        tile: usize,
        dk: &'b mut [f32],
        dv: &'b mut [f32],
        dq: &'b mut [f32],
    },
}

impl pulp::WithSimd for BackwardTile<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let fma = has_fma();
        match self {
            BackwardTile::Keys {
                head,
                tile,
                dk,
                dv,
                dq,
            } => {
                if fma {
                    head.key_grads::<true>(tile, dk, dv, dq)
                } else {
                    head.key_grads::<false>(tile, dk, dv, dq)
                }
            }
        }
    }
}

impl HeadGrads<'_> {
    /// dQ, dK, dV of this head, each pass parallel over its tiles.
    fn backward(&self, dq: &mut [f32], dk: &mut [f32], dv: &mut [f32]) {
        let dh = self.dh;
        let t = self.q.len() / dh;
        let arch = pulp::Arch::new();
        // Over a fixed partition of the key tiles into groups: dV_j = Σ_r P_rj dO_r and
        // dK_j = scale · Σ_r dS_rj q_r for the group's keys, and the group's share of
        // dQ_r = scale · Σ_j dS_rj k_j.
        let tiles = (self.k.len() / dh).div_ceil(KEY_TILE);
        let group = tiles.div_ceil(KEY_GROUPS) * KEY_TILE * dh;
        let shares: Vec<Vec<f32>> = dk
            .par_chunks_mut(group)
            .zip(dv.par_chunks_mut(group))
            .enumerate()
            .map(|(g, (dk, dv))| {
                let mut share = vec![0f32; t * dh];
                let first_tile = g * group / (KEY_TILE * dh);
                for (i, (dk, dv)) in dk
                    .chunks_mut(KEY_TILE * dh)
                    .zip(dv.chunks_mut(KEY_TILE * dh))
                    .enumerate()
                {
                    arch.dispatch(BackwardTile::Keys {
                        head: self,
                        tile: first_tile + i,
                        dk,
                        dv,
                        dq: &mut share,
                    });
                }
                share
            })
            .collect();
        for share in &shares {
            for (d, s) in dq.iter_mut().zip(share) {
                *d += s;
            }
        }
    }

    /// The transposed tile `tile` of the keys and of the values, and how many keys it holds.
    #[inline(always)]
    fn tiles(&self, tile: usize) -> (&[f32], &[f32], usize) {
        let size = self.dh * KEY_TILE;
        let cols = KEY_TILE.min(self.k.len() / self.dh - tile * KEY_TILE);
        (
            &self.k_tiles[tile * size..(tile + 1) * size],
            &self.v_tiles[tile * size..(tile + 1) * size],
            cols,
        )
    }

    #[inline(always)]
    fn row<'s>(&self, x: &'s [f32], r: usize) -> &'s [f32] {
        &x[r * self.dh..(r + 1) * self.dh]
    }

    /// `dS_rj = P_rj (dP_rj − D_r)` for the keys of a tile (zero past its end), with `P` from
    /// the row's log-sum-exp and `dP_rj = dO_r · v_j`; also `P_rj`.
    #[inline(always)]
    fn score_grads<const FMA: bool>(
        &self,
        row: usize,
        tile: usize,
        lse: f32,
    ) -> ([f32; KEY_TILE], [f32; KEY_TILE]) {
        let (k_t, v_t, cols) = self.tiles(tile);
        let mut p = row_scores::<FMA>(self.row(self.q, row), k_t, self.scale);
        let dp = row_scores::<FMA>(self.row(self.d_out, row), v_t, 1.0);
        p[cols..].fill(f32::NEG_INFINITY);
        let delta = self.delta[row];
        let mut ds = [0f32; KEY_TILE];
        for j in 0..KEY_TILE {
            p[j] = fast_exp(p[j] - lse);
            ds[j] = p[j] * (dp[j] - delta);
        }
        (ds, p)
    }

    #[inline(always)]
    fn key_grads<const FMA: bool>(
        &self,
        tile: usize,
        dk: &mut [f32],
        dv: &mut [f32],
        dq: &mut [f32],
    ) {
        let dh = self.dh;
        let t = self.q.len() / dh;
        let cols = dk.len() / dh;
        let j0 = tile * KEY_TILE;
        let keys = &self.k[j0 * dh..(j0 + cols) * dh];
        // The softmax and score gradients of a block of query rows, transposed (key-major):
        // dV_j += Σ_r P_rj dO_r and dK_j += Σ_r dS_rj q_r then run with dV_j / dK_j held in
        // registers over the block (a rank-1 update per row was bound by loads and stores).
        let mut p_t = [[0f32; QUERY_TILE]; KEY_TILE];
        let mut ds_t = [[0f32; QUERY_TILE]; KEY_TILE];
        for first in (0..t).step_by(QUERY_TILE) {
            let rows = QUERY_TILE.min(t - first);
            for r in 0..rows {
                let row = first + r;
                let (mut ds, p) = self.score_grads::<FMA>(row, tile, self.lse[row]);
                ds.iter_mut().for_each(|g| *g *= self.scale);
                accumulate_pv::<FMA>(&mut dq[row * dh..(row + 1) * dh], &ds[..cols], keys);
                for j in 0..cols {
                    p_t[j][r] = p[j];
                    ds_t[j][r] = ds[j];
                }
            }
            let block = first * dh..(first + rows) * dh;
            let (q_block, do_block) = (&self.q[block.clone()], &self.d_out[block]);
            for j in 0..cols {
                let rows_j = j * dh..(j + 1) * dh;
                accumulate_pv::<FMA>(&mut dv[rows_j.clone()], &p_t[j][..rows], do_block);
                accumulate_pv::<FMA>(&mut dk[rows_j], &ds_t[j][..rows], q_block);
            }
        }
    }
}

/// All keys of `x` (`rows × dh`) as consecutive transposed tiles (`dh × KEY_TILE` each, zero
/// past the end).
#[inline(always)]
fn transposed_tiles(x: &[f32], dh: usize) -> Vec<f32> {
    let tiles = (x.len() / dh).div_ceil(KEY_TILE);
    let mut out = vec![0f32; tiles * dh * KEY_TILE];
    for (tile, dst) in out.chunks_exact_mut(dh * KEY_TILE).enumerate() {
        transpose_tile(x, tile * KEY_TILE, dh, dst);
    }
    out
}

/// Copies keys `j0..` (up to a tile) of `x` (`rows × dh`) transposed into `x_t`
/// (`dh × KEY_TILE`, zero past the end); returns how many keys.
#[inline(always)]
fn transpose_tile(x: &[f32], j0: usize, dh: usize, x_t: &mut [f32]) -> usize {
    let cols = KEY_TILE.min(x.len() / dh - j0);
    for c in 0..dh {
        let dst = &mut x_t[c * KEY_TILE..(c + 1) * KEY_TILE];
        for (j, d) in dst.iter_mut().enumerate() {
            *d = if j < cols { x[(j0 + j) * dh + c] } else { 0.0 };
        }
    }
    cols
}

/// One task of the forward pass, for [`pulp::Arch::dispatch`]: `with_simd` is inlined into a
/// function compiled for the detected instruction set, and so is everything it calls (hence
/// `inline(always)` on the kernel's helpers); a closure would not be.
struct Tile<'a> {
    q: &'a [f32],
    k_tiles: &'a [f32],
    v: &'a [f32],
    dh: usize,
    scale: f32,
    out: &'a mut [f32],
    lse: &'a mut [f32],
    /// Whether the CPU has fused multiply-add.
    fma: bool,
}

impl pulp::WithSimd for Tile<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            q,
            k_tiles,
            v,
            dh,
            scale,
            out,
            lse,
            fma,
        } = self;
        if fma {
            attend_tile::<true>(q, k_tiles, v, dh, scale, out, lse);
        } else {
            attend_tile::<false>(q, k_tiles, v, dh, scale, out, lse);
        }
    }
}

/// One tile of query rows `q` (`rows × dh`) against all keys (`k_tiles`, from
/// [`transposed_tiles`]) and values (`tk × dh`), into `out` (`rows × dh`), with each row's
/// log-sum-exp of its scores into `lse`.
#[inline(always)]
fn attend_tile<const FMA: bool>(
    q: &[f32],
    k_tiles: &[f32],
    v: &[f32],
    dh: usize,
    scale: f32,
    out: &mut [f32],
    lse: &mut [f32],
) {
    let rows = q.len() / dh;
    let tk = v.len() / dh;
    debug_assert!(rows <= QUERY_TILE);
    let mut running_max = [f32::NEG_INFINITY; QUERY_TILE];
    let mut running_sum = [0f32; QUERY_TILE];
    let mut scores = [[0f32; KEY_TILE]; QUERY_TILE];
    out.fill(0.0);
    for (tile, j0) in (0..tk).step_by(KEY_TILE).enumerate() {
        let cols = KEY_TILE.min(tk - j0);
        let k_t = &k_tiles[tile * dh * KEY_TILE..(tile + 1) * dh * KEY_TILE];
        for r in 0..rows {
            scores[r] = row_scores::<FMA>(&q[r * dh..(r + 1) * dh], k_t, scale);
        }
        for r in 0..rows {
            let s = &mut scores[r];
            // Keys past the end weigh exp(−∞) = 0.
            s[cols..].fill(f32::NEG_INFINITY);
            let new_max = running_max[r].max(lane_max(s));
            // exp(−∞) = 0 on the first tile: the empty accumulators stay empty.
            let alpha = (running_max[r] - new_max).exp();
            // Separate loops for the exponentials and their sum, so both vectorize.
            for x in s.iter_mut() {
                *x = fast_exp(*x - new_max);
            }
            running_sum[r] = running_sum[r] * alpha + lane_sum(s);
            running_max[r] = new_max;
            let acc = &mut out[r * dh..(r + 1) * dh];
            if alpha != 1.0 {
                acc.iter_mut().for_each(|a| *a *= alpha);
            }
            accumulate_pv::<FMA>(acc, &s[..cols], &v[j0 * dh..(j0 + cols) * dh]);
        }
    }
    for r in 0..rows {
        let inv = 1.0 / running_sum[r];
        out[r * dh..(r + 1) * dh].iter_mut().for_each(|a| *a *= inv);
        lse[r] = running_max[r] + running_sum[r].ln();
    }
}

/// Whether this CPU has fused multiply-add (checked once per call, cached by std).
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// `a·b + c`, as one fused instruction when `FMA` (the CPU has it: `f32::mul_add` without the
/// instruction is a slow library call, and Rust never fuses `a * b + c` itself).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// The largest of a score row (vectorized lane by lane).
#[inline(always)]
fn lane_max(x: &[f32; KEY_TILE]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 16];
    for chunk in x.chunks_exact(16) {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l = l.max(v);
        }
    }
    lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// The sum of a score row (vectorized lane by lane).
#[inline(always)]
fn lane_sum(x: &[f32; KEY_TILE]) -> f32 {
    let mut lanes = [0f32; 16];
    for chunk in x.chunks_exact(16) {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum()
}

/// `acc += Σ_j p_j v_j` (`v`: `p.len()` rows of `acc.len()`), with the accumulator in registers
/// for the usual head sizes.
#[inline(always)]
fn accumulate_pv<const FMA: bool>(acc: &mut [f32], p: &[f32], v: &[f32]) {
    match acc.len() {
        16 => accumulate_pv_fixed::<FMA, 16>(acc, p, v),
        32 => accumulate_pv_fixed::<FMA, 32>(acc, p, v),
        64 => accumulate_pv_fixed::<FMA, 64>(acc, p, v),
        dh => {
            for (&pj, vr) in p.iter().zip(v.chunks_exact(dh)) {
                for (a, &x) in acc.iter_mut().zip(vr) {
                    *a = madd::<FMA>(pj, x, *a);
                }
            }
        }
    }
}

#[inline(always)]
fn accumulate_pv_fixed<const FMA: bool, const D: usize>(acc: &mut [f32], p: &[f32], v: &[f32]) {
    let mut a: [f32; D] = acc.try_into().expect("a row of D values");
    for (&pj, vr) in p.iter().zip(v.chunks_exact(D)) {
        let vr: &[f32; D] = vr.try_into().expect("a row of D values");
        for c in 0..D {
            a[c] = madd::<FMA>(pj, vr[c], a[c]);
        }
    }
    acc.copy_from_slice(&a);
}

/// The scores of one query against a transposed key tile, in a register-sized accumulator.
#[inline(always)]
fn row_scores<const FMA: bool>(q: &[f32], k_t: &[f32], scale: f32) -> [f32; KEY_TILE] {
    let mut acc = [0f32; KEY_TILE];
    for (c, &qc) in q.iter().enumerate() {
        let a = qc * scale;
        let kr: &[f32; KEY_TILE] = k_t[c * KEY_TILE..(c + 1) * KEY_TILE]
            .try_into()
            .expect("a full tile row");
        for j in 0..KEY_TILE {
            acc[j] = madd::<FMA>(a, kr[j], acc[j]);
        }
    }
    acc
}

/// `eˣ` for `x ≤ 0` in f32 (relative error < 2e-7), in arithmetic the compiler vectorizes:
/// `x = n·ln2 + r`, `|r| ≤ ln2/2`, `eʳ` by a degree-6 polynomial, `2ⁿ` by the exponent bits.
/// At or below −87 it returns 0 (e⁻⁸⁷ ≈ 1.6e-38, at the edge of f32's normal range).
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round to nearest by adding and subtracting 1.5·2²³ (`f32::round` is a library call that
    // stops the loop from vectorizing).
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let bits = ((n as i32 + 127) as u32) << 23;
    let two_n = f32::from_bits(bits);
    if x <= -87.0 { 0.0 } else { p * two_n }
}

#[cfg(test)]
mod tests {
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

//! The backward pass of the fused attention (FlashAttention-2): per head, one pass over fixed
//! groups of key tiles gives dK and dV and each group's share of dQ, the softmax recomputed
//! tile by tile from the forward's log-sum-exps.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape};
use rayon::prelude::*;

use super::kernels::{accumulate_pv, fast_exp, has_fma, row_scores, transposed_tiles};
use super::{KEY_GROUPS, KEY_TILE, OP, QUERY_TILE};
use crate::cpu_slices::f32_slice;

/// The backward kernel: inputs `q` and `dO` stacked `[2, B, H, T, dh]`, `k` and `v` stacked
/// `[2, B, H, Tk, dh]`, and
/// `D = rowsum(dO ∘ O)` then the forward's log-sum-exps, flat (`2·B·H·T`); output dQ, dK, dV
/// back to back, flat.
#[derive(Clone, Copy, Debug)]
pub(super) struct FusedAttentionBackward {
    pub(super) scale: f32,
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
pub(super) struct HeadGrads<'a> {
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
pub(super) enum BackwardTile<'a, 'b> {
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

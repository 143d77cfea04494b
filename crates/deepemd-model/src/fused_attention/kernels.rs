//! The fused attention's SIMD kernels: the forward tile (online softmax over key tiles), the
//! tile transposes both passes share, and the scalar helpers they inline.

use super::{KEY_TILE, QUERY_TILE};

/// All keys of `x` (`rows × dh`) as consecutive transposed tiles (`dh × KEY_TILE` each, zero
/// past the end).
#[inline(always)]
pub(super) fn transposed_tiles(x: &[f32], dh: usize) -> Vec<f32> {
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
pub(super) fn transpose_tile(x: &[f32], j0: usize, dh: usize, x_t: &mut [f32]) -> usize {
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
pub(super) struct Tile<'a> {
    pub(super) q: &'a [f32],
    pub(super) k_tiles: &'a [f32],
    pub(super) v: &'a [f32],
    pub(super) dh: usize,
    pub(super) scale: f32,
    pub(super) out: &'a mut [f32],
    pub(super) lse: &'a mut [f32],
    /// Whether the CPU has fused multiply-add.
    pub(super) fma: bool,
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
pub(super) fn attend_tile<const FMA: bool>(
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
pub(super) fn has_fma() -> bool {
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
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// The largest of a score row (vectorized lane by lane).
#[inline(always)]
pub(super) fn lane_max(x: &[f32; KEY_TILE]) -> f32 {
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
pub(super) fn lane_sum(x: &[f32; KEY_TILE]) -> f32 {
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
pub(super) fn accumulate_pv<const FMA: bool>(acc: &mut [f32], p: &[f32], v: &[f32]) {
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
pub(super) fn accumulate_pv_fixed<const FMA: bool, const D: usize>(
    acc: &mut [f32],
    p: &[f32],
    v: &[f32],
) {
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
pub(super) fn row_scores<const FMA: bool>(q: &[f32], k_t: &[f32], scale: f32) -> [f32; KEY_TILE] {
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
pub(super) fn fast_exp(x: f32) -> f32 {
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

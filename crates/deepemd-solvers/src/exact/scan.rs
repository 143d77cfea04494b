//! The O(n·m) scans of the certificate, vectorized: `min_j (c_ij − v_j)` for one point against
//! all points of a cloud stored coordinate by coordinate.

use deepemd_core::{Cost, PointCloud};

/// A cloud as separate coordinate arrays (2-D clouds get z = 0), so the scan over columns is a
/// straight loop the compiler turns into SIMD.
#[derive(Debug)]
pub(crate) struct Columns {
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
}

impl Columns {
    pub(crate) fn new(cloud: &PointCloud) -> Self {
        let coord = |d: usize| {
            cloud
                .points()
                .map(|p| p.get(d).copied().unwrap_or(0.0))
                .collect()
        };
        Self {
            x: coord(0),
            y: coord(1),
            z: coord(2),
        }
    }

    /// `min_j (c(p, col_j) − v_j)` over every column, with the widest SIMD this CPU has
    /// (pulp picks AVX2/AVX-512 at run time; the portable fallback runs everywhere).
    pub(crate) fn min_reduced(&self, p: &[f64], v: &[f64], cost: Cost) -> f64 {
        pulp::Arch::new().dispatch(MinReduced {
            cols: self,
            p,
            v,
            cost,
        })
    }

    /// `out[j] = c(p, col_j) − v_j` for every column (SIMD, as [`Self::min_reduced`]).
    pub(crate) fn reduced_into(&self, p: &[f64], v: &[f64], cost: Cost, out: &mut [f64]) {
        pulp::Arch::new().dispatch(ReducedInto {
            cols: self,
            p,
            v,
            cost,
            out,
        })
    }

    /// The `k` columns of least `c(p, col_j) − v_j` among those `allowed` accepts, in no
    /// particular order, as `(reduced cost, column)`; `buf` is scratch of one entry per column.
    /// One SIMD pass fills `buf`; a second keeps the `k` best, most columns failing one
    /// comparison with a threshold.
    pub(crate) fn best_reduced(
        &self,
        p: &[f64],
        v: &[f64],
        cost: Cost,
        k: usize,
        allowed: impl Fn(usize) -> bool,
        buf: &mut Vec<f64>,
        out: &mut Vec<(f64, u32)>,
    ) {
        buf.resize(self.x.len(), 0.0);
        self.reduced_into(p, v, cost, buf);
        out.clear();
        if k == 0 {
            return;
        }
        // Entries below the worst of the k kept so far collect in `out`; at 4k they are cut
        // back to the k least. O(m) whatever the order of the columns (keeping exactly k and
        // rescanning them for the worst is O(m·k) on columns in decreasing order).
        let mut threshold = f64::INFINITY;
        let keep_least = |out: &mut Vec<(f64, u32)>| {
            out.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            out.truncate(k);
        };
        for (j, &w) in buf.iter().enumerate() {
            if w < threshold && allowed(j) {
                out.push((w, j as u32));
                if out.len() == 4 * k {
                    keep_least(out);
                    threshold = out.iter().map(|e| e.0).fold(f64::NEG_INFINITY, f64::max);
                }
            }
        }
        if out.len() > k {
            keep_least(out);
        }
    }

    /// The same without SIMD, for the tests.
    #[cfg(test)]
    fn min_reduced_scalar(&self, p: &[f64], v: &[f64], cost: Cost) -> f64 {
        let (px, py, pz) = (p[0], p[1], p.get(2).copied().unwrap_or(0.0));
        const LANES: usize = 8;
        let mut best = [f64::INFINITY; LANES];
        let n = self.x.len();
        let whole = n - n % LANES;
        let sqrt = cost == Cost::Euclidean;
        let mut j = 0;
        while j < whole {
            for l in 0..LANES {
                let k = j + l;
                let (dx, dy, dz) = (self.x[k] - px, self.y[k] - py, self.z[k] - pz);
                let d2 = dx * dx + dy * dy + dz * dz;
                let c = if sqrt { d2.sqrt() } else { d2 };
                let w = c - v[k];
                best[l] = if w < best[l] { w } else { best[l] };
            }
            j += LANES;
        }
        let mut m = best.iter().copied().fold(f64::INFINITY, f64::min);
        #[allow(clippy::needless_range_loop)]
        for k in whole..n {
            let (dx, dy, dz) = (self.x[k] - px, self.y[k] - py, self.z[k] - pz);
            let d2 = dx * dx + dy * dy + dz * dz;
            let c = if sqrt { d2.sqrt() } else { d2 };
            m = m.min(c - v[k]);
        }
        m
    }
}

/// One query point of the SIMD loops: `c(p, col_j) − v_j` lane by lane. Separate multiplies
/// and adds (no FMA) round exactly like `Cost::between`, so SIMD and scalar values agree bit
/// for bit.
#[derive(Clone, Copy)]
struct Query {
    px: f64,
    py: f64,
    pz: f64,
    sqrt: bool,
}

impl Query {
    fn new(p: &[f64], cost: Cost) -> Self {
        Self {
            px: p[0],
            py: p[1],
            pz: p.get(2).copied().unwrap_or(0.0),
            sqrt: cost == Cost::Euclidean,
        }
    }

    #[inline(always)]
    fn reduced<S: pulp::Simd>(
        self,
        simd: S,
        x: S::f64s,
        y: S::f64s,
        z: S::f64s,
        v: S::f64s,
    ) -> S::f64s {
        let (dx, dy, dz) = (
            simd.sub_f64s(x, simd.splat_f64s(self.px)),
            simd.sub_f64s(y, simd.splat_f64s(self.py)),
            simd.sub_f64s(z, simd.splat_f64s(self.pz)),
        );
        let d2 = simd.add_f64s(
            simd.add_f64s(simd.mul_f64s(dx, dx), simd.mul_f64s(dy, dy)),
            simd.mul_f64s(dz, dz),
        );
        let c = if self.sqrt { simd.sqrt_f64s(d2) } else { d2 };
        simd.sub_f64s(c, v)
    }

    #[inline(always)]
    fn reduced_scalar(self, x: f64, y: f64, z: f64, v: f64) -> f64 {
        let (dx, dy, dz) = (x - self.px, y - self.py, z - self.pz);
        let d2 = dx * dx + dy * dy + dz * dz;
        let c = if self.sqrt { d2.sqrt() } else { d2 };
        c - v
    }
}

struct MinReduced<'a> {
    cols: &'a Columns,
    p: &'a [f64],
    v: &'a [f64],
    cost: Cost,
}

impl pulp::WithSimd for MinReduced<'_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> f64 {
        let cols = self.cols;
        let (xh, xt) = S::as_simd_f64s(&cols.x);
        let (yh, yt) = S::as_simd_f64s(&cols.y);
        let (zh, zt) = S::as_simd_f64s(&cols.z);
        let (vh, vt) = S::as_simd_f64s(self.v);
        let q = Query::new(self.p, self.cost);
        let mut best = simd.splat_f64s(f64::INFINITY);
        for (((x, y), z), v) in xh.iter().zip(yh).zip(zh).zip(vh) {
            best = simd.min_f64s(best, q.reduced(simd, *x, *y, *z, *v));
        }
        let mut m = simd.reduce_min_f64s(best);
        for (((x, y), z), v) in xt.iter().zip(yt).zip(zt).zip(vt) {
            m = m.min(q.reduced_scalar(*x, *y, *z, *v));
        }
        m
    }
}

struct ReducedInto<'a> {
    cols: &'a Columns,
    p: &'a [f64],
    v: &'a [f64],
    cost: Cost,
    out: &'a mut [f64],
}

impl pulp::WithSimd for ReducedInto<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let cols = self.cols;
        let (xh, xt) = S::as_simd_f64s(&cols.x);
        let (yh, yt) = S::as_simd_f64s(&cols.y);
        let (zh, zt) = S::as_simd_f64s(&cols.z);
        let (vh, vt) = S::as_simd_f64s(self.v);
        let (oh, ot) = S::as_mut_simd_f64s(self.out);
        let q = Query::new(self.p, self.cost);
        for ((((x, y), z), v), o) in xh.iter().zip(yh).zip(zh).zip(vh).zip(oh) {
            *o = q.reduced(simd, *x, *y, *z, *v);
        }
        for ((((x, y), z), v), o) in xt.iter().zip(yt).zip(zt).zip(vt).zip(ot) {
            *o = q.reduced_scalar(*x, *y, *z, *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deepemd_core::synthetic::uniform_cube;
    use rand::{Rng, SeedableRng};

    #[test]
    fn simd_scan_equals_the_plain_loop() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for (n, dim) in [(1, 3), (7, 2), (37, 3), (64, 3)] {
            let cloud = uniform_cube(n, dim, &mut rng).unwrap();
            let v: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let cols = Columns::new(&cloud);
            let p = [0.3, 0.6, 0.1];
            for cost in Cost::ALL {
                assert_eq!(
                    cols.min_reduced(&p[..dim], &v, cost),
                    cols.min_reduced_scalar(&p[..dim], &v, cost)
                );
            }
        }
    }

    #[test]
    fn best_reduced_keeps_the_k_least_allowed_columns() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        for (n, dim, k) in [(1, 3, 1), (9, 2, 4), (37, 3, 8), (64, 3, 70), (100, 2, 0)] {
            let cloud = uniform_cube(n, dim, &mut rng).unwrap();
            let random: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            // Rising potentials: reduced costs in decreasing order, the selection's worst case.
            let rising: Vec<f64> = (0..n).map(|j| 10.0 * j as f64).collect();
            let cols = Columns::new(&cloud);
            let p = [0.3, 0.6, 0.1];
            for (cost, v) in Cost::ALL
                .into_iter()
                .flat_map(|c| [(c, &random), (c, &rising)])
            {
                let allowed = |j: usize| j % 3 != 1;
                cols.best_reduced(&p[..dim], v, cost, k, allowed, &mut buf, &mut out);
                let mut got: Vec<u32> = out.iter().map(|&(_, j)| j).collect();
                got.sort_unstable();
                // Brute force: every allowed column's reduced cost, sorted.
                let mut all: Vec<(f64, u32)> = (0..n)
                    .filter(|&j| allowed(j))
                    .map(|j| (cost.between(&p[..dim], cloud.point(j)) - v[j], j as u32))
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut want: Vec<u32> = all.iter().take(k).map(|&(_, j)| j).collect();
                want.sort_unstable();
                assert_eq!(got, want, "n = {n}, k = {k}, {cost}");
                for &(w, j) in &out {
                    assert_eq!(
                        w,
                        cost.between(&p[..dim], cloud.point(j as usize)) - v[j as usize]
                    );
                }
            }
        }
    }
}

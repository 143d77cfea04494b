//! A cloud in a k-d tree (median splits on the axis of largest spread) for exact nearest
//! squared distances: Chamfer, and the nearest-distance lower bound of the pruned search.
//!
//! Points are stored in tree order, padded to three coordinates (a 2-D point gets z = 0, which
//! adds exactly 0 to a squared distance), so a leaf is a contiguous run. A query starts from the
//! nearest point of the previous query (the queries run in the querying cloud's own tree order,
//! so consecutive ones are neighbours): a real distance, so the minimum is unchanged, and most
//! of the tree is cut at once.

use deepemd_core::PointCloud;

/// Points per leaf of the tree.
const LEAF: usize = 8;

/// One cloud's k-d tree.
pub(crate) struct NearestIndex {
    /// The points in tree order.
    points: Vec<[f64; 3]>,
    /// The cloud's index of each point of `points`.
    original: Vec<u32>,
    /// The split axis of the node whose median sits at this position.
    axis: Vec<u8>,
}

/// `‖p − q‖²` as `(dx² + dy²) + dz²`: the same number as the brute force's coordinate-order sum
/// (its leading `±0 +` is exact, and so is a 2-D point's `+ 0`).
#[inline]
fn squared3(p: &[f64; 3], q: &[f64; 3]) -> f64 {
    let (dx, dy, dz) = (p[0] - q[0], p[1] - q[1], p[2] - q[2]);
    dx * dx + dy * dy + dz * dz
}

fn padded(p: &[f64]) -> [f64; 3] {
    [
        p[0],
        p.get(1).copied().unwrap_or(0.0),
        p.get(2).copied().unwrap_or(0.0),
    ]
}

impl NearestIndex {
    pub fn new(cloud: &PointCloud) -> Self {
        let n = cloud.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut axis = vec![0u8; n];
        build(cloud, &mut order, &mut axis, 0, n);
        Self {
            points: order
                .iter()
                .map(|&i| padded(cloud.point(i as usize)))
                .collect(),
            original: order,
            axis,
        }
    }

    /// Per point of this cloud (in the cloud's order), its least squared distance to `to`.
    fn minima(&self, to: &NearestIndex) -> Vec<f64> {
        let mut out = vec![0.0; self.points.len()];
        let mut hint = 0;
        for (k, p) in self.points.iter().enumerate() {
            let mut best = (squared3(p, &to.points[hint]), hint);
            to.search(p, 0, to.points.len(), &mut best);
            out[self.original[k] as usize] = best.0;
            hint = best.1;
        }
        out
    }

    /// `(1/n) Σ_p min_q ‖p − q‖²` over this cloud's points p (summed in the cloud's order, as
    /// the brute force sums) and `to`'s points q.
    pub fn one_way(&self, to: &NearestIndex) -> f64 {
        self.minima(to).iter().sum::<f64>() / self.points.len() as f64
    }

    /// `(1/n) Σ_p min_q ‖p − q‖` over this cloud's points p and `to`'s points q.
    pub fn mean_nearest_distance(&self, to: &NearestIndex) -> f64 {
        let m = self.minima(to);
        m.iter().map(|d| d.sqrt()).sum::<f64>() / m.len() as f64
    }

    /// Lowers `best` (a squared distance and its point) to the least squared distance from `q`
    /// to the points of `lo..hi`. A far side is skipped only when the squared distance to the
    /// split plane exceeds the best: its points are at least that far (rounding is monotone),
    /// so the minimum is unchanged. (Tracking the distance to the whole far cell prunes more
    /// but measured 15 % slower here.)
    fn search(&self, q: &[f64; 3], lo: usize, hi: usize, best: &mut (f64, usize)) {
        if hi - lo <= LEAF {
            for k in lo..hi {
                let d = squared3(q, &self.points[k]);
                if d < best.0 {
                    *best = (d, k);
                }
            }
            return;
        }
        let mid = (lo + hi) / 2;
        let p = &self.points[mid];
        let d = squared3(q, p);
        if d < best.0 {
            *best = (d, mid);
        }
        let axis = self.axis[mid] as usize;
        let diff = q[axis] - p[axis];
        let (near, far) = if diff < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        self.search(q, near.0, near.1, best);
        if diff * diff <= best.0 {
            self.search(q, far.0, far.1, best);
        }
    }
}

/// Orders `order[lo..hi]` into a k-d tree: the median on the axis of largest spread at the
/// middle, the halves below it, recursively down to leaves of [`LEAF`] points.
fn build(cloud: &PointCloud, order: &mut [u32], axis_of: &mut [u8], lo: usize, hi: usize) {
    if hi - lo <= LEAF {
        return;
    }
    let spread = |axis: usize| {
        let values = order[lo..hi].iter().map(|&i| cloud.point(i as usize)[axis]);
        let (mn, mx) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        mx - mn
    };
    let axis = (0..cloud.dim())
        .max_by(|&a, &b| spread(a).total_cmp(&spread(b)))
        .unwrap_or(0);
    let mid = (lo + hi) / 2;
    order[lo..hi].select_nth_unstable_by(mid - lo, |&x, &y| {
        cloud.point(x as usize)[axis].total_cmp(&cloud.point(y as usize)[axis])
    });
    axis_of[mid] = axis as u8;
    build(cloud, order, axis_of, lo, mid);
    build(cloud, order, axis_of, mid + 1, hi);
}

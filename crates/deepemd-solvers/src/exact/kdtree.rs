//! A k-d tree over 2-D or 3-D points for k-nearest-neighbour candidate lists.

use deepemd_core::PointCloud;

/// Median-split tree stored as a permutation of point indices; node `lo..hi` splits at `mid`.
#[derive(Debug)]
pub(crate) struct KdTree<'a> {
    cloud: &'a PointCloud,
    order: Vec<u32>,
    /// Split axis of the node whose median sits at position `mid` of `order`.
    axis: Vec<u8>,
}

const LEAF: usize = 8;

impl<'a> KdTree<'a> {
    pub(crate) fn new(cloud: &'a PointCloud) -> Self {
        let n = cloud.len();
        let mut tree = Self {
            cloud,
            order: (0..n as u32).collect(),
            axis: vec![0; n],
        };
        tree.build(0, n);
        tree
    }

    /// The points in tree order: every subtree is a contiguous run, so consecutive points are
    /// spatial neighbours (what the multiscale coarsening groups).
    pub(crate) fn order(&self) -> &[u32] {
        &self.order
    }

    fn coord(&self, i: u32, axis: usize) -> f64 {
        self.cloud.point(i as usize)[axis]
    }

    fn build(&mut self, lo: usize, hi: usize) {
        if hi - lo <= LEAF {
            return;
        }
        let dim = self.cloud.dim();
        // Split on the axis of largest spread.
        let (mut best_axis, mut best_spread) = (0, -1.0);
        for axis in 0..dim {
            let (mut mn, mut mx) = (f64::INFINITY, f64::NEG_INFINITY);
            for &i in &self.order[lo..hi] {
                let x = self.coord(i, axis);
                mn = mn.min(x);
                mx = mx.max(x);
            }
            if mx - mn > best_spread {
                best_spread = mx - mn;
                best_axis = axis;
            }
        }
        let mid = (lo + hi) / 2;
        let cloud = self.cloud;
        self.order[lo..hi].select_nth_unstable_by(mid - lo, |&x, &y| {
            cloud.point(x as usize)[best_axis].total_cmp(&cloud.point(y as usize)[best_axis])
        });
        self.axis[mid] = best_axis as u8;
        self.build(lo, mid);
        self.build(mid + 1, hi);
    }

    /// The `k` points nearest to `q` as `(squared distance, index)`, nearest first.
    pub(crate) fn nearest(&self, q: &[f64], k: usize, out: &mut Vec<(f64, u32)>) {
        out.clear();
        self.search(q, k, 0, self.order.len(), out);
        out.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    }

    fn consider(&self, q: &[f64], i: u32, k: usize, out: &mut Vec<(f64, u32)>) {
        let p = self.cloud.point(i as usize);
        let d: f64 = p.iter().zip(q).map(|(x, y)| (x - y) * (x - y)).sum();
        if out.len() < k {
            out.push((d, i));
            if out.len() == k {
                out.sort_by(|x, y| y.0.total_cmp(&x.0));
            }
        } else if d < out[0].0 {
            // `out` is kept sorted farthest first once full; insert in place.
            out[0] = (d, i);
            let mut s = 0;
            while s + 1 < out.len() && out[s].0 < out[s + 1].0 {
                out.swap(s, s + 1);
                s += 1;
            }
        }
    }

    fn search(&self, q: &[f64], k: usize, lo: usize, hi: usize, out: &mut Vec<(f64, u32)>) {
        if hi - lo <= LEAF {
            for pos in lo..hi {
                self.consider(q, self.order[pos], k, out);
            }
            return;
        }
        let mid = (lo + hi) / 2;
        let axis = self.axis[mid] as usize;
        let pivot = self.order[mid];
        let delta = q[axis] - self.coord(pivot, axis);
        let (near, far) = if delta < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        self.search(q, k, near.0, near.1, out);
        self.consider(q, pivot, k, out);
        if out.len() < k || delta * delta < out[0].0 {
            self.search(q, k, far.0, far.1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deepemd_core::synthetic::uniform_cube;
    use rand::SeedableRng;

    #[test]
    fn nearest_neighbours_match_brute_force() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for dim in [2, 3] {
            let cloud = uniform_cube(500, dim, &mut rng).unwrap();
            let queries = uniform_cube(50, dim, &mut rng).unwrap();
            let tree = KdTree::new(&cloud);
            let mut out = Vec::new();
            for q in queries.points() {
                tree.nearest(q, 7, &mut out);
                let mut brute: Vec<(f64, u32)> = (0..500)
                    .map(|j| {
                        (
                            cloud
                                .point(j)
                                .iter()
                                .zip(q)
                                .map(|(x, y)| (x - y) * (x - y))
                                .sum(),
                            j as u32,
                        )
                    })
                    .collect();
                brute.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                assert_eq!(out, brute[..7].to_vec());
            }
        }
    }
}

//! JSD between two sets of 3-D clouds, as PointFlow reports it (from Achlioptas et al.'s
//! latent_3d_points): every point of every cloud of a set is counted in the cell of a
//! `28 × 28 × 28` grid over the cube `[−0.5, 0.5]³` whose centre is nearest to it, the cells
//! whose centre lies outside the ball of radius 0.5 removed; the Jensen–Shannon divergence
//! (base 2) of the two sets' normalized counts is the metric (0 for equal occupancy, 1 at
//! most; lower is better). Clouds are taken as given: PointFlow's data sit in that cube; points
//! outside it count in their nearest remaining cell, as there.

use deepemd_core::PointCloud;

/// PointFlow's grid resolution.
pub const JSD_RESOLUTION: usize = 28;

/// The JSD of the two sets' occupancy on PointFlow's grid; `None` for 2-D clouds (the grid is
/// 3-D).
pub fn jsd_of_sets(reference: &[PointCloud], generated: &[PointCloud]) -> Option<f64> {
    let grid = OccupancyGrid::new(JSD_RESOLUTION);
    let r = grid.counts(reference)?;
    let g = grid.counts(generated)?;
    Some(jensen_shannon(&g, &r))
}

/// The cells of the grid that are kept, and how to find a point's nearest one.
struct OccupancyGrid {
    resolution: usize,
    /// Per cell of the full grid (x-major), its index among the kept cells.
    kept_index: Vec<Option<usize>>,
    /// The kept cells' centres.
    centres: Vec<[f64; 3]>,
}

impl OccupancyGrid {
    fn new(resolution: usize) -> Self {
        let r = resolution;
        // Centre i·s − 0.5 with s = 1/(r−1), i.e. (2i − (r−1)) / (2(r−1)): inside the ball of
        // radius 1/2 exactly when Σ (2i − (r−1))² ≤ (r−1)², an integer test (PointFlow's float32
        // norm agrees: no cell of the 28-grid is within 1 % of the sphere).
        let odd = |i: usize| (2 * i as i64 - (r as i64 - 1)).pow(2);
        let mut kept_index = vec![None; r * r * r];
        let mut centres = Vec::new();
        let s = 1.0 / (r - 1) as f64;
        for i in 0..r {
            for j in 0..r {
                for k in 0..r {
                    if odd(i) + odd(j) + odd(k) <= (r as i64 - 1).pow(2) {
                        kept_index[(i * r + j) * r + k] = Some(centres.len());
                        centres.push([i as f64 * s - 0.5, j as f64 * s - 0.5, k as f64 * s - 0.5]);
                    }
                }
            }
        }
        Self {
            resolution,
            kept_index,
            centres,
        }
    }

    /// Points per kept cell over every cloud of `set`; `None` if a cloud is not 3-D.
    fn counts(&self, set: &[PointCloud]) -> Option<Vec<f64>> {
        let mut counts = vec![0.0; self.centres.len()];
        for cloud in set {
            if cloud.dim() != 3 {
                return None;
            }
            for p in cloud.points() {
                counts[self.nearest(p)] += 1.0;
            }
        }
        Some(counts)
    }

    /// The kept cell whose centre is nearest to `p`: the nearest cell of the full grid (axis by
    /// axis) when it is kept, else the nearest kept centre by search (points near the corners).
    fn nearest(&self, p: &[f64]) -> usize {
        let r = self.resolution;
        let axis = |x: f64| {
            ((x + 0.5) * (r - 1) as f64)
                .round()
                .clamp(0.0, (r - 1) as f64) as usize
        };
        let cell = (axis(p[0]) * r + axis(p[1])) * r + axis(p[2]);
        self.kept_index[cell].unwrap_or_else(|| {
            let d2 = |c: &[f64; 3]| c.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
            (0..self.centres.len())
                .min_by(|&a, &b| d2(&self.centres[a]).total_cmp(&d2(&self.centres[b])))
                .expect("the grid keeps cells")
        })
    }
}

/// The Jensen–Shannon divergence (base 2) of two count vectors, each normalized to sum 1.
fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let entropy = |v: &mut dyn Iterator<Item = f64>| -> f64 {
        v.filter(|&x| x > 0.0).map(|x| -x * x.log2()).sum::<f64>()
    };
    let hp = entropy(&mut p.iter().map(|x| x / sp));
    let hq = entropy(&mut q.iter().map(|x| x / sq));
    let hm = entropy(&mut p.iter().zip(q).map(|(a, b)| (a / sp + b / sq) / 2.0));
    (hm - (hp + hq) / 2.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_keeps_the_cells_inside_the_ball() {
        let grid = OccupancyGrid::new(JSD_RESOLUTION);
        // PointFlow's test, in float32: the centre's norm at most 0.5.
        let s = 1.0 / 27.0_f32;
        let mut kept = 0;
        for i in 0..28 {
            for j in 0..28 {
                for k in 0..28 {
                    let c = [i, j, k].map(|t| t as f32 * s - 0.5);
                    kept += usize::from(c.iter().map(|x| x * x).sum::<f32>().sqrt() <= 0.5);
                }
            }
        }
        assert_eq!(grid.centres.len(), kept);
        for c in &grid.centres {
            assert!(c.iter().map(|x| x * x).sum::<f64>() <= 0.25);
        }
    }

    #[test]
    fn a_point_goes_to_its_nearest_kept_centre() {
        let grid = OccupancyGrid::new(JSD_RESOLUTION);
        let brute = |p: &[f64]| {
            let d2 = |c: &[f64; 3]| c.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
            (0..grid.centres.len())
                .min_by(|&a, &b| d2(&grid.centres[a]).total_cmp(&d2(&grid.centres[b])))
                .unwrap()
        };
        let mut x = 0.123_f64;
        for _ in 0..2000 {
            // A deterministic spread of points over [−0.7, 0.7]³, corners included.
            let mut next = || {
                x = (x * 9301.0 + 0.4927).fract();
                1.4 * x - 0.7
            };
            let p = [next(), next(), next()];
            assert_eq!(grid.nearest(&p), brute(&p), "{p:?}");
        }
    }

    #[test]
    fn divergence_is_zero_for_equal_and_one_for_disjoint_occupancy() {
        assert_eq!(jensen_shannon(&[1.0, 2.0, 0.0], &[2.0, 4.0, 0.0]), 0.0);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 3.0]) - 1.0).abs() < 1e-15);
    }
}

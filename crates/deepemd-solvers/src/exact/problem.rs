//! One assignment problem in its working frame: the rows (the smaller cloud), the columns and
//! the cost, with the two O(n·m) searches over all columns that the sparse phases fall back on.

use deepemd_core::{Cost, PointCloud};
use rayon::prelude::*;

use super::scan::Columns;

/// The rows (the smaller cloud; A when the sizes are equal), the columns and the cost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Problem<'a> {
    pub rows: &'a PointCloud,
    pub cols: &'a PointCloud,
    pub cost: Cost,
    /// Whether the rows are B (A is the larger cloud).
    pub swapped: bool,
}

impl<'a> Problem<'a> {
    /// The problem of matching `a` to `b`, rows taken from the smaller cloud.
    pub(crate) fn new(a: &'a PointCloud, b: &'a PointCloud, cost: Cost) -> Self {
        let swapped = a.len() > b.len();
        let (rows, cols) = if swapped { (b, a) } else { (a, b) };
        Self {
            rows,
            cols,
            cost,
            swapped,
        }
    }

    /// The pair `(i in A, j in B)` of row `row` and column `col`.
    pub(crate) fn as_input_pair(&self, row: usize, col: usize) -> (usize, usize) {
        if self.swapped { (col, row) } else { (row, col) }
    }
}

impl Problem<'_> {
    /// `c(row i, column j)`.
    #[inline]
    pub(crate) fn cost(&self, i: usize, j: usize) -> f64 {
        self.cost.between(self.rows.point(i), self.cols.point(j))
    }

    /// For each listed row, `min_j (c_ij − v_j)` over all columns (SIMD, rows in parallel).
    pub(crate) fn full_minima(&self, v: &[f64], which: &[usize]) -> Vec<f64> {
        let columns = Columns::new(self.cols);
        which
            .par_iter()
            .map(|&i| columns.min_reduced(self.rows.point(i), v, self.cost))
            .collect()
    }

    /// The 8 best columns (by `c_ij − v_j` over all columns) of each listed row, as edges.
    pub(crate) fn missing_edges(&self, v: &[f64], who: &[usize]) -> Vec<(u32, u32)> {
        self.best_columns(v, who, 8, |_| true)
    }

    /// The `k` best columns among those `allowed` accepts (by `c_ij − v_j`) of each listed row,
    /// as edges.
    pub(crate) fn best_columns(
        &self,
        v: &[f64],
        who: &[usize],
        k: usize,
        allowed: impl Fn(usize) -> bool + Sync,
    ) -> Vec<(u32, u32)> {
        let columns = Columns::new(self.cols);
        who.par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(buf, best), &i| {
                    columns.best_reduced(self.rows.point(i), v, self.cost, k, &allowed, buf, best);
                    best.iter().map(|&(_, j)| (i as u32, j)).collect::<Vec<_>>()
                },
            )
            .flatten_iter()
            .collect()
    }

    /// The nearest column to row `i` among those `is_free` accepts.
    pub(crate) fn nearest_free_column(
        &self,
        i: usize,
        is_free: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        (0..self.cols.len())
            .filter(|&j| is_free(j))
            .min_by(|&x, &y| self.cost(i, x).total_cmp(&self.cost(i, y)))
    }
}

//! The sparse candidate graph the auction and the shortest-path phase work on: each row's
//! nearest columns and each column's nearest rows, plus any edge found missing later.

use rayon::prelude::*;

use super::kdtree::KdTree;
use super::problem::Problem;

/// Edges per person in compressed-row form, with their costs.
#[derive(Debug, Clone)]
pub(crate) struct Candidates {
    pub offsets: Vec<usize>,
    pub cols: Vec<u32>,
    pub costs: Vec<f64>,
}

impl Candidates {
    /// `k` nearest columns of every row and `k` nearest rows of every column.
    pub(crate) fn nearest(problem: &Problem, k: usize) -> Self {
        Self::nearest_sized(problem, k, k)
    }

    /// `k_rows` nearest columns of every row and `k_cols` nearest rows of every column.
    pub(crate) fn nearest_sized(problem: &Problem, k_rows: usize, k_cols: usize) -> Self {
        let (persons, objects) = (problem.rows, problem.cols);
        let (n, m) = (persons.len(), objects.len());
        let obj_tree = KdTree::new(objects);
        let mut rows: Vec<Vec<u32>> = (0..n)
            .into_par_iter()
            .map_init(Vec::new, |buf, i| {
                obj_tree.nearest(persons.point(i), k_rows.min(m), buf);
                buf.iter().map(|&(_, j)| j).collect()
            })
            .collect();
        let per_tree = KdTree::new(persons);
        let reverse: Vec<Vec<u32>> = (0..m)
            .into_par_iter()
            .map_init(Vec::new, |buf, j| {
                per_tree.nearest(objects.point(j), k_cols.min(n), buf);
                buf.iter().map(|&(_, i)| i).collect()
            })
            .collect();
        for (j, near) in reverse.iter().enumerate() {
            for &i in near {
                rows[i as usize].push(j as u32);
            }
        }
        Self::from_rows(problem, rows)
    }

    /// After a start from potentials `v` (near the optimum's): each row's `k / 2` nearest
    /// columns and each column's `k / 2` nearest rows, plus each row's `2k` columns of least
    /// reduced cost `c_ij − v_j` over all columns. Between two different shapes the optimum's
    /// long edges are among the latter and rarely among the nearest (bunny vs armadillo, 8192
    /// points: 0.6 s with 8 nearest and 32 by reduced cost, 1.4 s with 16 and 8; the
    /// certificate then finds a few hundred rows missing an edge instead of ~6 000).
    pub(crate) fn shielded(problem: &Problem, k: usize, v: &[f64]) -> Self {
        let near = (k / 2).max(1);
        let mut cand = Self::nearest_sized(problem, near, near);
        cand.add_best_reduced(problem, v, 2 * k);
        cand
    }

    /// Adds each row's `k` columns of least reduced cost `c_ij − v_j` over all columns.
    pub(crate) fn add_best_reduced(&mut self, problem: &Problem, v: &[f64], k: usize) {
        let all: Vec<usize> = (0..problem.rows.len()).collect();
        self.add(problem, &problem.best_columns(v, &all, k, |_| true));
    }

    fn from_rows(problem: &Problem, mut rows: Vec<Vec<u32>>) -> Self {
        rows.par_iter_mut().for_each(|r| {
            r.sort_unstable();
            r.dedup();
        });
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        offsets.push(0);
        for r in &rows {
            offsets.push(offsets.last().unwrap() + r.len());
        }
        let cols: Vec<u32> = rows.concat();
        let costs: Vec<f64> = (0..rows.len())
            .into_par_iter()
            .flat_map_iter(|i| rows[i].iter().map(move |&j| (i, j)).collect::<Vec<_>>())
            .map(|(i, j)| problem.cost(i, j as usize))
            .collect();
        Self {
            offsets,
            cols,
            costs,
        }
    }

    /// Adds edges `(row, column)` (duplicates are dropped).
    pub(crate) fn add(&mut self, problem: &Problem, edges: &[(u32, u32)]) {
        let n = self.offsets.len() - 1;
        let mut rows: Vec<Vec<u32>> = (0..n)
            .map(|i| self.cols[self.offsets[i]..self.offsets[i + 1]].to_vec())
            .collect();
        for &(i, j) in edges {
            rows[i as usize].push(j);
        }
        *self = Self::from_rows(problem, rows);
    }

    /// The edges of row `i` as (columns, costs).
    #[inline]
    pub(crate) fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (s, e) = (self.offsets[i], self.offsets[i + 1]);
        (&self.cols[s..e], &self.costs[s..e])
    }

    /// Total number of edges.
    pub(crate) fn len(&self) -> usize {
        self.cols.len()
    }
}

//! The sparse candidate graph the auction works on: each person's nearest objects and each
//! object's nearest persons, plus any edge the certificate later finds missing.

use deepemd_core::{Cost, PointCloud};
use rayon::prelude::*;

use super::kdtree::KdTree;

/// Edges per person in compressed-row form, with their costs.
#[derive(Debug, Clone)]
pub(crate) struct Candidates {
    pub offsets: Vec<usize>,
    pub cols: Vec<u32>,
    pub costs: Vec<f64>,
}

impl Candidates {
    /// `k` nearest objects of every person and `k` nearest persons of every object.
    pub(crate) fn nearest(
        persons: &PointCloud,
        objects: &PointCloud,
        cost: Cost,
        k: usize,
    ) -> Self {
        let (n, m) = (persons.len(), objects.len());
        let obj_tree = KdTree::new(objects);
        let mut rows: Vec<Vec<u32>> = (0..n)
            .into_par_iter()
            .map_init(Vec::new, |buf, i| {
                obj_tree.nearest(persons.point(i), k.min(m), buf);
                buf.iter().map(|&(_, j)| j).collect()
            })
            .collect();
        let per_tree = KdTree::new(persons);
        let reverse: Vec<Vec<u32>> = (0..m)
            .into_par_iter()
            .map_init(Vec::new, |buf, j| {
                per_tree.nearest(objects.point(j), k.min(n), buf);
                buf.iter().map(|&(_, i)| i).collect()
            })
            .collect();
        for (j, near) in reverse.iter().enumerate() {
            for &i in near {
                rows[i as usize].push(j as u32);
            }
        }
        Self::from_rows(persons, objects, cost, rows)
    }

    /// Every column for every row (unequal sizes).
    pub(crate) fn dense(persons: &PointCloud, objects: &PointCloud, cost: Cost) -> Self {
        let rows = (0..persons.len())
            .map(|_| (0..objects.len() as u32).collect())
            .collect();
        Self::from_rows(persons, objects, cost, rows)
    }

    fn from_rows(
        persons: &PointCloud,
        objects: &PointCloud,
        cost: Cost,
        mut rows: Vec<Vec<u32>>,
    ) -> Self {
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
            .map(|(i, j)| cost.between(persons.point(i), objects.point(j as usize)))
            .collect();
        Self {
            offsets,
            cols,
            costs,
        }
    }

    /// Adds edges `(person, object)` (duplicates are dropped).
    pub(crate) fn add(
        &mut self,
        persons: &PointCloud,
        objects: &PointCloud,
        cost: Cost,
        edges: &[(u32, u32)],
    ) {
        let n = self.offsets.len() - 1;
        let mut rows: Vec<Vec<u32>> = (0..n)
            .map(|i| self.cols[self.offsets[i]..self.offsets[i + 1]].to_vec())
            .collect();
        for &(i, j) in edges {
            rows[i as usize].push(j);
        }
        *self = Self::from_rows(persons, objects, cost, rows);
    }

    /// The edges of person `i` as (objects, costs).
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

//! Exact shortest augmenting paths on the sparse candidate graph (the Jonker–Volgenant /
//! Crouse scheme with Dijkstra over a binary heap). Invariant between augmentations: every
//! candidate edge has reduced cost `c_ij − u_i − v_j ≥ 0` and every matched edge has reduced
//! cost 0, so the matching is optimal for the current candidates and the duals certify it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::auction::NONE;
use super::candidates::Candidates;
use super::total::TotalF64;

/// Primal-dual state: `row_of[j]`, `col_of[i]`, and the potentials.
#[derive(Debug)]
pub(crate) struct Jv {
    pub u: Vec<f64>,
    pub v: Vec<f64>,
    pub col_of: Vec<u32>,
    pub row_of: Vec<u32>,
    // Dijkstra scratch, reset lazily through `touched`.
    dist: Vec<f64>,
    pred: Vec<u32>,
    done: Vec<bool>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(TotalF64, u32)>>,
    /// Columns finalized by all searches (for the statistics).
    pub scanned: u64,
}

impl Jv {
    pub(crate) fn new(u: Vec<f64>, v: Vec<f64>, col_of: Vec<u32>, row_of: Vec<u32>) -> Self {
        let m = v.len();
        Self {
            u,
            v,
            col_of,
            row_of,
            dist: vec![f64::INFINITY; m],
            pred: vec![NONE; m],
            done: vec![false; m],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            scanned: 0,
        }
    }

    /// `u_i = min_j (c_ij − v_j)` over the candidates of row `i`.
    pub(crate) fn row_min(&self, cand: &Candidates, i: usize) -> f64 {
        let (cols, costs) = cand.row(i);
        cols.iter()
            .zip(costs)
            .map(|(&j, &c)| c - self.v[j as usize])
            .fold(f64::INFINITY, f64::min)
    }

    /// Matches free row `s` along a shortest augmenting path and updates the duals. Returns
    /// `false` (changing nothing) when no free column is reachable through the candidates.
    pub(crate) fn augment(&mut self, cand: &Candidates, s: usize) -> bool {
        for &j in &self.touched {
            let j = j as usize;
            self.dist[j] = f64::INFINITY;
            self.pred[j] = NONE;
            self.done[j] = false;
        }
        self.touched.clear();
        self.heap.clear();
        let mut finalized: Vec<u32> = Vec::new();
        // Relax the edges of row i, reached at distance `d_row`.
        let relax = |this: &mut Self, i: usize, d_row: f64| {
            let (cols, costs) = cand.row(i);
            let ui = this.u[i];
            for (&j, &c) in cols.iter().zip(costs) {
                let ju = j as usize;
                if this.done[ju] {
                    continue;
                }
                let d = d_row + (c - ui - this.v[ju]).max(0.0);
                if d < this.dist[ju] {
                    if this.dist[ju] == f64::INFINITY {
                        this.touched.push(j);
                    }
                    this.dist[ju] = d;
                    this.pred[ju] = i as u32;
                    this.heap.push(Reverse((TotalF64(d), j)));
                }
            }
        };
        relax(self, s, 0.0);
        let (sink, total) = loop {
            let Some(Reverse((TotalF64(d), j))) = self.heap.pop() else {
                return false;
            };
            let ju = j as usize;
            if self.done[ju] || d > self.dist[ju] {
                continue;
            }
            self.done[ju] = true;
            finalized.push(j);
            let owner = self.row_of[ju];
            if owner == NONE {
                break (ju, d);
            }
            relax(self, owner as usize, d);
        };
        self.scanned += finalized.len() as u64;
        // Dual update (see the module comment): rows on the tree rise, columns fall.
        self.u[s] += total;
        for &j in &finalized {
            let ju = j as usize;
            let delta = total - self.dist[ju];
            if ju != sink {
                self.v[ju] -= delta;
                let owner = self.row_of[ju] as usize;
                self.u[owner] += delta;
            }
        }
        // Flip the path.
        let mut j = sink;
        loop {
            let i = self.pred[j] as usize;
            let previous = self.col_of[i];
            self.col_of[i] = j as u32;
            self.row_of[j] = i as u32;
            if i == s {
                break;
            }
            j = previous as usize;
        }
        true
    }
}

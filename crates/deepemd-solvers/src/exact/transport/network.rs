//! The residual network of a sparse transportation problem: rows with supplies, columns with
//! demands, the candidate edges with their flows, and — for the partial convention — one
//! virtual row that sends the larger cloud's surplus at cost 0 to any column.
//!
//! Reduced costs are `r_ij = c_ij − u_i − v_j` on an edge from row `i` to column `j` (the
//! virtual row's edges cost 0). Invariant between phases, at the current slack `ε`: every edge
//! has `r ≥ −ε` and every edge carrying flow has `r ≤ ε` (ε-complementary slackness). At the
//! final scale `ε = TIGHT`, so the flow is optimal for the supplies it has routed so far.

use super::super::auction::NONE;
use super::super::candidates::Candidates;
use super::super::problem::Problem;

/// Reduced costs within this (in the working frame, where costs are O(1)) count as zero: a
/// few hundred ulps of the potentials, two orders below the certificate's tolerance.
pub(crate) const TIGHT: f64 = 1e-14;

/// An arc of the residual network, as the blocking-flow search walks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arc {
    /// Row → column along candidate edge `e` (uncapacitated).
    Forward(u32),
    /// Column → row, undoing flow on candidate edge `e`.
    Backward(u32),
    /// The virtual row → column `j`.
    FromVirtual(u32),
    /// Column `j` → the virtual row, undoing its flow.
    ToVirtual(u32),
}

/// Flows, supplies left, demands left and potentials.
#[derive(Debug)]
pub(crate) struct Network {
    pub cand: Candidates,
    /// Flow on each candidate edge (same order as `cand.cols`).
    pub flow: Vec<u64>,
    /// The row of each candidate edge.
    pub edge_row: Vec<u32>,
    /// Column-major index of the candidate edges: the edges of column `j` are
    /// `col_edges[col_offsets[j]..col_offsets[j + 1]]`.
    pub col_offsets: Vec<usize>,
    pub col_edges: Vec<u32>,
    /// Flow from the virtual row to each column.
    pub virtual_flow: Vec<u64>,
    /// Supply not yet routed, per row; index `n` is the virtual row.
    pub excess: Vec<u64>,
    /// Demand not yet met, per column.
    pub deficit: Vec<u64>,
    /// Row potentials (index `n`: the virtual row) and column potentials.
    pub u: Vec<f64>,
    pub v: Vec<f64>,
    /// The slack ε of the current scale (≥ [`TIGHT`]).
    pub eps: f64,
}

impl Network {
    /// No flow yet: row `i` holds `supply[i]` (the virtual row `surplus`), column `j` wants
    /// `demand[j]`. Row potentials start at their candidate minima, so every edge is feasible.
    pub(crate) fn new(
        cand: Candidates,
        supply: &[u64],
        demand: Vec<u64>,
        surplus: u64,
        v: Vec<f64>,
    ) -> Self {
        let (n, m) = (cand.offsets.len() - 1, v.len());
        let mut excess = supply.to_vec();
        excess.push(surplus);
        let mut net = Self {
            flow: vec![0; cand.len()],
            edge_row: Vec::new(),
            col_offsets: Vec::new(),
            col_edges: Vec::new(),
            cand,
            virtual_flow: vec![0; m],
            excess,
            deficit: demand,
            u: vec![0.0; n + 1],
            v,
            eps: TIGHT,
        };
        net.index_columns();
        for i in 0..n {
            net.u[i] = net.row_min(i);
        }
        net.u[n] = net.virtual_row_min();
        net
    }

    /// Number of real rows (the virtual row's index).
    pub(crate) fn n(&self) -> usize {
        self.excess.len() - 1
    }

    /// Number of columns.
    pub(crate) fn m(&self) -> usize {
        self.v.len()
    }

    /// `min_j (c_ij − v_j)` over the candidates of row `i`.
    pub(crate) fn row_min(&self, i: usize) -> f64 {
        let (cols, costs) = self.cand.row(i);
        cols.iter()
            .zip(costs)
            .map(|(&j, &c)| c - self.v[j as usize])
            .fold(f64::INFINITY, f64::min)
    }

    /// `min_j (0 − v_j)`: the virtual row reaches every column at cost 0.
    pub(crate) fn virtual_row_min(&self) -> f64 {
        self.v.iter().map(|&x| -x).fold(f64::INFINITY, f64::min)
    }

    /// Reduced cost of candidate edge `e`.
    #[inline]
    pub(crate) fn reduced(&self, e: usize) -> f64 {
        let i = self.edge_row[e] as usize;
        let j = self.cand.cols[e] as usize;
        self.cand.costs[e] - self.u[i] - self.v[j]
    }

    /// Reduced cost of the virtual row's edge to column `j`.
    #[inline]
    pub(crate) fn reduced_virtual(&self, j: usize) -> f64 {
        -self.u[self.n()] - self.v[j]
    }

    /// Rebuilds `edge_row` and the column-major index after the candidates changed.
    fn index_columns(&mut self) {
        let (n, m) = (self.n(), self.m());
        self.edge_row = vec![NONE; self.cand.len()];
        let mut count = vec![0usize; m + 1];
        for i in 0..n {
            for e in self.cand.offsets[i]..self.cand.offsets[i + 1] {
                self.edge_row[e] = i as u32;
                count[self.cand.cols[e] as usize + 1] += 1;
            }
        }
        for j in 0..m {
            count[j + 1] += count[j];
        }
        let mut next = count.clone();
        let mut col_edges = vec![0u32; self.cand.len()];
        for (e, &j) in self.cand.cols.iter().enumerate() {
            col_edges[next[j as usize]] = e as u32;
            next[j as usize] += 1;
        }
        self.col_offsets = count;
        self.col_edges = col_edges;
    }

    /// Adds candidate edges `(row, column)`, keeping every flow.
    pub(crate) fn add_edges(&mut self, problem: &Problem, edges: &[(u32, u32)]) {
        let carried: Vec<(usize, u32, u64)> = (0..self.cand.len())
            .filter(|&e| self.flow[e] > 0)
            .map(|e| (self.edge_row[e] as usize, self.cand.cols[e], self.flow[e]))
            .collect();
        self.cand.add(problem, edges);
        self.flow = vec![0; self.cand.len()];
        for (i, j, f) in carried {
            let (cols, _) = self.cand.row(i);
            let e = self.cand.offsets[i] + cols.binary_search(&j).expect("kept edge");
            self.flow[e] = f;
        }
        self.index_columns();
    }

    /// Takes back all of row `i`'s flow (its supply and the columns' demands return).
    pub(crate) fn release_row(&mut self, i: usize) {
        for e in self.cand.offsets[i]..self.cand.offsets[i + 1] {
            let f = std::mem::take(&mut self.flow[e]);
            self.excess[i] += f;
            self.deficit[self.cand.cols[e] as usize] += f;
        }
    }

    /// Moves to slack `eps` and restores ε-complementary slackness there: a row whose
    /// potential exceeds its candidate minimum by more than `eps` is lowered to it, and every
    /// edge that then carries flow at a reduced cost above `eps` gives its flow back.
    pub(crate) fn refine(&mut self, eps: f64) {
        self.eps = eps.max(TIGHT);
        let n = self.n();
        // Column potentials only fall during routing; re-centring them (rows move the other
        // way, so no reduced cost changes) keeps potentials O(1), where TIGHT is many ulps.
        let shift = self.v.iter().sum::<f64>() / self.m() as f64;
        self.v.iter_mut().for_each(|x| *x -= shift);
        self.u.iter_mut().for_each(|x| *x += shift);
        for i in 0..n {
            let min = self.row_min(i);
            if self.u[i] > min + self.eps {
                self.u[i] = min;
            }
            for e in self.cand.offsets[i]..self.cand.offsets[i + 1] {
                if self.flow[e] > 0 && self.reduced(e) > self.eps {
                    let f = std::mem::take(&mut self.flow[e]);
                    self.excess[i] += f;
                    self.deficit[self.cand.cols[e] as usize] += f;
                }
            }
        }
        let min = self.virtual_row_min();
        if self.u[n] > min + self.eps {
            self.u[n] = min;
        }
        for j in 0..self.m() {
            if self.virtual_flow[j] > 0 && self.reduced_virtual(j) > self.eps {
                let f = std::mem::take(&mut self.virtual_flow[j]);
                self.excess[n] += f;
                self.deficit[j] += f;
            }
        }
    }

    /// Supply not yet routed, in all.
    pub(crate) fn total_excess(&self) -> u64 {
        self.excess.iter().sum()
    }
}

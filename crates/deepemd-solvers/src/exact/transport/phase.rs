//! One phase of the primal-dual method: a multi-source Dijkstra from every row with supply
//! left raises the potentials so that shortest paths to the nearest columns with demand left
//! become zero-reduced-cost paths, then a blocking flow pushes as much as those paths carry
//! (Dinic's algorithm on the admissible arcs).
//!
//! Dijkstra alone would route one path per search; with real-valued costs shortest paths
//! rarely tie, so the search runs on past the first sink until the sinks it has reached could
//! absorb all the supply left, and every column it reached at a smaller distance gets its
//! potential lowered to match (the capped update keeps every reduced cost ≥ 0).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::super::total::TotalF64;
use super::network::{Arc, Network};

/// Dijkstra and search scratch, kept between phases.
#[derive(Debug, Default)]
pub(crate) struct Phase {
    dist: Vec<f64>,
    done: Vec<bool>,
    finalized: Vec<u32>,
    heap: BinaryHeap<Reverse<(TotalF64, u32)>>,
    /// Nodes the last search finalized (rows `0..=n`, then columns `n + 1 + j`).
    pub reached: Vec<u32>,
}

/// What one Dijkstra found.
pub(crate) enum Search {
    /// Potentials were updated; some sink is reachable by a zero-reduced-cost path.
    Raised,
    /// No column with demand left is reachable from the rows with supply left.
    Stuck,
}

impl Phase {
    /// The multi-source Dijkstra and the capped potential update; the search stops once the
    /// sinks it has finalized could absorb `target` units (or all the supply left).
    pub(crate) fn search(&mut self, net: &mut Network, target: u64) -> Search {
        let (n, m) = (net.n(), net.m());
        let nodes = n + 1 + m;
        self.dist.clear();
        self.dist.resize(nodes, f64::INFINITY);
        self.done.clear();
        self.done.resize(nodes, false);
        self.finalized.clear();
        self.heap.clear();
        let total = net.total_excess().min(target.max(1));
        for i in 0..=n {
            if net.excess[i] > 0 {
                self.dist[i] = 0.0;
                self.heap.push(Reverse((TotalF64(0.0), i as u32)));
            }
        }
        let mut absorbed = 0u64;
        let mut any_sink = false;
        let mut last = 0.0;
        while let Some(Reverse((TotalF64(d), x))) = self.heap.pop() {
            let x = x as usize;
            if self.done[x] || d > self.dist[x] {
                continue;
            }
            self.done[x] = true;
            self.finalized.push(x as u32);
            last = d;
            if x > n {
                let j = x - n - 1;
                if net.deficit[j] > 0 {
                    any_sink = true;
                    absorbed += net.deficit[j];
                    if absorbed >= total {
                        break;
                    }
                }
                self.relax_column(net, j, d);
            } else {
                self.relax_row(net, x, d);
            }
        }
        if !any_sink {
            self.reached = std::mem::take(&mut self.finalized);
            return Search::Stuck;
        }
        // Every node finalized below `last` moves by `last − d`: rows up, columns down, so
        // tree edges get reduced cost 0 and no reduced cost turns negative.
        for &x in &self.finalized {
            let x = x as usize;
            let delta = last - self.dist[x];
            if x <= n {
                net.u[x] += delta;
            } else {
                net.v[x - n - 1] -= delta;
            }
        }
        self.reached = std::mem::take(&mut self.finalized);
        Search::Raised
    }

    #[inline]
    fn push(&mut self, y: usize, d: f64) {
        if d < self.dist[y] && !self.done[y] {
            self.dist[y] = d;
            self.heap.push(Reverse((TotalF64(d), y as u32)));
        }
    }

    fn relax_row(&mut self, net: &Network, i: usize, d: f64) {
        let n = net.n();
        if i == n {
            for j in 0..net.m() {
                self.push(n + 1 + j, d + net.reduced_virtual(j).max(0.0));
            }
            return;
        }
        for e in net.cand.offsets[i]..net.cand.offsets[i + 1] {
            let j = net.cand.cols[e] as usize;
            self.push(n + 1 + j, d + net.reduced(e).max(0.0));
        }
    }

    fn relax_column(&mut self, net: &Network, j: usize, d: f64) {
        let n = net.n();
        for &e in &net.col_edges[net.col_offsets[j]..net.col_offsets[j + 1]] {
            let e = e as usize;
            if net.flow[e] > 0 {
                self.push(net.edge_row[e] as usize, d + (-net.reduced(e)).max(0.0));
            }
        }
        if net.virtual_flow[j] > 0 {
            self.push(n, d + (-net.reduced_virtual(j)).max(0.0));
        }
    }
}

/// A node of the residual network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Row(usize),
    Col(usize),
}

/// Pushes flow along admissible paths (arcs within the slack ε of tight) from rows with supply
/// left to columns with demand left until none is left, as Dinic's algorithm does: a
/// breadth-first search layers the admissible arcs from all sources, depth-first searches with
/// current-arc pointers push along arcs that climb one layer, and layering repeats. (The
/// admissible graph has cycles — a flow-carrying arc and its reverse are both admissible — so
/// a plain depth-first search that marks dead ends would mark live nodes dead.) Returns the
/// units pushed.
pub(crate) fn blocking_flow(net: &mut Network) -> u64 {
    let (n, m) = (net.n(), net.m());
    let mut layers = Layers::new(n, m);
    let mut pushed = 0;
    let mut path: Vec<(Node, Option<Arc>)> = Vec::new();
    while layers.build(net) {
        let mut row_arc = vec![0usize; n + 1];
        let mut col_arc = vec![0usize; m];
        for s in 0..=n {
            while net.excess[s] > 0 && layers.row[s] == 0 {
                path.clear();
                path.push((Node::Row(s), None));
                let found = loop {
                    let (x, _) = *path.last().expect("the source stays on the path");
                    if let Node::Col(j) = x {
                        if net.deficit[j] > 0 {
                            break true;
                        }
                    }
                    let next = match x {
                        Node::Row(i) => next_from_row(net, i, &mut row_arc[i], &layers),
                        Node::Col(j) => next_from_col(net, j, &mut col_arc[j], &layers),
                    };
                    match next {
                        Some((arc, y)) => path.push((y, Some(arc))),
                        None => {
                            // A dead end for this layering.
                            match x {
                                Node::Row(i) => layers.row[i] = DEAD,
                                Node::Col(j) => layers.col[j] = DEAD,
                            }
                            path.pop();
                            if path.is_empty() {
                                break false;
                            }
                        }
                    }
                };
                if !found {
                    break;
                }
                pushed += augment(net, s, &path);
            }
        }
    }
    pushed
}

/// Marks a node no admissible path climbs through.
const DEAD: u32 = u32::MAX;

/// Breadth-first layers of the admissible graph from the rows with supply left.
struct Layers {
    row: Vec<u32>,
    col: Vec<u32>,
    queue: Vec<Node>,
}

impl Layers {
    fn new(n: usize, m: usize) -> Self {
        Self {
            row: vec![DEAD; n + 1],
            col: vec![DEAD; m],
            queue: Vec::new(),
        }
    }

    /// Layers every node up to the first layer holding a column with demand left; `false`
    /// when no such column is reachable.
    fn build(&mut self, net: &Network) -> bool {
        let (n, m, eps) = (net.n(), net.m(), net.eps);
        self.row.fill(DEAD);
        self.col.fill(DEAD);
        self.queue.clear();
        for i in 0..=n {
            if net.excess[i] > 0 {
                self.row[i] = 0;
                self.queue.push(Node::Row(i));
            }
        }
        let mut sink_layer = DEAD;
        let mut head = 0;
        while head < self.queue.len() {
            let x = self.queue[head];
            head += 1;
            match x {
                Node::Row(i) => {
                    let next = self.row[i] + 1;
                    if next > sink_layer {
                        break;
                    }
                    let mut reach = |j: usize, col: &mut Vec<u32>, queue: &mut Vec<Node>| {
                        if col[j] == DEAD {
                            col[j] = next;
                            queue.push(Node::Col(j));
                            if net.deficit[j] > 0 {
                                sink_layer = sink_layer.min(next);
                            }
                        }
                    };
                    if i == n {
                        for j in 0..m {
                            if net.reduced_virtual(j) <= eps {
                                reach(j, &mut self.col, &mut self.queue);
                            }
                        }
                    } else {
                        for e in net.cand.offsets[i]..net.cand.offsets[i + 1] {
                            if net.reduced(e) <= eps {
                                reach(net.cand.cols[e] as usize, &mut self.col, &mut self.queue);
                            }
                        }
                    }
                }
                Node::Col(j) => {
                    let next = self.col[j] + 1;
                    if next > sink_layer {
                        break;
                    }
                    for &e in &net.col_edges[net.col_offsets[j]..net.col_offsets[j + 1]] {
                        let e = e as usize;
                        let i = net.edge_row[e] as usize;
                        if net.flow[e] > 0 && self.row[i] == DEAD && net.reduced(e) >= -eps {
                            self.row[i] = next;
                            self.queue.push(Node::Row(i));
                        }
                    }
                    if net.virtual_flow[j] > 0
                        && self.row[n] == DEAD
                        && net.reduced_virtual(j) >= -eps
                    {
                        self.row[n] = next;
                        self.queue.push(Node::Row(n));
                    }
                }
            }
        }
        sink_layer != DEAD
    }
}

/// Pushes the bottleneck amount along `path` (source row first, sink column last).
fn augment(net: &mut Network, s: usize, path: &[(Node, Option<Arc>)]) -> u64 {
    let Some(&(Node::Col(t), _)) = path.last() else {
        unreachable!("a path ends at a column")
    };
    let mut amount = net.excess[s].min(net.deficit[t]);
    for &(_, arc) in &path[1..] {
        match arc.expect("every step has an arc") {
            Arc::Backward(e) => amount = amount.min(net.flow[e as usize]),
            Arc::ToVirtual(j) => amount = amount.min(net.virtual_flow[j as usize]),
            Arc::Forward(_) | Arc::FromVirtual(_) => {}
        }
    }
    for &(_, arc) in &path[1..] {
        match arc.expect("every step has an arc") {
            Arc::Forward(e) => net.flow[e as usize] += amount,
            Arc::Backward(e) => net.flow[e as usize] -= amount,
            Arc::FromVirtual(j) => net.virtual_flow[j as usize] += amount,
            Arc::ToVirtual(j) => net.virtual_flow[j as usize] -= amount,
        }
    }
    net.excess[s] -= amount;
    net.deficit[t] -= amount;
    amount
}

/// The next admissible arc out of row `i` into the next layer, at or after its current arc
/// (which stays on the arc returned, so the search resumes there).
fn next_from_row(net: &Network, i: usize, arc: &mut usize, layers: &Layers) -> Option<(Arc, Node)> {
    let next = layers.row[i] + 1;
    let climbs = |j: usize| layers.col[j] == next;
    let eps = net.eps;
    if i == net.n() {
        while *arc < net.m() {
            let j = *arc;
            if climbs(j) && net.reduced_virtual(j) <= eps {
                return Some((Arc::FromVirtual(j as u32), Node::Col(j)));
            }
            *arc += 1;
        }
        return None;
    }
    let (start, end) = (net.cand.offsets[i], net.cand.offsets[i + 1]);
    while start + *arc < end {
        let e = start + *arc;
        let j = net.cand.cols[e] as usize;
        if climbs(j) && net.reduced(e) <= eps {
            return Some((Arc::Forward(e as u32), Node::Col(j)));
        }
        *arc += 1;
    }
    None
}

/// The next admissible arc out of column `j` into the next layer: back along an edge carrying
/// flow (the column's edges in order, then the virtual row's).
fn next_from_col(net: &Network, j: usize, arc: &mut usize, layers: &Layers) -> Option<(Arc, Node)> {
    let next = layers.col[j] + 1;
    let climbs = |i: usize| layers.row[i] == next;
    let eps = net.eps;
    let (start, end) = (net.col_offsets[j], net.col_offsets[j + 1]);
    while start + *arc < end {
        let e = net.col_edges[start + *arc] as usize;
        let i = net.edge_row[e] as usize;
        if net.flow[e] > 0 && climbs(i) && net.reduced(e) >= -eps {
            return Some((Arc::Backward(e as u32), Node::Row(i)));
        }
        *arc += 1;
    }
    if start + *arc == end {
        let n = net.n();
        if net.virtual_flow[j] > 0 && climbs(n) && net.reduced_virtual(j) >= -eps {
            return Some((Arc::ToVirtual(j as u32), Node::Row(n)));
        }
        *arc += 1;
    }
    None
}

//! Bertsekas' forward auction with ε-scaling (Bertsekas 1988, doi:10.1007/BF02186476;
//! Bertsekas & Castañon 1991) on a sparse candidate graph, in min-cost form: person `i` values
//! object `j` at `w_ij = c_ij + p_j` and bids for its cheapest object, raising that price by
//! the gap to its second cheapest plus ε. On termination every person satisfies ε-complementary
//! slackness: `w_iσ(i) ≤ min_j w_ij + ε` over its candidates.
//!
//! Rectangular problems (fewer persons than objects) get dummy persons of cost 0 to every object,
//! so the problem is square; a dummy bids for the two cheapest prices overall, kept in a lazy
//! min-heap. Bidding is sequential (Gauss–Seidel) in queue order, so results are deterministic.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::candidates::Candidates;
use super::total::TotalF64;

pub(crate) const NONE: u32 = u32::MAX;

/// Prices only grow; a heap entry is current when it still equals the object's price.
#[derive(Debug, Default)]
struct LowestPrices {
    heap: BinaryHeap<Reverse<(TotalF64, u32)>>,
}

impl LowestPrices {
    fn new(prices: &[f64]) -> Self {
        Self {
            heap: prices
                .iter()
                .enumerate()
                .map(|(j, &p)| Reverse((TotalF64(p), j as u32)))
                .collect(),
        }
    }

    fn update(&mut self, j: u32, price: f64) {
        self.heap.push(Reverse((TotalF64(price), j)));
    }

    fn pop_current(&mut self, prices: &[f64]) -> Option<(f64, u32)> {
        while let Some(Reverse((TotalF64(p), j))) = self.heap.pop() {
            if prices[j as usize] == p {
                return Some((p, j));
            }
        }
        None
    }

    /// The two lowest prices `(p1, j1, p2)`.
    fn two_lowest(&mut self, prices: &[f64]) -> (f64, u32, f64) {
        let (p1, j1) = self.pop_current(prices).expect("at least one object");
        let p2 = match self.pop_current(prices) {
            Some((p2, j2)) => {
                self.heap.push(Reverse((TotalF64(p2), j2)));
                p2
            }
            None => f64::INFINITY,
        };
        self.heap.push(Reverse((TotalF64(p1), j1)));
        (p1, j1, p2)
    }
}

/// The state of an auction: prices, and who holds what.
#[derive(Debug)]
pub(crate) struct Auction {
    /// Real persons (the rest, up to `m`, are dummies).
    pub n_real: usize,
    /// Objects; also the total number of persons.
    pub m: usize,
    pub prices: Vec<f64>,
    /// `owner[j]`: the person holding object `j`, or NONE.
    pub owner: Vec<u32>,
    /// `assigned[i]`: the object person `i` holds, or NONE.
    pub assigned: Vec<u32>,
    lowest: LowestPrices,
    /// Bids made so far (for the statistics).
    pub bids: u64,
    /// Price increment used when a person has a single candidate (no second best).
    pub lone_increment: f64,
}

impl Auction {
    pub(crate) fn new(n_real: usize, m: usize, prices: Vec<f64>, lone_increment: f64) -> Self {
        let lowest = if n_real < m {
            LowestPrices::new(&prices)
        } else {
            LowestPrices::default()
        };
        Self {
            n_real,
            m,
            prices,
            owner: vec![NONE; m],
            assigned: vec![NONE; m],
            lowest,
            bids: 0,
            lone_increment,
        }
    }

    /// `(best value, best object, second best value)` of person `i` over its candidates.
    #[inline]
    pub(crate) fn best_two(&mut self, cand: &Candidates, i: usize) -> (f64, u32, f64) {
        if i >= self.n_real {
            return self.lowest.two_lowest(&self.prices);
        }
        let (cols, costs) = cand.row(i);
        let (mut w1, mut j1, mut w2) = (f64::INFINITY, NONE, f64::INFINITY);
        for (&j, &c) in cols.iter().zip(costs) {
            let w = c + self.prices[j as usize];
            if w < w1 {
                w2 = w1;
                w1 = w;
                j1 = j;
            } else if w < w2 {
                w2 = w;
            }
        }
        (w1, j1, w2)
    }

    /// The value person `i` pays for the object it holds.
    #[inline]
    pub(crate) fn held_value(&self, cand: &Candidates, i: usize) -> f64 {
        let j = self.assigned[i];
        if i >= self.n_real {
            return self.prices[j as usize];
        }
        let (cols, costs) = cand.row(i);
        let pos = cols
            .binary_search(&j)
            .expect("a person holds one of its candidates");
        costs[pos] + self.prices[j as usize]
    }

    /// Frees person `i` (and its object).
    pub(crate) fn release(&mut self, i: usize) {
        let j = self.assigned[i];
        if j != NONE {
            self.owner[j as usize] = NONE;
            self.assigned[i] = NONE;
        }
    }

    /// Gives object `j` to person `i` (no price change).
    pub(crate) fn give(&mut self, i: usize, j: u32) {
        self.owner[j as usize] = i as u32;
        self.assigned[i] = j;
    }

    /// Releases every person whose holding violates ε-CS, and returns the free persons.
    pub(crate) fn free_violators(&mut self, cand: &Candidates, eps: f64) -> VecDeque<u32> {
        let mut free = VecDeque::new();
        for i in 0..self.m {
            if self.assigned[i] == NONE {
                free.push_back(i as u32);
                continue;
            }
            let held = self.held_value(cand, i);
            let (w1, _, _) = self.best_two(cand, i);
            if held > w1 + eps {
                self.release(i);
                free.push_back(i as u32);
            }
        }
        free
    }

    /// Bids until every person holds an object, or `max_bids` bids were made (then `false`).
    pub(crate) fn run(
        &mut self,
        cand: &Candidates,
        eps: f64,
        mut free: VecDeque<u32>,
        max_bids: u64,
    ) -> bool {
        let start = self.bids;
        while let Some(i) = free.pop_front() {
            let i = i as usize;
            if self.assigned[i] != NONE {
                continue;
            }
            if self.bids - start >= max_bids {
                free.push_front(i as u32);
                return false;
            }
            self.bids += 1;
            let (w1, j1, w2) = self.best_two(cand, i);
            let gap = if w2.is_finite() {
                w2 - w1
            } else {
                self.lone_increment
            };
            let j = j1 as usize;
            self.prices[j] += gap + eps;
            if self.n_real < self.m {
                self.lowest.update(j1, self.prices[j]);
            }
            let previous = self.owner[j];
            if previous != NONE {
                self.assigned[previous as usize] = NONE;
                free.push_back(previous);
            }
            self.give(i, j1);
        }
        true
    }
}

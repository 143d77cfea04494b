//! Bertsekas' forward auction with ε-scaling (Bertsekas 1988, doi:10.1007/BF02186476;
//! Bertsekas & Castañon 1991) on a sparse candidate graph, in min-cost form: person `i` values
//! object `j` at `w_ij = c_ij + p_j` and bids for its cheapest object, raising that price by
//! the gap to its second cheapest plus ε. On termination every person satisfies ε-complementary
//! slackness: `w_iσ(i) ≤ min_j w_ij + ε` over its candidates.
//!
//! Square problems only (unequal sizes are transportation problems, `transport`). Bidding is
//! sequential (Gauss–Seidel) in queue order, so results are deterministic.

use std::collections::VecDeque;

use super::candidates::Candidates;

pub(crate) const NONE: u32 = u32::MAX;

/// The state of an auction: prices, and who holds what.
#[derive(Debug)]
pub(crate) struct Auction {
    /// Persons, and objects.
    pub m: usize,
    pub prices: Vec<f64>,
    /// `owner[j]`: the person holding object `j`, or NONE.
    pub owner: Vec<u32>,
    /// `assigned[i]`: the object person `i` holds, or NONE.
    pub assigned: Vec<u32>,
    /// Bids made so far (for the statistics).
    pub bids: u64,
    /// Price increment used when a person has a single candidate (no second best).
    pub lone_increment: f64,
}

impl Auction {
    pub(crate) fn new(prices: Vec<f64>, lone_increment: f64) -> Self {
        let m = prices.len();
        Self {
            m,
            prices,
            owner: vec![NONE; m],
            assigned: vec![NONE; m],
            bids: 0,
            lone_increment,
        }
    }

    /// `(best value, best object, second best value)` of person `i` over its candidates.
    #[inline]
    pub(crate) fn best_two(&self, cand: &Candidates, i: usize) -> (f64, u32, f64) {
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

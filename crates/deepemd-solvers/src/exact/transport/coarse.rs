//! Multiscale start: the problem's coarsening — groups of [`GROUP`] spatially consecutive
//! points (runs of a k-d tree's order) replaced by their centroids, carrying their members'
//! amounts — is solved first (itself coarsened while large), and its column potentials start
//! the fine solve. Long-range transport, the slow part of a solve between two different
//! shapes, is settled on the small problem; the fine one corrects within groups, so its
//! ε-scaling starts at the coarsening's own error (Mérigot 2011,
//! doi:10.1111/j.1467-8659.2011.02032.x; Schmitzer 2016, doi:10.1137/15M1050264).

use deepemd_core::Result;

use super::super::grouping::group;
use super::super::problem::Problem;
use super::super::{ExactParams, SolveStats};
use super::{Amounts, solve_network};

/// Points per group.
const GROUP: usize = 8;

/// Starting column potentials and the slack to start ε-scaling at.
pub(crate) struct Start {
    pub v: Vec<f64>,
    pub eps: f64,
}

/// Solves the coarsening of `problem` and lifts its column potentials.
pub(crate) fn start(
    problem: &Problem,
    amounts: &Amounts,
    params: &ExactParams,
    stats: &mut SolveStats,
) -> Result<Start> {
    let rows = group(problem.rows, problem.cost, GROUP)?;
    let cols = group(problem.cols, problem.cost, GROUP)?;
    let mut supply = vec![0u64; rows.centroids.len()];
    for (i, &g) in rows.group_of.iter().enumerate() {
        supply[g as usize] += amounts.supply[i];
    }
    let mut demand = vec![0u64; cols.centroids.len()];
    for (j, &g) in cols.group_of.iter().enumerate() {
        demand[g as usize] += amounts.demand[j];
    }
    let coarse = Problem {
        rows: &rows.centroids,
        cols: &cols.centroids,
        cost: problem.cost,
        swapped: false,
    };
    let coarse_amounts = Amounts {
        supply,
        demand,
        surplus: amounts.surplus,
    };
    let net = solve_network(&coarse, &coarse_amounts, params, None, stats)?;
    let v = cols.group_of.iter().map(|&g| net.v[g as usize]).collect();
    // A fine potential differs from its group's by about the cost of moving within the group
    // (bunny vs armadillo, 4096 vs 8192, uniform: 20 s from scratch; 13 s from the coarsening
    // at 4× the mean spread, 20 s at 1×, 16 s at 16×).
    Ok(Start {
        v,
        eps: 4.0 * rows.spread.max(cols.spread),
    })
}

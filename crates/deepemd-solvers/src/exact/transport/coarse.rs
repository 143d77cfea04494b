//! Multiscale start: the problem's coarsening — groups of [`GROUP`] spatially consecutive
//! points (runs of a k-d tree's order) replaced by their centroids, carrying their members'
//! amounts — is solved first (itself coarsened while large), and the c-transform of its row
//! potentials at the fine columns starts the fine solve. Long-range transport, the slow part
//! of a solve between two different shapes, is settled on the small problem; the fine one
//! corrects within groups, so its ε-scaling starts at the coarsening's own error (Mérigot 2011,
//! doi:10.1111/j.1467-8659.2011.02032.x; Schmitzer 2016, doi:10.1137/15M1050264).

use deepemd_core::Result;

use super::super::grouping::{c_transform, group};
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
    // The c-transform of the coarse rows' potentials at the fine columns (`grouping.rs`), with
    // the virtual row's bound `v_j ≤ −u_virtual` when it has surplus (bunny vs armadillo, 4096
    // vs 8192, uniform: 23.5 s with each group's constant potential; 2.4 s with the
    // c-transform, the candidates it chooses and ε from twice the spread).
    let n_coarse = rows.centroids.len();
    let mut v = c_transform(
        &rows.centroids,
        &net.u[..n_coarse],
        problem.cols,
        problem.cost,
    );
    if amounts.surplus > 0 {
        let bound = -net.u[n_coarse];
        v.iter_mut().for_each(|x| *x = x.min(bound));
    }
    Ok(Start {
        v,
        eps: 2.0 * rows.spread.max(cols.spread),
    })
}

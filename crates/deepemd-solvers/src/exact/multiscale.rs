//! Multiscale start for square problems: both clouds coarsened to the centroids of groups of
//! [`GROUP`] points (`grouping.rs`), the coarse assignment solved first (itself coarsened while
//! large), and its column potentials lifted to the fine columns. Long-range transport — what
//! makes a pair of different shapes slow — is settled on the small problem; the fine solve
//! corrects within groups. The lifted potentials also choose candidate edges by reduced cost,
//! so the fine candidates hold the long edges the optimum needs (the shielding idea of
//! Schmitzer 2016, doi:10.1137/15M1050264; Mérigot 2011, doi:10.1111/j.1467-8659.2011.02032.x).

use deepemd_core::Result;

use super::grouping::{c_transform, group};
use super::problem::Problem;
use super::solve::solve;
use super::{ExactParams, WarmStart};

/// Square problems of at least this many rows start from their coarsening.
pub(crate) const MULTISCALE_FROM: usize = 1024;

/// Points per group.
const GROUP: usize = 8;

/// Starting column potentials, and the coarsening's error (the mean cost from a point to its
/// group's centroid) that the fine auction's ε starts from.
pub(crate) struct Start {
    pub v: Vec<f64>,
    pub spread: f64,
    /// Coarsenings solved: this one and those below it.
    pub levels: usize,
}

/// Solves the coarsening of the square `problem` and lifts its column potentials.
pub(crate) fn start(problem: &Problem, params: &ExactParams) -> Result<Start> {
    let rows = group(problem.rows, problem.cost, GROUP)?;
    let cols = group(problem.cols, problem.cost, GROUP)?;
    let coarse = Problem {
        rows: &rows.centroids,
        cols: &cols.centroids,
        cost: problem.cost,
        swapped: false,
    };
    let solved = solve(&coarse, params, &WarmStart::default())?;
    let v = c_transform(&rows.centroids, &solved.jv.u, problem.cols, problem.cost);
    Ok(Start {
        v,
        spread: rows.spread.max(cols.spread),
        levels: 1 + solved.stats.coarse_levels,
    })
}

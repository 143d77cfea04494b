//! `exact` for clouds of different sizes: both conventions are transportation problems on the
//! same sparse candidate graph, solved by one primal-dual method and certified on the full cost.
//!
//! Rows are the smaller cloud (`n` points), columns the larger (`m`), all amounts integers:
//! - **partial**: each row supplies 1 unit, each column takes 1, and a virtual row supplies the
//!   `m − n` left over at cost 0 to any column (the columns it serves stay unmatched). The
//!   problem is balanced, so the same method applies and no column is ever "free" with a
//!   stale potential;
//! - **uniform**: each row supplies `m / g` units and each column takes `n / g` (`g = gcd`), so
//!   the total is `lcm(n, m)` and a unit is the mass `1 / lcm(n, m)`.
//!
//! Steps: candidates (each row's `k` nearest columns — plus as many as it must split its mass
//! over, under `uniform` — and each column's `k` nearest rows); a multiscale start from 2048
//! points in all (`coarse.rs`: the problem on centroids of groups of 8, solved
//! first; the c-transform of its row potentials gives the starting column potentials, and
//! each row also gets its columns of least reduced cost under them as candidates); ε-scaling
//! from the coarsening's error (or a quarter of the largest candidate cost) down to the exact
//! scale, each scale
//! routing every unit in phases of Dijkstra plus a blocking flow over the arcs within ε of
//! tight (`phase.rs`) and then scanning the full cost at tolerance ε; when the rows with supply
//! left reach no column with demand left, the rows they did reach get their best edges to the
//! columns they did not; at the exact scale, certificate rounds as for equal sizes: a row
//! whose best over **all** columns beats its candidates gets those edges, a lowered potential
//! and its flow taken back, and routing resumes. Memory O((n + m)·k); the potentials only
//! move so that a scanned row needs scanning again only if its potential rose.

mod coarse;
mod network;
mod phase;

use deepemd_core::tolerance::DUAL_FEASIBILITY_REL;
use deepemd_core::{Error, Method, Pairing, Result, TransportPlan, Unequal};

use super::candidates::Candidates;
use super::problem::Problem;
use super::{Duals, ExactParams, SolveStats};
use network::Network;
use phase::{Phase, Search, blocking_flow};

/// Certificate rounds before the solver gives up with an error.
const MAX_CERTIFICATE_ROUNDS: usize = 1000;

/// Phases in a row that push nothing before the solver gives up with an error (each phase
/// pushes at least one unit unless rounding breaks a zero-reduced-cost path).
const MAX_EMPTY_PHASES: usize = 8;

/// Problems of at least this many points in all start from a coarsening's potentials.
const COARSE_FROM: usize = 2048;

/// ε-scaling stops once ε falls below this fraction of the largest candidate cost; the exact
/// scale (ε = 0 up to rounding) finishes.
const SCALING_STOP: f64 = 1e-4;

/// A search aims at sinks that can absorb this many times what the last phase pushed (all the
/// supply left at first): late phases push a few units each, and a search for sinks enough for
/// all the supply left would cross the whole graph every time (−20 to −40 % time measured).
const SEARCH_GROWTH: u64 = 4;

/// Edges each stuck row gets towards the columns its search did not reach.
const BRIDGES: usize = 4;

fn report(message: &str) -> Error {
    Error::Estimator {
        method: Method::Exact.name().into(),
        message: format!("{message} (please report this input)"),
    }
}

/// The optimal pairing of A and B under `unequal` (`problem` holds them in its working frame,
/// rows the smaller) and the frame duals that certify it: for `partial` the duals of the
/// assignment LP (`Σu + Σv` = the sum of matched costs, the larger cloud's potentials ≤ 0);
/// for `uniform` those of the transport LP (`mean(u_A) + mean(v_B)` = the EMD).
pub(crate) fn solve(
    problem: &Problem,
    unequal: Unequal,
    params: &ExactParams,
    potentials_cols: Option<Vec<f64>>,
) -> Result<(Pairing, Duals, SolveStats)> {
    let (n, m) = (problem.rows.len(), problem.cols.len());
    let (supply, demand, surplus) = match unequal {
        Unequal::Partial => (1, 1, (m - n) as u64),
        Unequal::Uniform => {
            let unit = TransportPlan::unit_for(n, m)
                .ok_or_else(|| report(&format!("lcm({n}, {m}) overflows u64")))?;
            (unit / n as u64, unit / m as u64, 0)
        }
    };
    let mut stats = SolveStats::default();
    let amounts = Amounts {
        supply: vec![supply; n],
        demand: vec![demand; m],
        surplus,
    };
    let net = solve_network(problem, &amounts, params, potentials_cols, &mut stats)?;
    stats.edges = net.cand.len();
    output(problem, unequal, &net, stats)
}

/// What each row supplies, each column takes, and the virtual row's surplus (Σ supply +
/// surplus = Σ demand).
#[derive(Clone, Debug)]
pub(crate) struct Amounts {
    pub supply: Vec<u64>,
    pub demand: Vec<u64>,
    pub surplus: u64,
}

/// Solves one transportation problem to certified optimality and returns its network (flows
/// and potentials). Without given column potentials, a problem of [`COARSE_FROM`] points or
/// more in all first solves its coarsening (`coarse.rs`) and starts from its potentials, at a
/// slack of the coarsening's own error instead of a quarter of the largest cost.
pub(crate) fn solve_network(
    problem: &Problem,
    amounts: &Amounts,
    params: &ExactParams,
    potentials_cols: Option<Vec<f64>>,
    stats: &mut SolveStats,
) -> Result<Network> {
    let (n, m) = (problem.rows.len(), problem.cols.len());
    // A row that splits its mass needs about ⌈its supply / a column's demand⌉ partners among
    // its candidates; a row of the partial convention needs one.
    let max_supply = amounts.supply.iter().copied().max().unwrap_or(1);
    let min_demand = amounts.demand.iter().copied().min().unwrap_or(1).max(1);
    let splits = usize::try_from(max_supply.div_ceil(min_demand)).unwrap_or(usize::MAX);
    let k_rows = params.neighbours.saturating_add(splits.saturating_sub(1));
    let mut cand = Candidates::nearest_sized(problem, k_rows, params.neighbours);
    let c_max = cand.costs.iter().copied().fold(0.0_f64, f64::max);
    let cold = || (vec![0.0; m], c_max / 4.0);
    let (v0, eps_start) = match potentials_cols {
        Some(v) => (v, c_max / 4.0),
        // The coarsening only proposes starting potentials (its work is not counted in
        // `stats`): should it fail, the solve starts cold. Its potentials also choose
        // candidates by reduced cost: the long edges between two different shapes.
        None if n + m >= COARSE_FROM => {
            match coarse::start(problem, amounts, params, &mut SolveStats::default()) {
                Ok(start) => {
                    cand.add_best_reduced(problem, &start.v, 2 * params.neighbours);
                    (start.v, start.eps.min(c_max / 4.0))
                }
                Err(_) => cold(),
            }
        }
        None => cold(),
    };
    let mut net = Network::new(
        cand,
        &amounts.supply,
        amounts.demand.clone(),
        amounts.surplus,
        v0,
    );
    let mut phase = Phase::default();
    // ε-scaling: at slack ε, edges within ε of tight are admissible, so a phase pushes flow
    // along many paths at once; each scale starts from the last one's potentials and flow,
    // and ends with a full-cost scan at tolerance ε, so edges that long-range transport needs
    // join early. (Bunny vs armadillo, 2048 vs 4096, uniform: 6.3 s without scaling, 1.7 s
    // with; the stopping fraction and the factor barely matter.)
    let all_rows: Vec<usize> = (0..n).collect();
    let mut eps = eps_start;
    while eps > SCALING_STOP * c_max {
        net.refine(eps);
        route_all(problem, &mut net, &mut phase, stats)?;
        repair_violators(problem, &mut net, &all_rows, eps);
        route_all(problem, &mut net, &mut phase, stats)?;
        eps /= params.scaling;
    }
    net.refine(0.0);
    route_all(problem, &mut net, &mut phase, stats)?;
    certificate_rounds(problem, &mut net, &mut phase, stats)?;
    Ok(net)
}

/// Phases until every unit is routed.
fn route_all(
    problem: &Problem,
    net: &mut Network,
    phase: &mut Phase,
    stats: &mut SolveStats,
) -> Result<()> {
    let mut empty = 0;
    let mut target = u64::MAX;
    while net.total_excess() > 0 {
        stats.phases += 1;
        match phase.search(net, target) {
            Search::Raised => {
                stats.scanned += phase.reached.len() as u64;
                let pushed = blocking_flow(net);
                target = pushed.saturating_mul(SEARCH_GROWTH).max(SEARCH_GROWTH);
                if pushed == 0 {
                    empty += 1;
                    if empty > MAX_EMPTY_PHASES {
                        return Err(report("a routing phase pushed nothing"));
                    }
                } else {
                    empty = 0;
                }
            }
            Search::Stuck => bridge(problem, net, &phase.reached)?,
        }
    }
    Ok(())
}

/// The rows with supply left reach no column with demand left through the candidates: the
/// reached rows whose potential is infeasible on the full cost are repaired (as in a
/// certificate round); if none is, each reached row gets edges to its best unreached columns.
fn bridge(problem: &Problem, net: &mut Network, reached: &[u32]) -> Result<()> {
    let n = net.n();
    let mut reached_col = vec![false; net.m()];
    let mut rows = Vec::new();
    for &x in reached {
        let x = x as usize;
        if x < n {
            rows.push(x);
        } else if x > n {
            reached_col[x - n - 1] = true;
        }
    }
    if repair_violators(problem, net, &rows, net.eps.max(DUAL_FEASIBILITY_REL)) > 0 {
        return Ok(());
    }
    let edges = problem.best_columns(&net.v, &rows, BRIDGES, |j| !reached_col[j]);
    if edges.is_empty() {
        return Err(report("no column is left to bridge to"));
    }
    net.add_edges(problem, &edges);
    Ok(())
}

/// Scans `rows` on the full cost; each row whose true `min_j (c_ij − v_j)` is below its
/// potential gets its best columns as edges, that minimum as its potential and its flow taken
/// back. Returns how many rows were repaired.
fn repair_violators(problem: &Problem, net: &mut Network, rows: &[usize], tol: f64) -> usize {
    let u_full = problem.full_minima(&net.v, rows);
    let lowered: Vec<(usize, f64)> = rows
        .iter()
        .zip(&u_full)
        .filter(|&(&i, &uf)| uf < net.u[i] - tol)
        .map(|(&i, &uf)| (i, uf))
        .collect();
    if lowered.is_empty() {
        return 0;
    }
    let violators: Vec<usize> = lowered.iter().map(|&(i, _)| i).collect();
    net.add_edges(problem, &problem.missing_edges(&net.v, &violators));
    for &(i, uf) in &lowered {
        net.u[i] = uf;
        net.release_row(i);
    }
    lowered.len()
}

/// Certificate rounds until no edge of the full cost violates `u_i + v_j ≤ c_ij + tol`.
/// Column potentials only fall, so a row's minimum over all columns only rises: after the
/// first full scan only rows whose potential rose (or that were repaired) are scanned again.
fn certificate_rounds(
    problem: &Problem,
    net: &mut Network,
    phase: &mut Phase,
    stats: &mut SolveStats,
) -> Result<()> {
    let n = net.n();
    let mut to_scan: Vec<usize> = (0..n).collect();
    loop {
        stats.certificate_rounds += 1;
        if stats.certificate_rounds > MAX_CERTIFICATE_ROUNDS {
            return Err(report(&format!(
                "no certificate after {MAX_CERTIFICATE_ROUNDS} rounds"
            )));
        }
        let u_scanned = net.u.clone();
        // Repair at a quarter of the verifier's tolerance, so that the rounding of the dual
        // shift in `output` cannot push a repaired row over it.
        if repair_violators(problem, net, &to_scan, DUAL_FEASIBILITY_REL / 4.0) == 0 {
            return Ok(());
        }
        let repaired: Vec<bool> = (0..n).map(|i| net.u[i] < u_scanned[i]).collect();
        route_all(problem, net, phase, stats)?;
        to_scan = (0..n)
            .filter(|&i| net.u[i] > u_scanned[i] || repaired[i])
            .collect();
    }
}

/// The pairing in input order and the duals of A's and B's points.
fn output(
    problem: &Problem,
    unequal: Unequal,
    net: &Network,
    stats: SolveStats,
) -> Result<(Pairing, Duals, SolveStats)> {
    let (n, m) = (net.n(), net.m());
    let (n_a, n_b) = problem.as_input_pair(n, m);
    let carried = (0..net.cand.len()).filter(|&e| net.flow[e] > 0).map(|e| {
        let (i, j) = (net.edge_row[e] as usize, net.cand.cols[e] as usize);
        let (a, b) = problem.as_input_pair(i, j);
        (a, b, net.flow[e])
    });
    let (pairing, u, v) = match unequal {
        Unequal::Partial => {
            let pairs = carried.map(|(a, b, _)| (a, b)).collect();
            // Shift the virtual row's potential into the columns: v_j + u_virtual ≤ 0, with
            // equality on the columns left unmatched.
            let shift = net.u[n];
            let u = net.u[..n].iter().map(|x| x - shift).collect();
            let v = net.v.iter().map(|x| x + shift).collect();
            (Pairing::from_pairs(n_a, n_b, pairs)?, u, v)
        }
        Unequal::Uniform => {
            let plan = TransportPlan::new(n_a, n_b, carried.collect())?;
            (Pairing::Plan(plan), net.u[..n].to_vec(), net.v.clone())
        }
    };
    let duals = if problem.swapped {
        Duals { a: v, b: u }
    } else {
        Duals { a: u, b: v }
    };
    Ok((pairing, duals, stats))
}

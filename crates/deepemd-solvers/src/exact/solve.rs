//! The phases of the solve, on a problem already in its working frame (see the module header
//! of `exact` for the order and the reasons).

use std::collections::VecDeque;

use deepemd_core::tolerance::DUAL_FEASIBILITY_REL;
use deepemd_core::{Error, Method, Pairing, Result};

use super::auction::{Auction, NONE};
use super::candidates::Candidates;
use super::jv::Jv;
use super::multiscale::{self, MULTISCALE_FROM};
use super::problem::Problem;
use super::{Duals, ExactParams, SolveStats, WarmStart};

/// Certificate rounds before the solver gives up with an error (hard real-shape pairs at 8192
/// points take about ten).
const MAX_CERTIFICATE_ROUNDS: usize = 1000;

/// After a multiscale start the auction's ε falls to this fraction of the coarsening's error.
const MULTISCALE_AUCTION_END: f64 = 0.01;

/// Times a stalled auction phase gets missing edges and a fresh bid budget before it hands
/// its state to the exact phase.
const MAX_AUCTION_RESTARTS: usize = 64;

/// The optimal assignment of `problem` as `col_of[row]`, with the duals `(u, v)` that certify it
/// on the full cost.
pub(crate) struct Solved {
    pub jv: Jv,
    pub stats: SolveStats,
}

impl Solved {
    /// The matching of A to B and the duals of A's and B's points, undoing the choice of rows.
    pub(crate) fn in_input_order(self, problem: &Problem) -> Result<(Pairing, Duals, SolveStats)> {
        let mut pairs: Vec<(usize, usize)> = (self.jv.col_of.iter().enumerate())
            .map(|(i, &j)| problem.as_input_pair(i, j as usize))
            .collect();
        pairs.sort_unstable();
        let (n_rows, n_cols) = (problem.rows.len(), problem.cols.len());
        let (n_a, n_b) = problem.as_input_pair(n_rows, n_cols);
        let pairing = Pairing::from_pairs(n_a, n_b, pairs)?;
        let (u, v) = (self.jv.u, self.jv.v);
        let duals = if problem.swapped {
            Duals { a: v, b: u }
        } else {
            Duals { a: u, b: v }
        };
        Ok((pairing, duals, self.stats))
    }
}

fn report(message: &str) -> Error {
    Error::Estimator {
        method: Method::Exact.name().into(),
        message: format!("{message} (please report this input)"),
    }
}

/// Runs every phase on a square problem: the starting potentials (from `multiscale` when
/// large), candidates, the auction, tight edges, shortest augmenting paths, certificate rounds.
/// (Unequal sizes go to `transport`.)
pub(crate) fn solve(problem: &Problem, params: &ExactParams, warm: &WarmStart) -> Result<Solved> {
    let n = problem.rows.len();
    debug_assert_eq!(n, problem.cols.len());
    let mut stats = SolveStats::default();
    let start = Start::choose(problem, params, warm);
    stats.coarse_levels = start.as_ref().map_or(0, |s| s.levels);
    let mut cand = match &start {
        Some(start) => Candidates::shielded(problem, params.neighbours, &start.v),
        None => Candidates::nearest(problem, params.neighbours),
    };
    let mut jv = auction_start(problem, &mut cand, params, warm, start, &mut stats)?;
    greedy_tight(&mut jv, &cand);
    let free: Vec<usize> = (0..n).filter(|&i| jv.col_of[i] == NONE).collect();
    augment_all(problem, &mut jv, &mut cand, &free)?;
    certificate_rounds(problem, &mut jv, &mut cand, &mut stats)?;
    stats.edges = cand.len();
    stats.scanned = jv.scanned;
    Ok(Solved { jv, stats })
}

/// Starting column potentials for the auction: the caller's, or the coarsening's.
struct Start {
    v: Vec<f64>,
    /// The coarsening's error (`multiscale::Start::spread`); `None` for the caller's
    /// potentials, whose quality is unknown.
    spread: Option<f64>,
    /// Coarsenings solved for it.
    levels: usize,
}

impl Start {
    /// The caller's potentials; else, from [`MULTISCALE_FROM`] rows, the coarsening's (should
    /// its solve fail, the problem starts cold: the coarsening only proposes).
    fn choose(problem: &Problem, params: &ExactParams, warm: &WarmStart) -> Option<Self> {
        match &warm.potentials_b {
            Some(v) => Some(Self {
                v: v.clone(),
                spread: None,
                levels: 0,
            }),
            None if problem.rows.len() >= MULTISCALE_FROM => {
                multiscale::start(problem, params).ok().map(|s| Self {
                    v: s.v,
                    spread: Some(s.spread),
                    levels: s.levels,
                })
            }
            None => None,
        }
    }
}

/// Square problems: an ε-scaling auction down to a coarse ε gives near-optimal prices fast;
/// they become the starting duals of the exact phase, and the edges they make tight its
/// starting matching.
fn auction_start(
    problem: &Problem,
    cand: &mut Candidates,
    params: &ExactParams,
    warm: &WarmStart,
    start: Option<Start>,
    stats: &mut SolveStats,
) -> Result<Jv> {
    let m = problem.cols.len();
    let c_max = cand
        .costs
        .iter()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let prices: Vec<f64> = match &start {
        Some(start) => start.v.iter().map(|x| -x).collect(),
        None => vec![0.0; m],
    };
    let mut auction = Auction::new(prices, c_max);
    if let Some(w) = &warm.matching {
        for (i, &j) in w.targets().iter().enumerate() {
            if cand.row(i).0.binary_search(&(j as u32)).is_ok() {
                auction.give(i, j as u32);
            }
        }
    }
    // A phase whose bidding stalls (the candidates lack edges a good matching needs, as between
    // two different shapes) is interrupted after about 5 bids per row (a quarter bid per
    // candidate edge); the persons still free then get their best edges over all objects and
    // bidding resumes. A larger budget only lengthens the price war (bunny vs armadillo, 4096
    // points: 2.1 s with 3 bids per edge, 1.3–1.4 s with a quarter; sphere vs noisy sphere
    // 0.35 s → 0.23 s; uniform cube unchanged).
    let budget = (m as u64) * (params.neighbours as u64 + 4) / 4;
    // From the coarsening: ε-scaling from its error down to a hundredth of it (bunny vs
    // armadillo, 8192 points: 0.6–0.7 s for any start in 0.5–2× the error and any end in
    // 0.3–10 %; one phase at the error, 2.0 s). Otherwise from a quarter of the largest
    // candidate cost (a tiny ε for the caller's potentials) down to a fraction of the mean
    // matched cost: the exact phase finishes from the prices.
    // The coarsening's error is 0 when every group is one point repeated; a phase at ε = 0 can
    // cycle on tied prices, so ε keeps a floor.
    let floor = (c_max * 1e-6).max(f64::MIN_POSITIVE);
    let spread = start.as_ref().and_then(|s| s.spread).map(|s| s.max(floor));
    let mut eps = match (&start, spread) {
        (_, Some(spread)) => spread.min(c_max / 4.0),
        (Some(_), None) => c_max * 1e-4,
        (None, None) => c_max / 4.0,
    };
    loop {
        let free = auction.free_violators(cand, eps);
        stats.phases += 1;
        if !run_phase(problem, &mut auction, cand, eps, free, budget) {
            // A price war the restarts did not end: the exact phase takes over from here.
            break;
        }
        let stop = match spread {
            Some(spread) => spread * MULTISCALE_AUCTION_END,
            None => params.auction_stop * (held_cost_sum(&auction, cand) / m as f64),
        }
        .max(f64::MIN_POSITIVE);
        if eps <= stop {
            break;
        }
        eps = (eps / params.scaling).max(stop * 0.999);
    }
    stats.bids = auction.bids;
    Ok(duals_from_prices(&auction, cand))
}

/// Runs one ε phase of the auction until every person holds an object (then `true`). When
/// the bid budget runs out first, the persons still free get their best edges over all
/// objects and bidding resumes, at most [`MAX_AUCTION_RESTARTS`] times and only while that
/// adds edges; otherwise `false`, with some persons free (the exact phase takes over).
fn run_phase(
    problem: &Problem,
    auction: &mut Auction,
    cand: &mut Candidates,
    eps: f64,
    mut free: VecDeque<u32>,
    budget: u64,
) -> bool {
    for _ in 0..MAX_AUCTION_RESTARTS {
        if auction.run(cand, eps, free, budget) {
            return true;
        }
        let stuck: Vec<usize> = (0..auction.m)
            .filter(|&i| auction.assigned[i] == NONE)
            .collect();
        let v: Vec<f64> = auction.prices.iter().map(|p| -p).collect();
        let mut edges = problem.missing_edges(&v, &stuck);
        // And one free object per stuck person, in order: the candidates then hold a perfect
        // matching, so the resumed phase ends. (Between clouds of repeated points every person's
        // nearest and best columns are the same few, and bidding for them never ends: 1100
        // copies of one point took 9 s per solve.)
        let unowned = (0..auction.m as u32).filter(|&j| auction.owner[j as usize] == NONE);
        edges.extend(stuck.iter().zip(unowned).map(|(&i, j)| (i as u32, j)));
        let before = cand.len();
        cand.add(problem, &edges);
        if cand.len() == before {
            return false;
        }
        free = stuck.iter().map(|&i| i as u32).collect();
    }
    false
}

/// Sum of the persons' held costs.
fn held_cost_sum(auction: &Auction, cand: &Candidates) -> f64 {
    (0..auction.m)
        .map(|i| {
            let (cols, costs) = cand.row(i);
            costs[cols.binary_search(&auction.assigned[i]).expect("held edge")]
        })
        .sum()
}

/// Duals from prices: `v = −p`, `u` = the row minimum; each held edge is then made tight by
/// raising its column's potential by its slack (≤ ε), and the rows that this makes infeasible
/// start free in the exact phase.
fn duals_from_prices(auction: &Auction, cand: &Candidates) -> Jv {
    let m = auction.m;
    let held_cost = |i: usize| {
        let (cols_i, costs_i) = cand.row(i);
        costs_i[cols_i
            .binary_search(&auction.assigned[i])
            .expect("held edge")]
    };
    let mut v: Vec<f64> = auction.prices.iter().map(|p| -p).collect();
    for i in 0..m {
        if auction.assigned[i] == NONE {
            continue;
        }
        let j = auction.assigned[i] as usize;
        let (cols_i, costs_i) = cand.row(i);
        let ui = cols_i
            .iter()
            .zip(costs_i)
            .map(|(&k, &ck)| ck + auction.prices[k as usize])
            .fold(f64::INFINITY, f64::min);
        v[j] = v[j].max(held_cost(i) - ui);
    }
    let mut jv = Jv::new(vec![0.0; m], v, vec![NONE; m], vec![NONE; m]);
    for i in 0..m {
        jv.u[i] = jv.row_min(cand, i);
        if auction.assigned[i] == NONE {
            continue;
        }
        let j = auction.assigned[i] as usize;
        if held_cost(i) - jv.u[i] - jv.v[j] <= 0.0 {
            jv.col_of[i] = j as u32;
            jv.row_of[j] = i as u32;
        }
    }
    jv
}

/// Matches free rows to free columns along tight edges (reduced cost 0), lowest row first.
fn greedy_tight(jv: &mut Jv, cand: &Candidates) {
    for i in 0..jv.u.len() {
        if jv.col_of[i] != NONE {
            continue;
        }
        let (cols, costs) = cand.row(i);
        for (&j, &c) in cols.iter().zip(costs) {
            if jv.row_of[j as usize] == NONE && c - jv.u[i] - jv.v[j as usize] <= 0.0 {
                jv.col_of[i] = j;
                jv.row_of[j as usize] = i as u32;
                break;
            }
        }
    }
}

/// Augments every listed free row. A row with no augmenting path in the candidate graph gets
/// its best edges over all columns plus an edge to the nearest free column, then retries.
fn augment_all(
    problem: &Problem,
    jv: &mut Jv,
    cand: &mut Candidates,
    free: &[usize],
) -> Result<()> {
    for &i in free {
        if jv.col_of[i] != NONE {
            continue;
        }
        let mut tries = 0;
        while !jv.augment(cand, i) {
            tries += 1;
            if tries > 3 {
                return Err(report("no augmenting path"));
            }
            let mut edges = problem.missing_edges(&jv.v, &[i]);
            if let Some(j) = problem.nearest_free_column(i, |j| jv.row_of[j] == NONE) {
                edges.push((i as u32, j as u32));
            }
            cand.add(problem, &edges);
            // Row i is free, so lowering its potential keeps its new edges feasible.
            jv.u[i] = jv.u[i].min(jv.row_min(cand, i));
        }
    }
    Ok(())
}

/// Certificate rounds: a row whose best over all columns beats its candidates gets those
/// edges, a lowered potential (so every edge stays feasible) and a new augmenting path, until
/// no edge of the full cost violates `u_i + v_j ≤ c_ij + tol`.
///
/// The tolerance is absolute in the working frame, i.e. relative to the pair's extent: it only
/// absorbs rounding, never a real improvement (an absolute floor in the input's units once let
/// clouds of extent 1e-8 through with a non-optimal matching).
fn certificate_rounds(
    problem: &Problem,
    jv: &mut Jv,
    cand: &mut Candidates,
    stats: &mut SolveStats,
) -> Result<()> {
    let tol = DUAL_FEASIBILITY_REL;
    // Potentials v only fall during augmentations, so a row's minimum over all columns only
    // rises; a row can become a violator only if its own u rose. After the first full scan,
    // only rows whose u changed are scanned again.
    let n = problem.rows.len();
    let mut to_scan: Vec<usize> = (0..n).collect();
    loop {
        stats.certificate_rounds += 1;
        if stats.certificate_rounds > MAX_CERTIFICATE_ROUNDS {
            return Err(report(&format!(
                "no certificate after {MAX_CERTIFICATE_ROUNDS} rounds"
            )));
        }
        let u_before = jv.u.clone();
        let u_full = problem.full_minima(&jv.v, &to_scan);
        // Each violating row with its true minimum (its new potential).
        let lowered: Vec<(usize, f64)> = to_scan
            .iter()
            .zip(&u_full)
            .filter(|&(&i, &uf)| uf < jv.u[i] - tol)
            .map(|(&i, &uf)| (i, uf))
            .collect();
        if lowered.is_empty() {
            return Ok(());
        }
        let violators: Vec<usize> = lowered.iter().map(|&(i, _)| i).collect();
        cand.add(problem, &problem.missing_edges(&jv.v, &violators));
        for &(i, uf) in &lowered {
            jv.u[i] = uf;
            let j = jv.col_of[i];
            if j != NONE {
                jv.row_of[j as usize] = NONE;
                jv.col_of[i] = NONE;
            }
        }
        augment_all(problem, jv, cand, &violators)?;
        to_scan = (0..n)
            .filter(|&i| jv.u[i] > u_before[i] || violators.binary_search(&i).is_ok())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deepemd_core::synthetic::uniform_cube;
    use deepemd_core::{Cost, EmdEstimator, EmdRequest};
    use rand::SeedableRng;

    /// A stalled auction leaves persons free; the duals it hands over are feasible on the
    /// candidates with every held edge tight, and the exact phase reaches the optimum.
    #[test]
    fn a_stalled_auction_hands_over_to_the_exact_phase() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 300;
        let a = uniform_cube(n, 3, &mut rng).unwrap();
        let b = uniform_cube(n, 3, &mut rng).unwrap();
        let problem = Problem::new(&a, &b, Cost::Euclidean);
        let mut cand = Candidates::nearest(&problem, 4);
        let mut auction = Auction::new(vec![0.0; n], 1.0);
        // 100 bids, then none: the phase stalls with persons free.
        assert!(!auction.run(&cand, 0.01, (0..n as u32).collect(), 100));
        let stuck = (0..n as u32)
            .filter(|&i| auction.assigned[i as usize] == NONE)
            .collect();
        assert!(!run_phase(
            &problem,
            &mut auction,
            &mut cand,
            0.01,
            stuck,
            0
        ));
        let held = auction.assigned.iter().filter(|&&j| j != NONE).count();
        assert!(held > 0 && held < n, "{held} persons hold an object");

        let mut jv = duals_from_prices(&auction, &cand);
        for i in 0..n {
            let (cols, costs) = cand.row(i);
            for (&j, &c) in cols.iter().zip(costs) {
                let reduced = c - jv.u[i] - jv.v[j as usize];
                assert!(reduced >= -1e-12, "edge ({i}, {j}): reduced cost {reduced}");
                if jv.col_of[i] == j {
                    assert!(reduced <= 1e-12, "held edge ({i}, {j}) is not tight");
                }
            }
        }
        greedy_tight(&mut jv, &cand);
        let free: Vec<usize> = (0..n).filter(|&i| jv.col_of[i] == NONE).collect();
        augment_all(&problem, &mut jv, &mut cand, &free).unwrap();
        certificate_rounds(&problem, &mut jv, &mut cand, &mut SolveStats::default()).unwrap();
        let total: f64 = (0..n).map(|i| problem.cost(i, jv.col_of[i] as usize)).sum();
        let want = crate::Hungarian
            .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
            .unwrap()
            .distance;
        assert!(((total / n as f64) - want).abs() <= 1e-9 * want);
    }
}

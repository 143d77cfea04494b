//! `exact`: a certified fast exact solver for point-cloud assignment.
//!
//! # Algorithm
//! 1. **Candidates.** Each point's `k` nearest points of the other cloud (a k-d tree, both
//!    directions): a sparse graph of O(n·k) edges. The optimum may need edges outside it.
//! 2. **Auction with ε-scaling** (Bertsekas) on that graph: ε falls by `scaling` per phase from
//!    a quarter of the largest candidate cost to `ε_final = gap_tolerance · primal / n`, keeping
//!    prices (the dual potentials) and every assignment still ε-optimal between phases.
//! 3. **Certificate on the full cost.** Every `u_i = min_j (c_ij + p_j)` over **all** objects
//!    (O(n·m), in parallel, costs computed on the fly). A point whose true best lies outside its
//!    candidates and breaks ε-optimality gets those edges added and is re-auctioned; repeat.
//!    Then `(u, −p)` is dual feasible by construction and the gap `primal − dual ≤ n·ε_final`.
//! 4. An independent check ([`verify_certificate`]) of `u_i + v_j ≤ c_ij + tol` for all pairs
//!    and of the gap; a failure is returned as an error, never as an answer.
//!
//! Rectangular input gets dummy points of cost 0 (see `auction.rs`). Memory: O((n + m)·k).
//! Deterministic: sequential bidding in a fixed order; parallel parts are order-independent.

mod auction;
mod candidates;
mod certificate;
mod jv;
mod kdtree;
mod scan;
mod total;

use std::collections::VecDeque;

use deepemd_core::tolerance::DUAL_FEASIBILITY_REL;
use deepemd_core::{
    Cost, Emd, EmdEstimator, EmdRequest, Error, Matching, Pairing, PointCloud, Result,
    WorkingFrame, check_same_dim,
};
use rayon::prelude::*;

use auction::{Auction, NONE};
use candidates::Candidates;
pub use certificate::{Certificate, CertificateTolerance, Duals, verify_certificate};
use jv::Jv;

use crate::hungarian::pairing_from_pairs;

/// Certificate rounds before the solver gives up with an error (hard real-shape pairs at 8192
/// points take about ten).
const MAX_CERTIFICATE_ROUNDS: usize = 1000;

/// Settings of [`Exact`], checked by [`ExactParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExactParams {
    /// Nearest neighbours per point in the candidate graph.
    pub neighbours: usize,
    /// Factor by which ε falls between auction phases (> 1).
    pub scaling: f64,
    /// The auction phase stops once ε falls below this fraction of the mean matched cost;
    /// the exact shortest-augmenting-path phase takes over from its prices.
    pub auction_stop: f64,
    /// The certified gap, relative to the optimal sum of costs.
    pub gap_tolerance: f64,
}

impl Default for ExactParams {
    /// 16 neighbours, one coarse auction phase (ε = max candidate cost / 4; it stops once ε is
    /// below half the mean matched cost), gap ≤ 1e-11 of the optimum (the values agree with the
    /// Hungarian reference to 1e-9 with room for rounding).
    fn default() -> Self {
        Self {
            neighbours: 16,
            scaling: 6.0,
            auction_stop: 0.5,
            gap_tolerance: 1e-11,
        }
    }
}

impl ExactParams {
    /// Checks every setting.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(format!("exact: {m}")));
        if self.neighbours == 0 {
            return bad("neighbours must be at least 1".into());
        }
        if !(self.scaling > 1.0 && self.scaling.is_finite()) {
            return bad(format!("scaling must be > 1, got {}", self.scaling));
        }
        if !(self.auction_stop > 0.0 && self.auction_stop < 1.0) {
            return bad(format!(
                "auction_stop must be in (0, 1), got {}",
                self.auction_stop
            ));
        }
        if !(self.gap_tolerance > 0.0 && self.gap_tolerance < 1e-6) {
            return bad(format!(
                "gap_tolerance must be in (0, 1e-6), got {}",
                self.gap_tolerance
            ));
        }
        Ok(())
    }
}

/// A starting point for [`Exact::solve_warm`]: a matching (e.g. a model's prediction) and/or
/// potentials for B's points (from an earlier solve of a similar pair).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarmStart {
    /// An initial bijection A → B (equal sizes only).
    pub matching: Option<Matching>,
    /// Initial potentials `v_j` of B's points (their negatives are the auction prices).
    pub potentials_b: Option<Vec<f64>>,
}

/// Counts of the work done, for benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SolveStats {
    /// ε phases.
    pub phases: usize,
    /// Bids of the auction.
    pub bids: u64,
    /// Full-cost certificate rounds (1 when the candidates sufficed).
    pub certificate_rounds: usize,
    /// Columns finalized by the exact phase's Dijkstra searches.
    pub scanned: u64,
    /// Edges of the final candidate graph.
    pub edges: usize,
}

/// A certified optimal matching.
#[derive(Clone, Debug)]
pub struct ExactSolution {
    /// Distance, matching, and gradient when asked.
    pub emd: Emd,
    /// The dual potentials that certify it.
    pub duals: Duals,
    /// The certificate's figures.
    pub certificate: Certificate,
    /// Work counts.
    pub stats: SolveStats,
}

/// The certified fast exact solver (the `exact` method).
///
/// ```
/// use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
/// use deepemd_solvers::Exact;
/// let a = PointCloud::from_points(&[[0.0, 0.0], [10.0, 0.0]]).unwrap();
/// let b = PointCloud::from_points(&[[10.0, 1.0], [0.0, 1.0]]).unwrap();
/// let emd = Exact::default().estimate(&a, &b, EmdRequest::new(Cost::Euclidean)).unwrap();
/// assert!((emd.distance - 1.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Exact {
    params: ExactParams,
}

impl Exact {
    /// A solver with checked settings.
    pub fn new(params: ExactParams) -> Result<Self> {
        params.check()?;
        Ok(Self { params })
    }

    /// Solves from scratch.
    pub fn solve(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        request: EmdRequest,
    ) -> Result<ExactSolution> {
        self.solve_warm(a, b, request, &WarmStart::default())
    }

    /// Solves from a warm start (ignored parts may be `None`).
    ///
    /// The solve runs in the pair's [`WorkingFrame`] (coordinates in `[−1, 1]`), so its
    /// tolerances are relative to the pair's own scale: the same clouds scaled by 1e-12 or 1e12
    /// or moved far from the origin get the same matching, and the EMD scaled accordingly.
    pub fn solve_warm(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        request: EmdRequest,
        warm: &WarmStart,
    ) -> Result<ExactSolution> {
        check_same_dim(a, b)?;
        let cost = request.cost;
        if warm
            .potentials_b
            .as_ref()
            .is_some_and(|v| v.len() != b.len() || v.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::InvalidParameter(
                "warm-start potentials must be finite, one per point of B".into(),
            ));
        }
        let frame = WorkingFrame::fit(a, b)?;
        let (fa, fb) = (frame.to_frame(a)?, frame.to_frame(b)?);
        let warm = WarmStart {
            matching: warm.matching.clone(),
            potentials_b: warm
                .potentials_b
                .as_ref()
                .map(|v| v.iter().map(|&x| frame.cost_to_frame(cost, x)).collect()),
        };
        let (pairing, frame_duals, stats) = self.solve_in_frame(&fa, &fb, cost, &warm)?;
        // The value and gradient come from the input's own coordinates (errors if they leave
        // f64's range); the certificate is checked where its tolerances mean something.
        let emd = Emd::of_pairing(a, b, pairing, cost, request.gradient)?;
        let primal: f64 = emd
            .pairing
            .pairs()
            .map(|(i, j)| cost.between(fa.point(i), fb.point(j)))
            .sum();
        let pairs = fa.len().min(fb.len()) as f64;
        let gap_tol = self.params.gap_tolerance * primal.abs() + pairs * DUAL_FEASIBILITY_REL;
        let certificate = certificate::verify_in_frame(
            &fa,
            &fb,
            cost,
            &emd.pairing,
            &frame_duals,
            DUAL_FEASIBILITY_REL,
            gap_tol,
        )?
        .to_input(&frame, cost);
        let duals = frame_duals.to_input(&frame, cost)?;
        Ok(ExactSolution {
            emd,
            duals,
            certificate,
            stats,
        })
    }

    /// The solve proper, on clouds already in their working frame.
    fn solve_in_frame(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        cost: Cost,
        warm: &WarmStart,
    ) -> Result<(Pairing, Duals, SolveStats)> {
        // Rows are the smaller cloud; with equal sizes, A.
        let swapped = a.len() > b.len();
        let (rows, cols) = if swapped { (b, a) } else { (a, b) };
        let (n, m) = (rows.len(), cols.len());
        if warm
            .matching
            .as_ref()
            .is_some_and(|w| w.len() != n || n != m)
        {
            return Err(Error::InvalidParameter(
                "a warm-start matching needs two clouds of its size".into(),
            ));
        }
        let mut stats = SolveStats::default();
        // Unequal sizes: every edge is a candidate, and the duals of the larger cloud start at 0
        // and only fall, which keeps them ≤ 0 and 0 on unmatched points (Crouse 2016).
        let mut cand = if n == m {
            Candidates::nearest(rows, cols, cost, self.params.neighbours)
        } else {
            Candidates::dense(rows, cols, cost)
        };
        let mut jv = if n == m {
            self.square_start(&mut cand, rows, cols, cost, warm, &mut stats)?
        } else {
            let v = vec![0.0; m];
            let u = (0..n)
                .map(|i| cand.row(i).1.iter().copied().fold(f64::INFINITY, f64::min))
                .collect();
            Jv::new(u, v, vec![NONE; n], vec![NONE; m])
        };
        greedy_tight(&mut jv, &cand);
        let free: Vec<usize> = (0..n).filter(|&i| jv.col_of[i] == NONE).collect();
        augment_all(&mut jv, &mut cand, rows, cols, cost, &free)?;

        // Certificate rounds: a row whose best over all columns beats its candidates gets those
        // edges, a lowered potential (so every edge stays feasible) and a new augmenting path.
        // The tolerance is absolute in the working frame, i.e. relative to the pair's extent:
        // it only absorbs rounding, never a real improvement (an absolute floor in the input's
        // units once let clouds of extent 1e-8 through with a non-optimal matching).
        let tol = DUAL_FEASIBILITY_REL;
        // Potentials v only fall during augmentations, so a row's minimum over all columns only
        // rises; a row can become a violator only if its own u rose. After the first full scan,
        // only rows whose u changed are scanned again.
        let mut to_scan: Vec<usize> = (0..n).collect();
        loop {
            stats.certificate_rounds += 1;
            if stats.certificate_rounds > MAX_CERTIFICATE_ROUNDS {
                return Err(Error::Estimator {
                    method: "exact".into(),
                    message: format!(
                        "no certificate after {MAX_CERTIFICATE_ROUNDS} rounds (please report this input)"
                    ),
                });
            }
            let u_before = jv.u.clone();
            let u_full = full_minima(&jv.v, rows, cols, cost, &to_scan);
            // Each violating row with its true minimum (its new potential).
            let lowered: Vec<(usize, f64)> = to_scan
                .iter()
                .zip(&u_full)
                .filter(|&(&i, &uf)| uf < jv.u[i] - tol)
                .map(|(&i, &uf)| (i, uf))
                .collect();
            if lowered.is_empty() {
                break;
            }
            let violators: Vec<usize> = lowered.iter().map(|&(i, _)| i).collect();
            let edges = missing_edges(&jv.v, rows, cols, cost, &violators);
            cand.add(rows, cols, cost, &edges);
            for &(i, uf) in &lowered {
                jv.u[i] = uf;
                let j = jv.col_of[i];
                if j != NONE {
                    jv.row_of[j as usize] = NONE;
                    jv.col_of[i] = NONE;
                }
            }
            augment_all(&mut jv, &mut cand, rows, cols, cost, &violators)?;
            to_scan = (0..n)
                .filter(|&i| jv.u[i] > u_before[i] || violators.binary_search(&i).is_ok())
                .collect();
        }
        stats.edges = cand.len();
        stats.scanned = jv.scanned;

        let pairs: Vec<(usize, usize)> = {
            let mut p: Vec<(usize, usize)> = (0..n)
                .map(|i| {
                    let j = jv.col_of[i] as usize;
                    if swapped { (j, i) } else { (i, j) }
                })
                .collect();
            p.sort_unstable();
            p
        };
        let pairing = pairing_from_pairs(a.len(), b.len(), pairs)?;
        let duals = if swapped {
            Duals { a: jv.v, b: jv.u }
        } else {
            Duals { a: jv.u, b: jv.v }
        };
        Ok((pairing, duals, stats))
    }

    /// Square problems: an ε-scaling auction down to a coarse ε gives near-optimal prices fast;
    /// they become the starting duals of the exact phase.
    fn square_start(
        &self,
        cand: &mut Candidates,
        rows: &PointCloud,
        cols: &PointCloud,
        cost: Cost,
        warm: &WarmStart,
        stats: &mut SolveStats,
    ) -> Result<Jv> {
        let m = cols.len();
        let c_max = cand
            .costs
            .iter()
            .copied()
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let prices: Vec<f64> = match &warm.potentials_b {
            Some(v) => v.iter().map(|x| -x).collect(),
            None => vec![0.0; m],
        };
        let mut auction = Auction::new(m, m, prices, c_max);
        if let Some(w) = &warm.matching {
            for (i, &j) in w.targets().iter().enumerate() {
                if cand.row(i).0.binary_search(&(j as u32)).is_ok() {
                    auction.give(i, j as u32);
                }
            }
        }
        // A stalled auction (the candidates lack edges a good matching needs, as between two
        // different shapes) is cut after about 5 bids per row (a quarter bid per candidate edge)
        // and handed to the exact phase, which adds the missing edges; well-posed phases finish
        // well within that. A longer price war only costs time (bunny vs armadillo, 4096 points:
        // 2.1 s with 3 bids per edge, 1.3–1.4 s with a quarter; sphere vs noisy sphere 0.35 s →
        // 0.23 s; uniform cube unchanged).
        let budget = (m as u64) * (self.params.neighbours as u64 + 4) / 4;
        let mut eps = if warm.potentials_b.is_some() {
            c_max * 1e-4
        } else {
            c_max / 4.0
        };
        loop {
            let free = auction.free_violators(cand, eps);
            run_until_done(&mut auction, cand, rows, cols, cost, eps, free, budget)?;
            stats.phases += 1;
            let mean = primal_sum(&auction, cand) / m as f64;
            if eps <= self.params.auction_stop * mean.max(f64::MIN_POSITIVE) {
                break;
            }
            eps = (eps / self.params.scaling).max(self.params.auction_stop * mean * 0.999);
        }
        stats.bids = auction.bids;
        // Duals from prices: v = −p, u = the row minimum; each held edge is then made tight by
        // raising its column's potential by its slack (≤ ε), and rows that this makes
        // infeasible are freed for the exact phase.
        let mut v: Vec<f64> = auction.prices.iter().map(|p| -p).collect();
        for i in 0..m {
            let j = auction.assigned[i] as usize;
            let (cols_i, costs_i) = cand.row(i);
            let c = costs_i[cols_i.binary_search(&(j as u32)).expect("held edge")];
            let ui = cols_i
                .iter()
                .zip(costs_i)
                .map(|(&k, &ck)| ck + auction.prices[k as usize])
                .fold(f64::INFINITY, f64::min);
            v[j] = v[j].max(c - ui);
        }
        let mut jv = Jv::new(vec![0.0; m], v, vec![NONE; m], vec![NONE; m]);
        for i in 0..m {
            jv.u[i] = jv.row_min(cand, i);
            let j = auction.assigned[i] as usize;
            let (cols_i, costs_i) = cand.row(i);
            let c = costs_i[cols_i.binary_search(&(j as u32)).expect("held edge")];
            if c - jv.u[i] - jv.v[j] <= 0.0 {
                jv.col_of[i] = j as u32;
                jv.row_of[j] = i as u32;
            }
        }
        Ok(jv)
    }
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
    jv: &mut Jv,
    cand: &mut Candidates,
    rows: &PointCloud,
    cols: &PointCloud,
    cost: Cost,
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
                return Err(Error::Estimator {
                    method: "exact".into(),
                    message: "no augmenting path (please report this input)".into(),
                });
            }
            let mut edges = missing_edges(&jv.v, rows, cols, cost, &[i]);
            let p = rows.point(i);
            if let Some(j) = (0..cols.len())
                .filter(|&j| jv.row_of[j] == NONE)
                .min_by(|&x, &y| {
                    cost.between(p, cols.point(x))
                        .total_cmp(&cost.between(p, cols.point(y)))
                })
            {
                edges.push((i as u32, j as u32));
            }
            cand.add(rows, cols, cost, &edges);
            // Row i is free, so lowering its potential keeps its new edges feasible.
            jv.u[i] = jv.u[i].min(jv.row_min(cand, i));
        }
    }
    Ok(())
}

/// Runs the auction to completion; when it stalls (the sparse graph lacks edges a perfect or
/// near-optimal matching needs) the free persons get their best edges over all objects.
#[allow(clippy::too_many_arguments)]
fn run_until_done(
    auction: &mut Auction,
    cand: &mut Candidates,
    persons: &PointCloud,
    objects: &PointCloud,
    cost: Cost,
    eps: f64,
    free: VecDeque<u32>,
    budget: u64,
) -> Result<()> {
    let mut free = free;
    for _ in 0..64 {
        if auction.run(cand, eps, free, budget) {
            return Ok(());
        }
        let stuck: Vec<usize> = (0..auction.n_real)
            .filter(|&i| auction.assigned[i] == NONE)
            .collect();
        let v: Vec<f64> = auction.prices.iter().map(|p| -p).collect();
        let edges = missing_edges(&v, persons, objects, cost, &stuck);
        cand.add(persons, objects, cost, &edges);
        free = (0..auction.m)
            .filter(|&i| auction.assigned[i] == NONE)
            .map(|i| i as u32)
            .collect();
    }
    Err(Error::Estimator {
        method: "exact".into(),
        message: "the auction did not converge (please report this input)".into(),
    })
}

/// Sum of the real persons' held costs.
fn primal_sum(auction: &Auction, cand: &Candidates) -> f64 {
    (0..auction.n_real)
        .map(|i| {
            let (cols, costs) = cand.row(i);
            costs[cols.binary_search(&auction.assigned[i]).expect("held edge")]
        })
        .sum()
}

/// For each listed row, `min_j (c_ij − v_j)` over all columns.
fn full_minima(
    v: &[f64],
    rows: &PointCloud,
    cols: &PointCloud,
    cost: Cost,
    which: &[usize],
) -> Vec<f64> {
    let columns = scan::Columns::new(cols);
    which
        .par_iter()
        .map(|&i| columns.min_reduced(rows.point(i), v, cost))
        .collect()
}

/// The 8 best columns (by `c_ij − v_j` over all columns) of each listed row.
fn missing_edges(
    v: &[f64],
    rows: &PointCloud,
    cols: &PointCloud,
    cost: Cost,
    who: &[usize],
) -> Vec<(u32, u32)> {
    const EXTRA: usize = 8;
    who.par_iter()
        .flat_map_iter(|&i| {
            let p = rows.point(i);
            let mut w: Vec<(f64, u32)> = (0..cols.len())
                .map(|j| (cost.between(p, cols.point(j)) - v[j], j as u32))
                .collect();
            let k = EXTRA.min(w.len());
            if k < w.len() {
                w.select_nth_unstable_by(k, |x, y| x.0.total_cmp(&y.0));
            }
            w.truncate(k);
            w.into_iter().map(move |(_, j)| (i as u32, j))
        })
        .collect()
}

impl EmdEstimator for Exact {
    fn name(&self) -> &str {
        "exact"
    }

    fn is_exact(&self) -> bool {
        true
    }

    fn estimate(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<Emd> {
        Ok(self.solve(a, b, request)?.emd)
    }

    fn estimate_batch(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        request: EmdRequest,
    ) -> Vec<Result<Emd>> {
        crate::batch::par_estimate(self, pairs, request)
    }
}

//! `exact`: a certified fast exact solver for point-cloud assignment.
//!
//! # Algorithm
//! The steps the code runs, in order (files in brackets):
//! 0. **Working frame** ([`WorkingFrame`]): both clouds are moved and scaled by a power of two
//!    into `[−1, 1]`, so every tolerance below is relative to the pair's own scale. Rows are
//!    the smaller cloud (A when the sizes are equal), columns the other (`problem.rs`).
//!    **Unequal sizes** leave here for `transport/`: both conventions ([`Unequal`](deepemd_core::Unequal)) are
//!    transportation problems on the same sparse candidates, solved by a primal-dual method
//!    (Dijkstra plus blocking flow) and certified by the same full-cost scans.
//! 1. **Multiscale start** (`multiscale.rs`, `grouping.rs`; square problems of 1024 points or
//!    more): both clouds grouped into runs of 8 points of a k-d tree's order, the assignment
//!    of the groups' centroids solved first (recursively, by this same solver), and the coarse
//!    rows' potentials lifted to the fine columns by their c-transform,
//!    `v_j = min_I (c(x_I, y_j) − U_I)`. Should the coarse solve fail, the problem starts cold.
//! 2. **Candidates** (`candidates.rs`, `kdtree.rs`): cold, each row's `k` nearest columns and
//!    each column's `k` nearest rows; after a start, `k / 2` of each plus each row's `2k`
//!    columns of least reduced cost `c_ij − v_j` over all columns (SIMD top-k, `scan.rs`) —
//!    the long edges that the optimum between two different shapes needs. O(n·k) edges.
//! 3. **Auction** (`auction.rs`, Bertsekas' forward auction in min-cost form), not to
//!    optimality: cold, ε-scaling from a quarter of the largest candidate cost down to half the
//!    mean matched cost; after a multiscale start, from the coarsening's error (the mean cost
//!    from a point to its group's centroid) down to a hundredth of it. A phase whose bidding
//!    stalls is interrupted after ~5 bids per row; its free persons get their best edges over
//!    all columns and bidding resumes; a price war that 64 such restarts do not end leaves
//!    the rest to the exact phase. The prices become the column potentials `v = −p`; held
//!    edges are made tight.
//! 4. **Tight edges**: free rows take free columns along edges of reduced cost 0.
//! 5. **Shortest augmenting paths** (`jv.rs`, the Jonker–Volgenant / Crouse scheme with
//!    Dijkstra on the candidate graph) for every free row; a row with no path gets its best
//!    edges over all columns and an edge to the nearest free column.
//! 6. **Certificate rounds** (`scan.rs`): every row's true `min_j (c_ij − v_j)` over **all**
//!    columns (SIMD, rows in parallel, costs on the fly). Violating rows get their 8 best
//!    columns as edges, a lowered potential and a new augmenting path; only rows whose `u`
//!    rose are scanned again. Stops when no edge violates `u_i + v_j ≤ c_ij + 1e-12`.
//! 7. **Verification** (`certificate.rs`): an independent O(n·m) check of dual feasibility and
//!    of `primal − dual ≤ 1e-11 · primal + n · 1e-12`; a failure is an error, never an answer.
//!
//! The distance and gradient are then computed from the input's own coordinates.
//! Memory: O((n + m)·k) for every size. Deterministic: bidding and routing are sequential in a
//! fixed order; parallel parts are order-independent.

mod auction;
mod candidates;
mod certificate;
mod grouping;
mod jv;
mod kdtree;
mod lower_bound;
mod multiscale;
mod problem;
mod scan;
mod solve;
mod total;
mod transport;

use deepemd_core::tolerance::DUAL_FEASIBILITY_REL;
use deepemd_core::{
    Emd, EmdEstimator, EmdRequest, Error, Matching, Method, Pairing, PointCloud, Result,
    WorkingFrame, check_same_dim,
};

pub use certificate::{Certificate, CertificateTolerance, Duals, verify_certificate};
pub use lower_bound::dual_lower_bound;
use problem::Problem;

/// Settings of [`Exact`], checked by [`ExactParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExactParams {
    /// Nearest neighbours per point in the candidate graph (1 to 1024). After a start from
    /// potentials (multiscale, or the caller's [`WarmStart::potentials_b`]) half as many, plus
    /// twice as many columns per row chosen by reduced cost under those potentials.
    pub neighbours: usize,
    /// Factor by which ε falls between auction phases (> 1).
    pub scaling: f64,
    /// A cold auction stops once ε falls below this fraction of the mean matched cost; the
    /// exact shortest-augmenting-path phase takes over from its prices. (After a multiscale
    /// start it stops at a hundredth of the coarsening's error instead.)
    pub auction_stop: f64,
    /// The certified gap, relative to the optimal sum of costs.
    pub gap_tolerance: f64,
}

impl Default for ExactParams {
    /// 16 neighbours; a cold start (below 1024 points) runs one coarse auction phase (ε = max
    /// candidate cost / 4; it stops once ε is below half the mean matched cost), a multiscale
    /// start about four (from the coarsening's error down to a hundredth of it); gap ≤ 1e-11
    /// of the optimum (the values agree with the Hungarian reference to 1e-9 with room for
    /// rounding).
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
        if !(1..=1024).contains(&self.neighbours) {
            return bad(format!(
                "neighbours must be in 1..=1024, got {}",
                self.neighbours
            ));
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
    /// Initial potentials `v_j` of B's points (their negatives are the auction prices; for
    /// equal sizes they also choose candidate edges by reduced cost, see
    /// [`ExactParams::neighbours`]). For clouds of different sizes they are used when B is the
    /// larger cloud and ignored otherwise.
    pub potentials_b: Option<Vec<f64>>,
}

/// Counts of the work done, for benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SolveStats {
    /// ε phases of the auction (equal sizes), or routing phases (unequal sizes).
    pub phases: usize,
    /// Bids of the auction.
    pub bids: u64,
    /// Full-cost certificate rounds (1 when the candidates sufficed).
    pub certificate_rounds: usize,
    /// Nodes finalized by the Dijkstra searches.
    pub scanned: u64,
    /// Edges of the final candidate graph.
    pub edges: usize,
    /// Coarsenings solved first for the starting potentials of an equal-size problem (0
    /// without a multiscale start, and for unequal sizes; their own work is not counted in the
    /// other figures).
    pub coarse_levels: usize,
}

/// A certified optimal matching (or, for [`deepemd_core::Unequal::Uniform`] and unequal sizes, transport
/// plan).
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
            return Err(Error::InvalidInput(
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
        if warm
            .matching
            .as_ref()
            .is_some_and(|w| w.len() != a.len() || a.len() != b.len())
        {
            return Err(Error::InvalidInput(
                "a warm-start matching needs two clouds of its size".into(),
            ));
        }
        let problem = Problem::new(&fa, &fb, cost);
        let (pairing, frame_duals, stats) = if a.len() == b.len() {
            solve::solve(&problem, &self.params, &warm)?.in_input_order(&problem)?
        } else {
            // The warm potentials of B are the columns' when B is the larger cloud.
            let v0 = warm.potentials_b.filter(|_| !problem.swapped);
            transport::solve(&problem, request.unequal, &self.params, v0)?
        };
        // The value and gradient come from the input's own coordinates (errors if they leave
        // f64's range); the certificate is checked where its tolerances mean something.
        let emd = Emd::of_pairing(a, b, pairing, cost, request.gradient)?;
        let tolerance = CertificateTolerance {
            feasibility: DUAL_FEASIBILITY_REL,
            gap: self.params.gap_tolerance,
        };
        let certificate =
            certificate::verify_in_frame(&fa, &fb, cost, &emd.pairing, &frame_duals, tolerance)?
                .to_input(&frame, cost);
        let duals = frame_duals.to_input(&frame, cost)?;
        Ok(ExactSolution {
            emd,
            duals,
            certificate,
            stats,
        })
    }
}

impl EmdEstimator for Exact {
    fn name(&self) -> &str {
        Method::Exact.name()
    }

    fn is_exact(&self) -> bool {
        true
    }

    /// The solve's EMD with its certificate's gap per pair ([`Emd::certificate_gap`]).
    fn estimate(&self, a: &PointCloud, b: &PointCloud, request: EmdRequest) -> Result<Emd> {
        let solved = self.solve(a, b, request)?;
        // The certificate's figures are sums over the pairs of a matching, and already
        // mass-weighted for a plan.
        let pairs = match &solved.emd.pairing {
            Pairing::Plan(_) => 1.0,
            _ => a.len().min(b.len()) as f64,
        };
        let gap = (solved.certificate.gap() / pairs).max(0.0);
        Ok(Emd {
            certificate_gap: Some(gap),
            ..solved.emd
        })
    }

    fn estimate_batch(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        request: EmdRequest,
    ) -> Vec<Result<Emd>> {
        crate::batch::par_estimate(self, pairs, request)
    }
}

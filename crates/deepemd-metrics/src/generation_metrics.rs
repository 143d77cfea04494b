//! The generation metrics of Yang et al. (PointFlow, ICCV 2019), with the exact EMD and with
//! the Chamfer distance. For a reference set S_r and a generated set S_g and a distance D:
//!
//! - **MMD** (minimum matching distance) = (1/|S_r|) Σ_{Y ∈ S_r} min_{X ∈ S_g} D(X, Y): how close
//!   the nearest generated cloud is to each reference cloud (fidelity; lower is better).
//! - **COV** (coverage) = |{argmin_{Y ∈ S_r} D(X, Y) : X ∈ S_g}| / |S_r|: the share of reference
//!   clouds that are the nearest neighbour of some generated cloud (diversity; higher is better).
//! - **1-NNA** (1-nearest-neighbour accuracy): the leave-one-out accuracy of the 1-NN
//!   classifier on S_r ∪ S_g labelled by set; 50 % when the sets are indistinguishable, 100 % when
//!   they are apart (closer to 50 % is better).
//!
//! With PointFlow's additions: MMD's generated-side twin, 1-NNA's accuracy on each set, and the
//! JSD of the sets' occupancy grids (`jsd.rs`; key names in `pointflow.rs`).
//!
//! Ties (equal distances) go to the lower index, generated clouds before reference ones.
//! PointFlow computed the EMD with an approximation (an auction with a fixed iteration budget);
//! here it is the exact EMD of the certified solver, in this project's convention (the mean
//! unsquared Euclidean distance over the optimal matching). The EMD's nearest neighbours are
//! found by the pruned search of `nearest.rs` (identical to the brute force, which
//! [`Search::BruteForce`] runs); Chamfer's by k-d trees, every distance computed.

use std::time::Instant;

use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
use deepemd_solvers::Exact;

use crate::chamfer::{CloudTrees, chamfer_matrices};
use crate::error::{Error, Result};
use crate::jsd::jsd_of_sets;
use crate::nearest::{PrunedSearch, Sketches};
use crate::pair_jobs::PairJob;
use crate::set_metrics::{DistanceMatrices, SetMetrics, distance_matrices, set_metrics};
use crate::watch::Watch;

/// How the EMD's nearest neighbours are found. Both give identical metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Search {
    /// Certified lower bounds exclude most candidates; only the rest are solved exactly
    /// (`nearest.rs`).
    #[default]
    Pruned,
    /// Every distance the definitions involve is solved exactly.
    BruteForce,
}

/// MMD, COV and 1-NNA with the exact EMD and with Chamfer, PointFlow's per-set splits and JSD,
/// the sizes they were computed on and the work they took. `--json` of `deepemd gen-metrics`
/// prints this object.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenerationMetrics {
    /// MMD with the exact EMD.
    pub mmd_emd: f64,
    /// COV with the exact EMD (a share in [0, 1]).
    pub cov_emd: f64,
    /// 1-NNA with the exact EMD (a share in [0, 1]).
    pub nna_emd: f64,
    /// MMD with Chamfer.
    pub mmd_cd: f64,
    /// COV with Chamfer.
    pub cov_cd: f64,
    /// 1-NNA with Chamfer.
    pub nna_cd: f64,
    /// MMD's generated-side twin with the EMD: the mean over generated clouds of the nearest
    /// reference one (PointFlow's `lgan_mmd_smp-EMD`).
    #[serde(default)]
    pub mmd_smp_emd: f64,
    /// The same with Chamfer (`lgan_mmd_smp-CD`).
    #[serde(default)]
    pub mmd_smp_cd: f64,
    /// 1-NNA with the EMD on the reference clouds alone (PointFlow's `1-NN-EMD-acc_t`).
    #[serde(default)]
    pub nna_emd_reference: f64,
    /// 1-NNA with the EMD on the generated clouds alone (`1-NN-EMD-acc_f`).
    #[serde(default)]
    pub nna_emd_generated: f64,
    /// 1-NNA with Chamfer on the reference clouds (`1-NN-CD-acc_t`).
    #[serde(default)]
    pub nna_cd_reference: f64,
    /// 1-NNA with Chamfer on the generated clouds (`1-NN-CD-acc_f`).
    #[serde(default)]
    pub nna_cd_generated: f64,
    /// Jensen–Shannon divergence of the sets' occupancy of PointFlow's 28³ grid (`jsd.rs`);
    /// `None` for 2-D clouds, and from a distance set (which keeps no clouds).
    #[serde(default)]
    pub jsd: Option<f64>,
    /// Reference clouds.
    pub n_reference: usize,
    /// Generated clouds.
    pub n_generated: usize,
    /// Points per cloud.
    pub points: usize,
    /// EMDs the definitions involve: `R·G + R(R−1)/2 + G(G−1)/2`.
    #[serde(default)]
    pub pairs: usize,
    /// EMDs actually solved: `pairs` by brute force, far fewer by the pruned search.
    #[serde(default)]
    pub exact_solves: usize,
    /// Dual lower bounds computed by the pruned search (each a few percent of a solve).
    #[serde(default)]
    pub dual_bounds: usize,
    /// Seconds the computation took.
    pub seconds: f64,
}

/// Checks that two sets can be compared: both non-empty, every cloud of one point count and
/// dimension. `names` (the files) go into the errors.
pub fn check_sets(
    reference: &[PointCloud],
    generated: &[PointCloud],
    names: (&str, &str),
) -> Result<(usize, usize)> {
    let shape = |set: &[PointCloud], name: &str| -> Result<(usize, usize)> {
        let first = set
            .first()
            .ok_or_else(|| Error::Sets(format!("{name}: the set holds no clouds")))?;
        let shape = (first.len(), first.dim());
        if let Some(k) = set.iter().position(|c| (c.len(), c.dim()) != shape) {
            return Err(Error::Sets(format!(
                "{name}: cloud {k} has {} {}-D points, cloud 0 has {} {}-D points",
                set[k].len(),
                set[k].dim(),
                shape.0,
                shape.1
            )));
        }
        Ok(shape)
    };
    let r = shape(reference, names.0)?;
    let g = shape(generated, names.1)?;
    if r != g {
        return Err(Error::Sets(format!(
            "{} has clouds of {} {}-D points and {} of {} {}-D points: the metrics compare sets \
             of one point count (resample one set)",
            names.0, r.0, r.1, names.1, g.0, g.1
        )));
    }
    Ok(r)
}

/// The exact EMD of two clouds (this project's convention).
pub fn exact_emd(a: &PointCloud, b: &PointCloud) -> Result<f64> {
    Ok(Exact::default()
        .estimate(a, b, EmdRequest::new(Cost::Euclidean))?
        .distance)
}

/// MMD, COV and 1-NNA (and PointFlow's splits and JSD) of `generated` against `reference`
/// with the exact EMD and Chamfer, by the pruned search. `names` (the files the sets came from)
/// go into the errors; `progress` is called [`progress_steps`] times in all, from any thread.
pub fn generation_metrics(
    reference: &[PointCloud],
    generated: &[PointCloud],
    names: (&str, &str),
    progress: &(dyn Fn() + Sync),
) -> Result<GenerationMetrics> {
    generation_metrics_with(reference, generated, names, Search::Pruned, progress)
}

/// [`generation_metrics`] with the EMD's nearest neighbours found by `search`.
pub fn generation_metrics_with(
    reference: &[PointCloud],
    generated: &[PointCloud],
    names: (&str, &str),
    search: Search,
    progress: &(dyn Fn() + Sync),
) -> Result<GenerationMetrics> {
    let watch = Watch::new(progress);
    generation_metrics_watched(reference, generated, names, search, &watch)
}

/// [`generation_metrics_with`] reporting to `watch`, which may stop it early
/// ([`Error::Interrupted`](crate::Error::Interrupted)): what Ctrl-C in Python and the CLI use.
pub fn generation_metrics_watched(
    reference: &[PointCloud],
    generated: &[PointCloud],
    names: (&str, &str),
    search: Search,
    watch: &Watch,
) -> Result<GenerationMetrics> {
    let started = Instant::now();
    let (points, _) = check_sets(reference, generated, names)?;
    let trees = CloudTrees::new(reference, generated);
    let (emd, work) = match search {
        Search::Pruned => {
            let sketches = Sketches::new(reference, generated);
            let search = PrunedSearch::new(reference, generated, &sketches, &trees);
            let outcome = search.metrics(watch)?;
            (outcome.metrics, (outcome.exact_solves, outcome.dual_bounds))
        }
        Search::BruteForce => {
            let m = distance_matrices(reference, generated, &exact_emd, watch)?;
            let pairs = PairJob::count(reference.len(), generated.len());
            (set_metrics(&m), (pairs, 0))
        }
    };
    let sizes = (reference.len(), generated.len());
    let cd = set_metrics(&chamfer_matrices(&trees, sizes, watch)?);
    let sizes = Sizes {
        n_reference: reference.len(),
        n_generated: generated.len(),
        points,
    };
    Ok(GenerationMetrics::new(
        &emd,
        &cd,
        sizes,
        work,
        jsd_of_sets(reference, generated),
        started.elapsed().as_secs_f64(),
    ))
}

/// How many times [`generation_metrics_with`] calls its `progress` for sets of `r` and `g`
/// clouds: once per Chamfer distance, and once per EMD distance (brute force) or per EMD
/// nearest-neighbour query (pruned: `2·(r + g)`).
pub fn progress_steps(r: usize, g: usize, search: Search) -> usize {
    let distances = PairJob::count(r, g);
    distances
        + match search {
            Search::Pruned => 2 * (r + g),
            Search::BruteForce => distances,
        }
}

/// The sizes a [`GenerationMetrics`] records.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Reference clouds.
    pub n_reference: usize,
    /// Generated clouds.
    pub n_generated: usize,
    /// Points per cloud.
    pub points: usize,
}

impl GenerationMetrics {
    /// The record of both distances' metrics.
    pub fn new(
        e: &SetMetrics,
        c: &SetMetrics,
        sizes: Sizes,
        (exact_solves, dual_bounds): (usize, usize),
        jsd: Option<f64>,
        seconds: f64,
    ) -> Self {
        Self {
            mmd_emd: e.mmd,
            cov_emd: e.cov,
            nna_emd: e.nna,
            mmd_cd: c.mmd,
            cov_cd: c.cov,
            nna_cd: c.nna,
            mmd_smp_emd: e.mmd_smp,
            mmd_smp_cd: c.mmd_smp,
            nna_emd_reference: e.nna_reference,
            nna_emd_generated: e.nna_generated,
            nna_cd_reference: c.nna_reference,
            nna_cd_generated: c.nna_generated,
            jsd,
            n_reference: sizes.n_reference,
            n_generated: sizes.n_generated,
            points: sizes.points,
            pairs: PairJob::count(sizes.n_reference, sizes.n_generated),
            exact_solves,
            dual_bounds,
            seconds,
        }
    }

    /// The metrics of both distances from their full matrices (a distance set: every EMD was
    /// solved); `points` and `seconds` are recorded, JSD is not known.
    pub fn from_matrices(
        emd: &DistanceMatrices,
        cd: &DistanceMatrices,
        points: usize,
        seconds: f64,
    ) -> Self {
        let sizes = Sizes {
            n_reference: emd.rg.len(),
            n_generated: emd.gg.len(),
            points,
        };
        let solves = PairJob::count(sizes.n_reference, sizes.n_generated);
        Self::new(
            &set_metrics(emd),
            &set_metrics(cd),
            sizes,
            (solves, 0),
            None,
            seconds,
        )
    }
}

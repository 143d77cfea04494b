//! Exact nearest neighbours under the EMD without every distance: the pruned search behind
//! [`crate::generation_metrics`].
//!
//! Every EMD metric is a nearest-neighbour query over a *row* of candidates, the row of the
//! brute-force computation (`set_metrics`): for each query, every candidate gets a cheap
//! certified lower bound ([`CloudSketch`]: centroids, 1-D projections); candidates are visited
//! in increasing bound order; one whose bound exceeds the best exact distance found so far ends
//! the search (every later one has a bound at least as large); one that survives gets the
//! tighter bounds in turn — the mean nearest-point distance ([`CloudTrees`]), then the dual
//! bound ([`dual_lower_bound`]) — and, if it survives them too, an exact solve.
//!
//! **Identical results.** A candidate is skipped only when its bound exceeds the best distance
//! by more than the rounding of the computations (`excludes`): its exact distance, as the
//! brute force computes it, is then strictly larger than the best, so it can be neither the
//! minimum nor a tie. The minimum value and the first position attaining it (the tie rule of
//! the brute force) are therefore those of the full row. Exact distances are computed with the
//! clouds in the brute force's order and cached, one solve per pair for all the queries.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use deepemd_core::{Cost, PointCloud};
use deepemd_solvers::dual_lower_bound;
use rayon::prelude::*;

use crate::bounds::CloudSketch;
use crate::chamfer::CloudTrees;
use crate::error::{Error, Result};
use crate::generation_metrics::exact_emd;
use crate::pair_jobs::PairJob;
use crate::set_metrics::{SetMetrics, first_least};
use crate::watch::Watch;

/// A bound excludes a candidate only when it exceeds the best distance by this share of it…
const SLACK_REL: f64 = 1e-9;
/// …plus this share of the largest coordinate magnitude of the sets: far above the rounding of
/// a mean of distances (~1e-16 of the coordinates) and of the certified solve, so a bound never
/// excludes a candidate whose computed distance ties the best.
const SLACK_ABS: f64 = 1e-12;

/// The nearest candidate of a row: its position in the row and its distance.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Nearest {
    pub position: usize,
    pub value: f64,
}

/// Every cloud's sketch, and the rounding slack of the sets' scale: computed once per process,
/// shared by every search over the two sets.
pub(crate) struct Sketches {
    reference: Vec<CloudSketch>,
    generated: Vec<CloudSketch>,
    slack_abs: f64,
}

impl Sketches {
    /// Sketches every cloud (in parallel); the sets are checked by the caller.
    pub fn new(reference: &[PointCloud], generated: &[PointCloud]) -> Self {
        let sketch = |set: &[PointCloud]| set.par_iter().map(CloudSketch::new).collect();
        let scale = reference
            .iter()
            .chain(generated)
            .flat_map(|c| c.as_flat().iter().map(|x| x.abs()))
            .fold(f64::MIN_POSITIVE, f64::max);
        Self {
            reference: sketch(reference),
            generated: sketch(generated),
            slack_abs: SLACK_ABS * scale,
        }
    }
}

/// The EMD's nearest-neighbour queries over two sets, with a cache of the exact distances and
/// dual bounds computed (each pair solved at most once by one search).
pub(crate) struct PrunedSearch<'a> {
    reference: &'a [PointCloud],
    generated: &'a [PointCloud],
    sketches: &'a Sketches,
    trees: &'a CloudTrees,
    nearest_distance: Vec<OnceLock<f64>>,
    exact: Vec<OnceLock<std::result::Result<f64, String>>>,
    dual: Vec<OnceLock<std::result::Result<f64, String>>>,
    solves: AtomicUsize,
    duals: AtomicUsize,
}

/// What [`PrunedSearch::metrics`] returns: the metrics and the exact solves they took.
pub(crate) struct PrunedOutcome {
    pub metrics: SetMetrics,
    pub exact_solves: usize,
    pub dual_bounds: usize,
}

impl<'a> PrunedSearch<'a> {
    /// A search over the two sets with empty caches.
    pub fn new(
        reference: &'a [PointCloud],
        generated: &'a [PointCloud],
        sketches: &'a Sketches,
        trees: &'a CloudTrees,
    ) -> Self {
        let jobs = PairJob::count(reference.len(), generated.len());
        Self {
            reference,
            generated,
            sketches,
            trees,
            nearest_distance: (0..jobs).map(|_| OnceLock::new()).collect(),
            exact: (0..jobs).map(|_| OnceLock::new()).collect(),
            dual: (0..jobs).map(|_| OnceLock::new()).collect(),
            solves: AtomicUsize::new(0),
            duals: AtomicUsize::new(0),
        }
    }

    /// MMD, its generated-side twin, COV and 1-NNA with the exact EMD, every query in parallel;
    /// `watch` ticks once per query (`2·(R + G)` in all).
    pub fn metrics(&self, watch: &Watch) -> Result<PrunedOutcome> {
        let (nr, ng) = (self.reference.len(), self.generated.len());
        let answers: Vec<Nearest> = (0..query_count(nr, ng))
            .into_par_iter()
            .map(|t| {
                watch.check()?;
                let a = self.nearest(&Query::nth(nr, ng, t).row(nr, ng))?;
                watch.tick();
                Ok(a)
            })
            .collect::<Result<_>>()?;
        Ok(PrunedOutcome {
            metrics: metrics_of_answers(&answers, (nr, ng)),
            exact_solves: self.exact_solves(),
            dual_bounds: self.dual_bounds(),
        })
    }

    /// Exact EMDs solved so far.
    pub fn exact_solves(&self) -> usize {
        self.solves.load(Ordering::Relaxed)
    }

    /// Dual bounds computed so far.
    pub fn dual_bounds(&self) -> usize {
        self.duals.load(Ordering::Relaxed)
    }

    /// The nearest candidate of `row` (`None`: the query itself, skipped): the minimum and the
    /// first position attaining it, as the brute force finds them.
    pub fn nearest(&self, row: &[Option<PairJob>]) -> Result<Nearest> {
        let mut order: Vec<(f64, usize)> = row
            .iter()
            .enumerate()
            .filter_map(|(k, job)| job.map(|j| (self.sketch_bound(j), k)))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut best: Option<Nearest> = None;
        for (bound, k) in order {
            let job = row[k].expect("only candidates are ordered");
            if let Some(b) = best {
                if self.excludes(bound, b.value) {
                    break;
                }
                // Tighter and dearer bounds, in turn: a few tenths of a millisecond, then a few
                // milliseconds, before a solve of ~0.1 s.
                if self.excludes(self.nearest_distance_bound(job), b.value)
                    || self.excludes(self.dual_bound(job)?, b.value)
                {
                    continue;
                }
            }
            let d = self.exact(job)?;
            if best.is_none_or(|b| d < b.value || (d == b.value && k < b.position)) {
                best = Some(Nearest {
                    position: k,
                    value: d,
                });
            }
        }
        best.ok_or_else(|| Error::Sets("a nearest-neighbour query with no candidate".into()))
    }

    /// Whether a lower bound proves a candidate's distance larger than `best`.
    fn excludes(&self, bound: f64, best: f64) -> bool {
        bound > best + SLACK_REL * best.abs() + self.sketches.slack_abs
    }

    fn sketches(&self, job: PairJob) -> (&CloudSketch, &CloudSketch) {
        let (r, g) = (&self.sketches.reference, &self.sketches.generated);
        match job {
            PairJob::ReferenceGenerated(i, j) => (&r[i], &g[j]),
            PairJob::ReferenceReference(i, j) => (&r[i], &r[j]),
            PairJob::GeneratedGenerated(i, j) => (&g[i], &g[j]),
        }
    }

    fn sketch_bound(&self, job: PairJob) -> f64 {
        let (a, b) = self.sketches(job);
        a.lower_bound(b)
    }

    fn nearest_distance_bound(&self, job: PairJob) -> f64 {
        let t = job.index(self.reference.len(), self.generated.len());
        *self.nearest_distance[t].get_or_init(|| self.trees.nearest_distance_bound(job))
    }

    fn dual_bound(&self, job: PairJob) -> Result<f64> {
        let t = job.index(self.reference.len(), self.generated.len());
        cached(&self.dual[t], || {
            self.duals.fetch_add(1, Ordering::Relaxed);
            let (a, b) = job.clouds(self.reference, self.generated);
            Ok(dual_lower_bound(a, b, Cost::Euclidean)?)
        })
    }

    fn exact(&self, job: PairJob) -> Result<f64> {
        let t = job.index(self.reference.len(), self.generated.len());
        cached(&self.exact[t], || {
            self.solves.fetch_add(1, Ordering::Relaxed);
            let (a, b) = job.clouds(self.reference, self.generated);
            exact_emd(a, b)
        })
    }
}

/// The value in `cell`, computed once by `compute` (another thread asking meanwhile waits).
fn cached(
    cell: &OnceLock<std::result::Result<f64, String>>,
    compute: impl FnOnce() -> Result<f64>,
) -> Result<f64> {
    cell.get_or_init(|| compute().map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::Sets)
}

/// The nearest-neighbour queries the metrics of sets of `nr` and `ng` clouds ask, per distance.
pub(crate) fn query_count(nr: usize, ng: usize) -> usize {
    2 * (nr + ng)
}

/// The metrics from the answers to every query, in [`Query::nth`]'s order.
pub(crate) fn metrics_of_answers(answers: &[Nearest], (nr, ng): (usize, usize)) -> SetMetrics {
    let (to_generated, rest) = answers.split_at(nr);
    let (to_reference, rest) = rest.split_at(ng);
    let (nn_reference, nn_generated) = rest.split_at(nr);
    SetMetrics::from_nearest(
        to_generated.iter().map(|a| a.value),
        to_reference.iter().map(|a| (a.position, a.value)),
        nn_generated.iter().map(|a| a.position < ng),
        nn_reference.iter().map(|a| a.position >= ng),
        (nr, ng),
    )
}

/// The first position of the least value of a row whose every distance is known (`None`:
/// the query itself): the brute force's rule, for Chamfer.
pub(crate) fn nearest_of_all(
    row: &[Option<PairJob>],
    distance: impl Fn(PairJob) -> f64,
) -> Result<Nearest> {
    let values = row
        .iter()
        .enumerate()
        .filter_map(|(k, job)| job.map(|j| (k, distance(j))));
    first_least(values)
        .map(|(position, value)| Nearest { position, value })
        .ok_or_else(|| Error::Sets("a nearest-neighbour query with no candidate".into()))
}

/// One nearest-neighbour query of the metrics.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Query {
    /// Reference `r`'s nearest generated cloud (MMD).
    NearestGenerated(usize),
    /// Generated `g`'s nearest reference cloud (COV, and MMD's generated-side twin).
    NearestReference(usize),
    /// Reference `r`'s nearest other cloud of either set (1-NNA): generated first.
    OneNnReference(usize),
    /// Generated `g`'s nearest other cloud of either set (1-NNA): generated first.
    OneNnGenerated(usize),
}

impl Query {
    /// Query `t` of [`query_count`]: the nearest generated cloud of every reference cloud, the
    /// nearest reference cloud of every generated one, then 1-NNA's reference and generated
    /// queries.
    pub fn nth(nr: usize, ng: usize, t: usize) -> Query {
        if t < nr {
            Query::NearestGenerated(t)
        } else if t < nr + ng {
            Query::NearestReference(t - nr)
        } else if t < 2 * nr + ng {
            Query::OneNnReference(t - nr - ng)
        } else {
            Query::OneNnGenerated(t - 2 * nr - ng)
        }
    }

    /// The query's row of candidates in the brute force's order (`None`: itself).
    pub fn row(self, nr: usize, ng: usize) -> Vec<Option<PairJob>> {
        use PairJob::*;
        let within = |make: fn(usize, usize) -> PairJob, q: usize, k: usize| {
            (k != q).then(|| make(q.min(k), q.max(k)))
        };
        match self {
            Query::NearestGenerated(r) => (0..ng).map(|g| Some(ReferenceGenerated(r, g))).collect(),
            Query::NearestReference(g) => (0..nr).map(|r| Some(ReferenceGenerated(r, g))).collect(),
            Query::OneNnReference(r) => (0..ng)
                .map(|g| Some(ReferenceGenerated(r, g)))
                .chain((0..nr).map(|k| within(ReferenceReference, r, k)))
                .collect(),
            Query::OneNnGenerated(g) => (0..ng)
                .map(|k| within(GeneratedGenerated, g, k))
                .chain((0..nr).map(|r| Some(ReferenceGenerated(r, g))))
                .collect(),
        }
    }
}

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
//! Ties (equal distances) go to the lower index, generated clouds before reference ones.
//! PointFlow computed the EMD with an approximation (an auction with a fixed iteration budget);
//! here it is the exact EMD of the certified solver, in this project's convention (the mean
//! unsquared Euclidean distance over the optimal matching).

use std::time::Instant;

use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
use deepemd_solvers::Exact;
use rayon::prelude::*;

use crate::chamfer::chamfer_distance;
use crate::error::{Error, Result};

/// MMD, COV and 1-NNA with the exact EMD and with Chamfer, and the sizes they were computed on.
/// `--json` of `deepemd gen-metrics` prints this object.
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
    /// Reference clouds.
    pub n_reference: usize,
    /// Generated clouds.
    pub n_generated: usize,
    /// Points per cloud.
    pub points: usize,
    /// Seconds the computation took.
    pub seconds: f64,
}

/// The three metrics of one distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetMetrics {
    /// Minimum matching distance.
    pub mmd: f64,
    /// Coverage.
    pub cov: f64,
    /// 1-nearest-neighbour accuracy.
    pub nna: f64,
}

/// The distances among and between two sets, row-major: `rg[r][g]`, `rr`, `gg`.
#[derive(Clone, Debug, PartialEq)]
pub struct DistanceMatrices {
    /// Reference × generated.
    pub rg: Vec<Vec<f64>>,
    /// Reference × reference (the diagonal is unused).
    pub rr: Vec<Vec<f64>>,
    /// Generated × generated (the diagonal is unused).
    pub gg: Vec<Vec<f64>>,
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

/// One distance the metrics need: which two sets, and the two clouds' indices in them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairJob {
    /// Reference `i` and generated `j`.
    ReferenceGenerated(usize, usize),
    /// Reference `i` and reference `j`, `i < j`.
    ReferenceReference(usize, usize),
    /// Generated `i` and generated `j`, `i < j`.
    GeneratedGenerated(usize, usize),
}

impl PairJob {
    /// The two clouds of the job.
    pub fn clouds<'a>(
        &self,
        reference: &'a [PointCloud],
        generated: &'a [PointCloud],
    ) -> (&'a PointCloud, &'a PointCloud) {
        match *self {
            Self::ReferenceGenerated(i, j) => (&reference[i], &generated[j]),
            Self::ReferenceReference(i, j) => (&reference[i], &reference[j]),
            Self::GeneratedGenerated(i, j) => (&generated[i], &generated[j]),
        }
    }

    /// Job `t` of [`pair_jobs`]`(nr, ng)`, computed without the list (a shard of a large job
    /// needs only its own jobs); `None` past the end.
    pub fn nth(nr: usize, ng: usize, t: usize) -> Option<Self> {
        use PairJob::*;
        let rg = nr.checked_mul(ng)?;
        if t < rg {
            return Some(ReferenceGenerated(t / ng, t % ng));
        }
        let t = t - rg;
        let rr = triangle(nr);
        if t < rr {
            let (i, j) = upper_triangle_pair(nr, t);
            return Some(ReferenceReference(i, j));
        }
        let t = t - rr;
        (t < triangle(ng)).then(|| {
            let (i, j) = upper_triangle_pair(ng, t);
            GeneratedGenerated(i, j)
        })
    }
}

/// Pairs `i < j` of `n` items.
fn triangle(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// The `t`-th pair `(i, j)`, `i < j < n`, of the upper triangle in row-major order. Row `i`
/// starts at `i·(n−1) − i·(i−1)/2`; the row is found by binary search.
fn upper_triangle_pair(n: usize, t: usize) -> (usize, usize) {
    let start = |i: usize| i * (n - 1) - i * i.saturating_sub(1) / 2;
    let (mut lo, mut hi) = (0, n - 1); // the row is in lo..hi
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if start(mid) <= t {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo, lo + 1 + (t - start(lo)))
}

/// The jobs `range` of [`pair_jobs`]`(nr, ng)`, one at a time: memory independent of the job's
/// size.
pub fn pair_jobs_in(
    nr: usize,
    ng: usize,
    range: std::ops::Range<usize>,
) -> impl Iterator<Item = PairJob> {
    range.map_while(move |t| PairJob::nth(nr, ng, t))
}

/// Every distance the metrics need, in a fixed order: reference × generated row by row, then
/// the upper triangles of reference × reference and generated × generated.
/// [`pair_count`] is twice its length (once per distance).
pub fn pair_jobs(nr: usize, ng: usize) -> Vec<PairJob> {
    use PairJob::*;
    let mut jobs = Vec::with_capacity(pair_count(nr, ng) / 2);
    jobs.extend((0..nr).flat_map(|i| (0..ng).map(move |j| ReferenceGenerated(i, j))));
    jobs.extend((0..nr).flat_map(|i| (i + 1..nr).map(move |j| ReferenceReference(i, j))));
    jobs.extend((0..ng).flat_map(|i| (i + 1..ng).map(move |j| GeneratedGenerated(i, j))));
    jobs
}

impl DistanceMatrices {
    /// The matrices of sets of `nr` and `ng` clouds from the value of every job of
    /// [`pair_jobs`], in that order.
    pub fn from_values(nr: usize, ng: usize, values: &[f64]) -> Self {
        let mut m = Self {
            rg: vec![vec![0.0; ng]; nr],
            rr: vec![vec![0.0; nr]; nr],
            gg: vec![vec![0.0; ng]; ng],
        };
        for (job, &d) in pair_jobs_in(nr, ng, 0..values.len()).zip(values) {
            match job {
                PairJob::ReferenceGenerated(i, j) => m.rg[i][j] = d,
                PairJob::ReferenceReference(i, j) => (m.rr[i][j], m.rr[j][i]) = (d, d),
                PairJob::GeneratedGenerated(i, j) => (m.gg[i][j], m.gg[j][i]) = (d, d),
            }
        }
        m
    }
}

/// Every distance the metrics need, `distance` computed in parallel; `progress` is called
/// once per distance computed, from any thread.
pub fn distance_matrices(
    reference: &[PointCloud],
    generated: &[PointCloud],
    distance: &(dyn Fn(&PointCloud, &PointCloud) -> Result<f64> + Sync),
    progress: &(dyn Fn() + Sync),
) -> Result<DistanceMatrices> {
    let values: Vec<f64> = pair_jobs(reference.len(), generated.len())
        .par_iter()
        .map(|job| {
            let (a, b) = job.clouds(reference, generated);
            let d = distance(a, b)?;
            progress();
            Ok(d)
        })
        .collect::<Result<_>>()?;
    Ok(DistanceMatrices::from_values(
        reference.len(),
        generated.len(),
        &values,
    ))
}

/// The index of the smallest value (the first on ties), skipping `skip`.
fn argmin(values: impl Iterator<Item = f64>, skip: Option<usize>) -> Option<(usize, f64)> {
    values
        .enumerate()
        .filter(|(k, _)| Some(*k) != skip)
        .fold(None, |best, (k, v)| match best {
            Some((_, b)) if b <= v => best,
            _ => Some((k, v)),
        })
}

/// MMD, COV and 1-NNA from the distance matrices (definitions in the module documentation);
/// NaN for empty sets.
pub fn set_metrics(m: &DistanceMatrices) -> SetMetrics {
    let (nr, ng) = (m.rg.len(), m.gg.len());
    if nr == 0 || ng == 0 {
        return SetMetrics {
            mmd: f64::NAN,
            cov: f64::NAN,
            nna: f64::NAN,
        };
    }
    let mmd =
        m.rg.iter()
            .map(|row| row.iter().copied().fold(f64::INFINITY, f64::min))
            .sum::<f64>()
            / nr as f64;
    let mut covered = vec![false; nr];
    for g in 0..ng {
        if let Some((r, _)) = argmin((0..nr).map(|r| m.rg[r][g]), None) {
            covered[r] = true;
        }
    }
    let cov = covered.iter().filter(|&&c| c).count() as f64 / nr as f64;
    // 1-NN over the union, generated first: a cloud is classified right when its nearest other
    // cloud is of its own set.
    let mut right = 0usize;
    for g in 0..ng {
        let row = (0..ng)
            .map(|k| m.gg[g][k])
            .chain((0..nr).map(|r| m.rg[r][g]));
        if let Some((k, _)) = argmin(row, Some(g)) {
            right += usize::from(k < ng);
        }
    }
    for r in 0..nr {
        let row = m.rg[r].iter().copied().chain(m.rr[r].iter().copied());
        if let Some((k, _)) = argmin(row, Some(ng + r)) {
            right += usize::from(k >= ng);
        }
    }
    let nna = right as f64 / (nr + ng) as f64;
    SetMetrics { mmd, cov, nna }
}

/// The exact EMD of two clouds (this project's convention).
pub fn exact_emd(a: &PointCloud, b: &PointCloud) -> Result<f64> {
    Ok(Exact::default()
        .estimate(a, b, EmdRequest::new(Cost::Euclidean))?
        .distance)
}

/// MMD, COV and 1-NNA of `generated` against `reference` with the exact EMD and Chamfer.
/// `names` (the files the sets came from) go into the errors; `progress` is called once per
/// distance computed (2 · (R·G + R(R−1)/2 + G(G−1)/2) in all; see [`pair_count`]).
pub fn generation_metrics(
    reference: &[PointCloud],
    generated: &[PointCloud],
    names: (&str, &str),
    progress: &(dyn Fn() + Sync),
) -> Result<GenerationMetrics> {
    let started = Instant::now();
    let (points, _) = check_sets(reference, generated, names)?;
    let emd = distance_matrices(reference, generated, &exact_emd, progress)?;
    let cd = distance_matrices(reference, generated, &chamfer_distance, progress)?;
    Ok(GenerationMetrics::from_matrices(
        &emd,
        &cd,
        points,
        started.elapsed().as_secs_f64(),
    ))
}

impl GenerationMetrics {
    /// The metrics of both distances from their matrices; `points` and `seconds` are recorded.
    pub fn from_matrices(
        emd: &DistanceMatrices,
        cd: &DistanceMatrices,
        points: usize,
        seconds: f64,
    ) -> Self {
        let (e, c) = (set_metrics(emd), set_metrics(cd));
        Self {
            mmd_emd: e.mmd,
            cov_emd: e.cov,
            nna_emd: e.nna,
            mmd_cd: c.mmd,
            cov_cd: c.cov,
            nna_cd: c.nna,
            n_reference: emd.rg.len(),
            n_generated: emd.gg.len(),
            points,
            seconds,
        }
    }
}

/// How many distances [`generation_metrics`] computes for sets of `r` and `g` clouds.
pub fn pair_count(r: usize, g: usize) -> usize {
    2 * (r * g + r * r.saturating_sub(1) / 2 + g * g.saturating_sub(1) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrices(rg: Vec<Vec<f64>>, rr: Vec<Vec<f64>>, gg: Vec<Vec<f64>>) -> DistanceMatrices {
        DistanceMatrices { rg, rr, gg }
    }

    #[test]
    fn the_nth_job_is_the_nth_of_the_list_for_every_size() {
        for nr in 0..7 {
            for ng in 0..7 {
                let all = pair_jobs(nr, ng);
                assert_eq!(2 * all.len(), pair_count(nr, ng));
                for (t, job) in all.iter().enumerate() {
                    assert_eq!(PairJob::nth(nr, ng, t), Some(*job), "{nr} {ng} {t}");
                }
                assert_eq!(PairJob::nth(nr, ng, all.len()), None);
                let middle: Vec<PairJob> = pair_jobs_in(nr, ng, 3..all.len() + 5).collect();
                assert_eq!(middle, all.get(3..).unwrap_or(&[]));
            }
        }
        // A large job without its list: the last pair of 6000 × 6000 clouds.
        let t = pair_count(6000, 6000) / 2 - 1;
        assert_eq!(
            PairJob::nth(6000, 6000, t),
            Some(PairJob::GeneratedGenerated(5998, 5999))
        );
    }

    #[test]
    fn identical_sets_cover_everything_and_are_indistinguishable_by_mmd() {
        // Points on a line: reference {0, 10}, generated {0, 10}; D = |x − y|.
        let m = matrices(
            vec![vec![0.0, 10.0], vec![10.0, 0.0]],
            vec![vec![0.0, 10.0], vec![10.0, 0.0]],
            vec![vec![0.0, 10.0], vec![10.0, 0.0]],
        );
        let s = set_metrics(&m);
        assert_eq!(s.mmd, 0.0);
        assert_eq!(s.cov, 1.0);
        // Each cloud's nearest other cloud is its twin in the other set: 0 % accuracy.
        assert_eq!(s.nna, 0.0);
    }

    #[test]
    fn collapsed_generation_covers_one_and_is_told_apart() {
        // Reference {0, 10, 20}; generated {0.5, 0.6} (both near the first).
        let r = [0.0, 10.0, 20.0];
        let g = [0.5, 0.6];
        let d = |a: f64, b: f64| (a - b).abs();
        let m = matrices(
            r.iter()
                .map(|&a| g.iter().map(|&b| d(a, b)).collect())
                .collect(),
            r.iter()
                .map(|&a| r.iter().map(|&b| d(a, b)).collect())
                .collect(),
            g.iter()
                .map(|&a| g.iter().map(|&b| d(a, b)).collect())
                .collect(),
        );
        let s = set_metrics(&m);
        assert!(
            (s.mmd - (0.5 + 9.4 + 19.4) / 3.0).abs() < 1e-12,
            "{}",
            s.mmd
        );
        assert!((s.cov - 1.0 / 3.0).abs() < 1e-12);
        // g0 → g1 (right), g1 → g0 (right), r0 → g0 (wrong), r1 → g1 at 9.4 (wrong),
        // r2 → r1 (right).
        assert!((s.nna - 3.0 / 5.0).abs() < 1e-12, "{}", s.nna);
    }
}

//! MMD, COV and 1-NNA (and PointFlow's per-set splits) of one distance, from the nearest
//! neighbours however they were found: every distance known ([`set_metrics`] on
//! [`DistanceMatrices`], the brute force) or the pruned search (`nearest.rs`).

use deepemd_core::PointCloud;
use rayon::prelude::*;

use crate::error::Result;
use crate::pair_jobs::{PairJob, pair_jobs, pair_jobs_in};
use crate::watch::Watch;

/// The metrics of one distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetMetrics {
    /// Minimum matching distance: the mean over reference clouds of the nearest generated one.
    pub mmd: f64,
    /// Its generated-side twin (PointFlow's `lgan_mmd_smp`): the mean over generated clouds of
    /// the nearest reference one.
    pub mmd_smp: f64,
    /// Coverage.
    pub cov: f64,
    /// 1-nearest-neighbour accuracy over both sets.
    pub nna: f64,
    /// 1-NNA's accuracy on the reference clouds (PointFlow's `acc_t`): the share whose nearest
    /// other cloud is a reference cloud.
    pub nna_reference: f64,
    /// 1-NNA's accuracy on the generated clouds (PointFlow's `acc_f`).
    pub nna_generated: f64,
}

impl SetMetrics {
    /// The metrics from the nearest neighbours, whichever way they were found: per reference
    /// cloud its nearest generated distance; per generated cloud its nearest reference cloud
    /// and distance; per cloud of each set whether its nearest other cloud is of its own set.
    pub(crate) fn from_nearest(
        to_generated: impl Iterator<Item = f64>,
        to_reference: impl Iterator<Item = (usize, f64)>,
        generated_right: impl Iterator<Item = bool>,
        reference_right: impl Iterator<Item = bool>,
        (nr, ng): (usize, usize),
    ) -> Self {
        if nr == 0 || ng == 0 {
            return Self {
                mmd: f64::NAN,
                mmd_smp: f64::NAN,
                cov: f64::NAN,
                nna: f64::NAN,
                nna_reference: f64::NAN,
                nna_generated: f64::NAN,
            };
        }
        let mmd = to_generated.sum::<f64>() / nr as f64;
        let mut covered = vec![false; nr];
        let mut smp = 0.0;
        for (r, d) in to_reference {
            covered[r] = true;
            smp += d;
        }
        let cov = covered.iter().filter(|&&c| c).count() as f64 / nr as f64;
        let right_g = generated_right.filter(|&r| r).count();
        let right_r = reference_right.filter(|&r| r).count();
        Self {
            mmd,
            mmd_smp: smp / ng as f64,
            cov,
            nna: (right_r + right_g) as f64 / (nr + ng) as f64,
            nna_reference: right_r as f64 / nr as f64,
            nna_generated: right_g as f64 / ng as f64,
        }
    }
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

/// Every distance the metrics need, `distance` computed in parallel; `watch` ticks once per
/// distance computed, from any thread.
pub fn distance_matrices(
    reference: &[PointCloud],
    generated: &[PointCloud],
    distance: &(dyn Fn(&PointCloud, &PointCloud) -> Result<f64> + Sync),
    watch: &Watch,
) -> Result<DistanceMatrices> {
    let values: Vec<f64> = pair_jobs(reference.len(), generated.len())
        .par_iter()
        .map(|job| {
            watch.check()?;
            let (a, b) = job.clouds(reference, generated);
            let d = distance(a, b)?;
            watch.tick();
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
    first_least(values.enumerate().filter(|(k, _)| Some(*k) != skip))
}

/// The first `(position, value)` of the least value: the brute force's tie rule, for rows with
/// every distance known (the matrices here, Chamfer's rows in `nearest.rs`).
pub(crate) fn first_least(values: impl Iterator<Item = (usize, f64)>) -> Option<(usize, f64)> {
    values.fold(None, |best, (k, v)| match best {
        Some((_, b)) if b <= v => best,
        _ => Some((k, v)),
    })
}

/// The metrics from the distance matrices, every distance known (definitions in the module
/// documentation); NaN for empty sets.
pub fn set_metrics(m: &DistanceMatrices) -> SetMetrics {
    let (nr, ng) = (m.rg.len(), m.gg.len());
    let to_generated =
        m.rg.iter()
            .map(|row| row.iter().copied().fold(f64::INFINITY, f64::min));
    let to_reference = (0..ng).filter_map(|g| argmin((0..nr).map(|r| m.rg[r][g]), None));
    // 1-NN over the union, generated first: a cloud is classified right when its nearest other
    // cloud is of its own set.
    let generated_right = (0..ng).map(|g| {
        let row = (0..ng)
            .map(|k| m.gg[g][k])
            .chain((0..nr).map(|r| m.rg[r][g]));
        argmin(row, Some(g)).is_some_and(|(k, _)| k < ng)
    });
    let reference_right = (0..nr).map(|r| {
        let row = m.rg[r].iter().copied().chain(m.rr[r].iter().copied());
        argmin(row, Some(ng + r)).is_some_and(|(k, _)| k >= ng)
    });
    SetMetrics::from_nearest(
        to_generated,
        to_reference,
        generated_right,
        reference_right,
        (nr, ng),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrices(rg: Vec<Vec<f64>>, rr: Vec<Vec<f64>>, gg: Vec<Vec<f64>>) -> DistanceMatrices {
        DistanceMatrices { rg, rr, gg }
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
        assert!((s.nna_reference - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.nna_generated, 1.0);
        // g0's nearest reference is r0 at 0.5, g1's r0 at 0.6.
        assert!((s.mmd_smp - 0.55).abs() < 1e-12, "{}", s.mmd_smp);
    }
}

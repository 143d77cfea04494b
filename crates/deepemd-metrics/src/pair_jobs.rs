//! The distances the generation metrics involve, as numbered jobs: reference × generated row
//! by row, then the upper triangles of reference × reference and generated × generated. A job's
//! number is its place in that order ([`PairJob::nth`], [`PairJob::index`]), so a shard, a
//! chunk file or a cache slot names a distance without the list.

use deepemd_core::PointCloud;

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

    /// How many jobs sets of `nr` and `ng` clouds have (half of [`pair_count`]).
    pub fn count(nr: usize, ng: usize) -> usize {
        nr * ng + triangle(nr) + triangle(ng)
    }

    /// The position of this job in [`pair_jobs`]`(nr, ng)`: the inverse of [`PairJob::nth`].
    pub fn index(&self, nr: usize, ng: usize) -> usize {
        let in_triangle =
            |n: usize, i: usize, j: usize| i * (n - 1) - i * i.saturating_sub(1) / 2 + (j - i - 1);
        match *self {
            Self::ReferenceGenerated(i, j) => i * ng + j,
            Self::ReferenceReference(i, j) => nr * ng + in_triangle(nr, i, j),
            Self::GeneratedGenerated(i, j) => nr * ng + triangle(nr) + in_triangle(ng, i, j),
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

/// How many distances [`generation_metrics`] computes for sets of `r` and `g` clouds.
pub fn pair_count(r: usize, g: usize) -> usize {
    2 * (r * g + r * r.saturating_sub(1) / 2 + g * g.saturating_sub(1) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_job_is_the_nth_of_the_list_for_every_size() {
        for nr in 0..7 {
            for ng in 0..7 {
                let all = pair_jobs(nr, ng);
                assert_eq!(2 * all.len(), pair_count(nr, ng));
                assert_eq!(all.len(), PairJob::count(nr, ng));
                for (t, job) in all.iter().enumerate() {
                    assert_eq!(PairJob::nth(nr, ng, t), Some(*job), "{nr} {ng} {t}");
                    assert_eq!(job.index(nr, ng), t, "{job:?}");
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
}

//! The distances behind the generation metrics, kept on disk in chunks that a rerun resumes
//! and that N jobs of a batch scheduler can share out (`deepemd gen-metrics --out DIR
//! --shard I/N`; see `deepemd_data::sharding`).
//!
//! A distance set is a folder holding `distances.json` (the [`DistanceSetConfig`]) and one
//! `distances-CCCCC.npy` per chunk: a little-endian f64 array `[len, 2]` whose row `t` holds
//! the exact EMD and the Chamfer distance of job `C · chunk_size + t` of
//! [`crate::pair_jobs`], with its receipt `distances-CCCCC.npy.receipt` (the manifest's and the
//! file's SHA-256: `deepemd_data::sharding::receipt`). Chunk files are written atomically; each
//! is computed from its own jobs alone, so it has the same bytes whichever run, shard or machine
//! made it. A chunk is used — skipped by a rerun, copied by a merge, read for the metrics — only
//! when its receipt verifies.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use deepemd_core::PointCloud;
use deepemd_data::formats::{read_npy_matrix_f64, write_npy_matrix_f64};
use deepemd_data::memory::check_fits_in_memory;
use deepemd_data::sharding::{
    JobId, MAX_UNITS, Shard, ShardedOutput, UnitJob, check_unit_count, ensure_manifest, run_units,
};
use rayon::prelude::*;

use crate::chamfer::CloudTrees;
use crate::error::{Error, Result};
use crate::generation_metrics::{GenerationMetrics, check_sets, exact_emd};
use crate::pair_jobs::{pair_count, pair_jobs_in};
use crate::set_folder::{
    SetReport, check_described_sets, fingerprint, into_data, parse_manifest, verify_for_read,
};
use crate::set_metrics::DistanceMatrices;

/// Most clouds a set of a distance set may hold (a bound on what a manifest read from disk may
/// ask for: 10⁶ clouds are 10¹² cloud pairs).
pub const MAX_SET_CLOUDS: usize = 1_000_000;

/// The file name of a distance set's manifest.
pub const DISTANCES_MANIFEST: &str = "distances.json";

/// Everything that determines a distance set; saved as `distances.json`. The two sets are
/// identified by their sizes and a hash of their coordinates, not by file names, so shards may
/// read them from different paths.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DistanceSetConfig {
    /// Reference clouds.
    pub n_reference: usize,
    /// Generated clouds.
    pub n_generated: usize,
    /// Points per cloud.
    pub points: usize,
    /// 2 or 3.
    pub dim: usize,
    /// SHA-256 of the reference clouds' coordinates (f64 little-endian, cloud after cloud).
    pub reference_sha256: String,
    /// SHA-256 of the generated clouds' coordinates.
    pub generated_sha256: String,
    /// Cloud pairs per chunk file.
    pub chunk_size: usize,
}

impl DistanceSetConfig {
    /// The set of `reference` against `generated` (checked as [`check_sets`] does, `names` in
    /// its errors), in chunks of `chunk_size` cloud pairs.
    pub fn new(
        reference: &[PointCloud],
        generated: &[PointCloud],
        names: (&str, &str),
        chunk_size: usize,
    ) -> Result<Self> {
        if chunk_size == 0 {
            return Err(Error::Config("the chunk size must be at least 1".into()));
        }
        let (points, dim) = check_sets(reference, generated, names)?;
        let jobs = pair_count(reference.len(), generated.len()) / 2;
        if jobs.div_ceil(chunk_size) > MAX_UNITS {
            return Err(Error::Config(format!(
                "{jobs} cloud pairs in chunks of {chunk_size} make {} chunk files, more than the \
                 {MAX_UNITS} one job may have: choose a larger --chunk-size",
                jobs.div_ceil(chunk_size)
            )));
        }
        Ok(Self {
            n_reference: reference.len(),
            n_generated: generated.len(),
            points,
            dim,
            reference_sha256: fingerprint(reference),
            generated_sha256: fingerprint(generated),
            chunk_size,
        })
    }

    /// Reads a distance set's manifest.
    pub fn read(manifest: &Path) -> Result<Self> {
        let text = deepemd_data::formats::read_text(manifest)?;
        let bad = |m: String| Error::Data(deepemd_data::Error::format(manifest, m));
        let config: Self = parse_manifest(manifest, &text, "distance-set")?;
        if config.chunk_size == 0 {
            return Err(bad(
                "describes chunks of 0 pairs: a chunk holds at least 1".into()
            ));
        }
        let sizes = (
            config.n_reference,
            config.n_generated,
            config.points,
            config.dim,
        );
        check_described_sets(manifest, sizes)?;
        check_unit_count(manifest, config.chunks(), "chunk files")?;
        Ok(config)
    }

    /// Bytes that reading the whole set takes: the EMD and Chamfer values of every job and the
    /// three matrices of each distance (`None` when that overflows).
    pub fn bytes_to_read(&self) -> Option<u64> {
        let (nr, ng) = (self.n_reference as u64, self.n_generated as u64);
        let cells = nr
            .checked_mul(nr)?
            .checked_add(ng.checked_mul(ng)?)?
            .checked_add(nr.checked_mul(ng)?)?;
        let values = (self.jobs() as u64).checked_mul(2)?;
        cells.checked_mul(2)?.checked_add(values)?.checked_mul(8)
    }

    /// Cloud pairs in the set (each gets an EMD and a Chamfer distance).
    pub fn jobs(&self) -> usize {
        pair_count(self.n_reference, self.n_generated) / 2
    }

    /// Chunk files in the set.
    pub fn chunks(&self) -> usize {
        self.jobs().div_ceil(self.chunk_size)
    }

    /// The jobs of chunk `c`.
    pub fn chunk_jobs(&self, c: usize) -> Range<usize> {
        c * self.chunk_size..((c + 1) * self.chunk_size).min(self.jobs())
    }

    /// File name of chunk `c`.
    pub fn chunk_name(c: usize) -> String {
        format!("distances-{c:05}.npy")
    }

    /// Reads chunk `c` from `path`: its (EMD, Chamfer) rows, checked for length and values.
    pub fn read_chunk(&self, c: usize, path: &Path) -> Result<Vec<f64>> {
        let values = read_npy_matrix_f64(path, 2)?;
        let want = self.chunk_jobs(c).len();
        let fail = |m: String| Error::Data(deepemd_data::Error::format(path, m));
        if values.len() != 2 * want {
            return Err(fail(format!(
                "holds {} rows; chunk {c} of this set has {want}",
                values.len() / 2
            )));
        }
        if let Some(t) = values.iter().position(|d| !(d.is_finite() && *d >= 0.0)) {
            return Err(fail(format!(
                "row {} holds a distance {}",
                t / 2,
                values[t]
            )));
        }
        Ok(values)
    }
}

/// Computes (or completes) the distance set of `reference` against `generated` under `out`;
/// with a `shard` other than [`Shard::WHOLE`], only the chunks it owns. `progress(done, total)`
/// counts this run's cloud pairs, skipped chunks included, from any thread.
/// `stop` interrupts it between items with [`Error::Interrupted`] (Ctrl-C): the units written
/// before it stand (with their receipts), the one in progress is not written, and a rerun
/// resumes.
pub fn compute_distance_set(
    reference: &[PointCloud],
    generated: &[PointCloud],
    config: &DistanceSetConfig,
    out: &Path,
    shard: Shard,
    progress: &(dyn Fn(usize, usize) + Sync),
    stop: &AtomicBool,
) -> Result<SetReport> {
    let start = Instant::now();
    let names = ("reference", "generated");
    if DistanceSetConfig::new(reference, generated, names, config.chunk_size)? != *config {
        return Err(Error::Config(
            "the distance-set settings describe other clouds than the ones given".into(),
        ));
    }
    deepemd_data::create_folder(out)?;
    let id = ensure_manifest(&out.join(DISTANCES_MANIFEST), config, "distances")?;
    let job = DistanceJob {
        config,
        stop,
        reference,
        generated,
        trees: CloudTrees::new(reference, generated),
    };
    let run = run_units(&job, out, &id, shard, progress)?;
    Ok(SetReport::of(run, start))
}

/// The distance set as a job of chunk files.
struct DistanceJob<'a> {
    /// Set by a stop request: the unit in progress returns [`Error::Interrupted`].
    stop: &'a AtomicBool,
    config: &'a DistanceSetConfig,
    reference: &'a [PointCloud],
    generated: &'a [PointCloud],
    /// Chamfer through each cloud's k-d tree, built once per run: the same bits as
    /// [`chamfer_distance`](crate::chamfer_distance), so chunk files do not change.
    trees: CloudTrees,
}

impl UnitJob for DistanceJob<'_> {
    type Error = Error;

    fn units(&self) -> usize {
        self.config.chunks()
    }

    fn unit_name(&self, c: usize) -> String {
        DistanceSetConfig::chunk_name(c)
    }

    fn unit_items(&self, c: usize) -> usize {
        self.config.chunk_jobs(c).len()
    }

    fn check(&self, c: usize, path: &Path) -> Result<()> {
        self.config.read_chunk(c, path).map(drop)
    }

    fn make(&self, c: usize, path: &Path, tick: &(dyn Fn() + Sync)) -> Result<()> {
        let (nr, ng) = (self.config.n_reference, self.config.n_generated);
        // Only this chunk's jobs: a shard's memory follows its share, not the job's size.
        let jobs: Vec<_> = pair_jobs_in(nr, ng, self.config.chunk_jobs(c)).collect();
        let rows: Vec<[f64; 2]> = jobs
            .par_iter()
            .map(|job| {
                if self.stop.load(Ordering::Relaxed) {
                    return Err(Error::Interrupted);
                }
                let (a, b) = job.clouds(self.reference, self.generated);
                let row = [exact_emd(a, b)?, self.trees.chamfer(*job)];
                tick();
                Ok(row)
            })
            .collect::<Result<_>>()?;
        Ok(write_npy_matrix_f64(path, 2, rows.as_flattened())?)
    }
}

/// Reads a complete distance set: its settings and the EMD and Chamfer matrices. Every chunk
/// is verified against its receipt first; a missing, damaged or foreign chunk is an error that
/// names it and says how to complete the set.
pub fn read_distance_set(
    out: &Path,
) -> Result<(DistanceSetConfig, DistanceMatrices, DistanceMatrices)> {
    let manifest = out.join(DISTANCES_MANIFEST);
    let config = DistanceSetConfig::read(&manifest)?;
    check_fits_in_memory(
        &manifest,
        "reading the distance set",
        config.bytes_to_read(),
    )?;
    let id = JobId::of_manifest(&manifest)?;
    // Grown as verified chunks are read, not sized from the manifest up front.
    let (mut emd, mut cd) = (Vec::new(), Vec::new());
    for c in 0..config.chunks() {
        let name = DistanceSetConfig::chunk_name(c);
        verify_for_read(out, &id, c, &name, "distance set")?;
        for row in config.read_chunk(c, &out.join(&name))?.chunks_exact(2) {
            emd.push(row[0]);
            cd.push(row[1]);
        }
    }
    let (nr, ng) = (config.n_reference, config.n_generated);
    let emd = DistanceMatrices::from_values(nr, ng, &emd);
    let cd = DistanceMatrices::from_values(nr, ng, &cd);
    Ok((config, emd, cd))
}

/// The generation metrics of a complete distance set (see [`read_distance_set`]).
pub fn distance_set_metrics(out: &Path) -> Result<GenerationMetrics> {
    let start = Instant::now();
    let (config, emd, cd) = read_distance_set(out)?;
    Ok(GenerationMetrics::from_matrices(
        &emd,
        &cd,
        config.points,
        start.elapsed().as_secs_f64(),
    ))
}

/// A distance set as `deepemd_data::sharding::merge_shards` sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct DistanceSetOutput;

impl ShardedOutput for DistanceSetOutput {
    fn manifest_name(&self) -> &'static str {
        DISTANCES_MANIFEST
    }

    fn unit_files(&self, manifest: &Path) -> deepemd_data::Result<Vec<String>> {
        let config = DistanceSetConfig::read(manifest).map_err(into_data)?;
        Ok((0..config.chunks())
            .map(DistanceSetConfig::chunk_name)
            .collect())
    }

    fn check_unit(&self, manifest: &Path, unit: usize, path: &Path) -> deepemd_data::Result<()> {
        let config = DistanceSetConfig::read(manifest).map_err(into_data)?;
        config.read_chunk(unit, path).map(drop).map_err(into_data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation_metrics::{Search, generation_metrics_with};

    fn clouds(count: usize, shift: f64) -> Vec<PointCloud> {
        (0..count)
            .map(|k| {
                let pts: Vec<[f64; 3]> = (0..12)
                    .map(|i| {
                        let t = (i * 7 + k * 3) as f64;
                        [t.sin() + shift, (1.3 * t).cos(), 0.1 * k as f64]
                    })
                    .collect();
                PointCloud::from_points(&pts).unwrap()
            })
            .collect()
    }

    #[test]
    fn sharded_chunks_give_the_metrics_of_the_in_memory_computation() {
        let (r, g) = (clouds(5, 0.0), clouds(4, 0.3));
        let names = ("r", "g");
        let config = DistanceSetConfig::new(&r, &g, names, 4).unwrap();
        assert_eq!(config.jobs(), 5 * 4 + 10 + 6);
        assert_eq!(config.chunks(), 9);
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            let shard = Shard::new(i, 3).unwrap();
            let report = compute_distance_set(
                &r,
                &g,
                &config,
                dir.path(),
                shard,
                &|_, _| {},
                &AtomicBool::new(false),
            )
            .unwrap();
            assert_eq!((report.units, report.skipped), (3, 0));
        }
        let from_disk = distance_set_metrics(dir.path()).unwrap();
        // The brute force solves every pair, as the distance set does; a distance set keeps
        // no clouds, so no JSD.
        let direct = generation_metrics_with(&r, &g, names, Search::BruteForce, &|| {}).unwrap();
        assert_eq!(
            GenerationMetrics {
                seconds: 0.0,
                ..from_disk
            },
            GenerationMetrics {
                seconds: 0.0,
                jsd: None,
                ..direct
            }
        );
        // A rerun skips everything; other clouds in the same folder are refused.
        let report = compute_distance_set(
            &r,
            &g,
            &config,
            dir.path(),
            Shard::WHOLE,
            &|_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!((report.skipped, report.items_made), (9, 0));
        let other = DistanceSetConfig::new(&g, &r, names, 4).unwrap();
        let e = compute_distance_set(
            &g,
            &r,
            &other,
            dir.path(),
            Shard::WHOLE,
            &|_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("other settings"), "{e}");
        // A missing chunk is named.
        std::fs::remove_file(dir.path().join("distances-00004.npy")).unwrap();
        let e = distance_set_metrics(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("distances-00004.npy: not trusted: missing"),
            "{e}"
        );
    }
}

//! `prepare-pairs`: pairs with exact matchings, written in shards that can be resumed.
//!
//! Shard `k` is generated from its own random stream (seed, stream `k`), so it is the same
//! whether it is made in one run or after an interruption; each shard is written atomically,
//! and recorded by its receipt, so a killed run leaves only complete shards, and a rerun skips
//! those that verify: nothing lost, nothing duplicated, nothing stale or damaged trusted. A run
//! can also be one shard of N (see [`crate::sharding`]), making only the shard files `k` with
//! `k mod N = I`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use deepemd_core::EmdEstimator;

use super::generator::{PairGenerator, PairMix};
use super::labeled::{draw_pairs, label_pairs};
use super::shard::PairShard;
use crate::error::{Error, Result};
use crate::formats::read_text;
use crate::hdf5::ShapeFile;
use crate::sharding::{
    JobId, MAX_UNITS, Shard, ShardedOutput, UnitJob, ensure_manifest, run_units, verify_unit,
};

/// Everything that determines the pairs; saved as `pairs.json` beside the shards.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PairsConfig {
    /// Where the shapes came from (recorded, and compared on resume).
    pub source: String,
    /// The shapes' [`ShapeFile::fingerprint`]: a rerun on other shapes under the same path is
    /// another job.
    pub shapes_sha256: String,
    /// Points per cloud.
    pub points: usize,
    /// Total pairs.
    pub pairs: usize,
    /// Pairs per shard.
    pub shard_size: usize,
    /// Seed of the pair stream.
    pub seed: u64,
    /// Proportions of the pair kinds.
    pub mix: PairMix,
}

impl PairsConfig {
    /// Checks the settings.
    pub fn check(&self) -> Result<()> {
        if self.points == 0 || self.pairs == 0 || self.shard_size == 0 {
            return Err(Error::InvalidParameter(
                "points, pairs and shard size must be at least 1".into(),
            ));
        }
        if self.shards() > MAX_UNITS {
            return Err(Error::InvalidParameter(format!(
                "{} pairs in shards of {} make {} shard files, more than the {MAX_UNITS} one job \
                 may have: choose a larger --shard-size",
                self.pairs,
                self.shard_size,
                self.shards()
            )));
        }
        self.mix.check()
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.pairs.div_ceil(self.shard_size)
    }

    /// Pairs in shard file `k`.
    pub fn shard_len(&self, k: usize) -> usize {
        self.shard_size.min(self.pairs - k * self.shard_size)
    }

    /// File name of shard `k`.
    pub fn shard_name(k: usize) -> String {
        format!("pairs-{k:05}.h5")
    }

    /// Path of shard `k` under `out`.
    pub fn shard_path(out: &Path, k: usize) -> PathBuf {
        out.join(Self::shard_name(k))
    }

    /// Reads a pair set's manifest (`pairs.json`).
    pub fn read(manifest: &Path) -> Result<Self> {
        let config: Self = serde_json::from_str(&read_text(manifest)?)
            .map_err(|e| Error::format(manifest, format!("not a pair-set description ({e})")))?;
        // `check` bounds the shard count too, before anything is sized from it.
        config
            .check()
            .map_err(|e| Error::format(manifest, e.to_string()))?;
        Ok(config)
    }

    /// Reads `path` as shard file `k` of this set: readable, with as many pairs as shard `k` has,
    /// of the right size.
    pub fn check_shard(&self, k: usize, path: &Path) -> Result<PairShard> {
        let shard = PairShard::read(path)?;
        if shard.len() != self.shard_len(k) || shard.n != self.points {
            return Err(Error::format(
                path,
                format!(
                    "holds {} pairs of {} points; shard {k} of this set has {} of {}",
                    shard.len(),
                    shard.n,
                    self.shard_len(k),
                    self.points
                ),
            ));
        }
        Ok(shard)
    }
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct PrepareReport {
    /// Shard files this run is responsible for (all of them when unsharded).
    pub shards: usize,
    /// Of those, the ones found complete and skipped.
    pub skipped: usize,
    /// Pairs made by this run.
    pub pairs_made: usize,
    /// Shard files that were there but not trusted (see `sharding::receipt`), made again.
    pub remade: usize,
    /// Why the first of those was not trusted.
    pub first_remade: Option<String>,
    /// Wall time of this run.
    pub seconds: f64,
}

/// Makes (or completes) the pair set under `out`, labeling pairs with the exact `solver`; with
/// a `shard` other than [`Shard::WHOLE`], only the shard files that shard owns (see
/// [`crate::sharding`]): the union of the N shards' folders is the set one run makes.
/// `progress(done, total)` counts this run's pairs, skipped shard files included.
pub fn prepare_pairs(
    pool: &ShapeFile,
    config: &PairsConfig,
    out: &Path,
    solver: &dyn EmdEstimator,
    shard: Shard,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<PrepareReport> {
    config.check()?;
    if config.shapes_sha256 != pool.fingerprint() {
        return Err(Error::InvalidParameter(format!(
            "the pair-set settings name other shapes than the ones given ({}): make the \
             settings from these shapes (PairsConfig::shapes_sha256 = pool.fingerprint())",
            config.source
        )));
    }
    let start = Instant::now();
    crate::formats::create_folder(out)?;
    let id = ensure_manifest(&out.join(PAIRS_MANIFEST), config, "pairs")?;
    let job = PairJob {
        config,
        generator: PairGenerator::new(pool, config.points, config.mix)?,
        dim: pool.dim,
        solver,
    };
    let run = run_units(&job, out, &id, shard, progress)?;
    Ok(PrepareReport {
        shards: run.owned,
        skipped: run.skipped,
        pairs_made: run.items_made,
        remade: run.remade,
        first_remade: run.first_remade,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The pair set as a job of shard files.
struct PairJob<'a> {
    config: &'a PairsConfig,
    generator: PairGenerator<'a>,
    dim: usize,
    solver: &'a dyn EmdEstimator,
}

impl UnitJob for PairJob<'_> {
    type Error = Error;

    fn units(&self) -> usize {
        self.config.shards()
    }

    fn unit_name(&self, k: usize) -> String {
        PairsConfig::shard_name(k)
    }

    fn unit_items(&self, k: usize) -> usize {
        self.config.shard_len(k)
    }

    fn check(&self, k: usize, path: &Path) -> Result<()> {
        self.config.check_shard(k, path).map(drop)
    }

    fn make(&self, k: usize, path: &Path, tick: &(dyn Fn() + Sync)) -> Result<()> {
        let (config, size) = (self.config, self.config.shard_len(k));
        let pairs = draw_pairs(&self.generator, config.seed, k as u64, size)?;
        let labeled = label_pairs(pairs, self.solver, tick)?;
        let mut shard = PairShard::new(config.points, self.dim);
        for p in &labeled {
            let matching = p.matching.as_bijection().ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "the solver {} returned no bijection for clouds of {} points: pairs are \
                     labeled by an exact solver of the assignment problem",
                    self.solver.name(),
                    config.points
                ))
            })?;
            shard.push(&p.a, &p.b, matching, p.emd, p.kind);
        }
        shard.write(path)
    }
}

/// The file name of a pair set's manifest.
pub const PAIRS_MANIFEST: &str = "pairs.json";

/// A pair set as [`crate::sharding::merge_shards`] sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PairSetOutput;

impl ShardedOutput for PairSetOutput {
    fn manifest_name(&self) -> &'static str {
        PAIRS_MANIFEST
    }

    fn unit_files(&self, manifest: &Path) -> Result<Vec<String>> {
        let config = PairsConfig::read(manifest)?;
        Ok((0..config.shards()).map(PairsConfig::shard_name).collect())
    }

    fn check_unit(&self, manifest: &Path, unit: usize, path: &Path) -> Result<()> {
        PairsConfig::read(manifest)?
            .check_shard(unit, path)
            .map(drop)
    }
}

/// Reads every shard of a pair set, in order, each verified against its receipt first (a shard
/// missing, damaged, or left by another job is an error naming it).
pub fn read_pair_set(out: &Path) -> Result<Vec<PairShard>> {
    let manifest = out.join(PAIRS_MANIFEST);
    let config = PairsConfig::read(&manifest)?;
    let id = JobId::of_manifest(&manifest)?;
    (0..config.shards())
        .map(|k| {
            verify_unit(out, &id, k, &PairsConfig::shard_name(k)).map_err(|e| {
                Error::format(
                    out,
                    format!(
                        "incomplete pair set ({e}); rerun `deepemd prepare-pairs` with the same \
                         settings on this folder: it remakes what is missing or damaged"
                    ),
                )
            })?;
            config.check_shard(k, &PairsConfig::shard_path(out, k))
        })
        .collect()
}

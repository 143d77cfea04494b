//! `prepare-pairs`: pairs with exact matchings, written in shards that can be resumed.
//!
//! Shard `k` is generated from its own random stream (seed, stream `k`), so it is the same
//! whether it is made in one run or after an interruption; each shard is written atomically,
//! so a killed run leaves only complete shards, and a rerun skips them: nothing lost, nothing
//! duplicated. A run can also be one shard of N (see [`crate::sharding`]), making only the
//! shard files `k` with `k mod N = I`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use deepemd_core::EmdEstimator;

use super::generator::{PairGenerator, PairMix};
use super::labeled::{draw_pairs, label_pairs};
use super::shard::PairShard;
use crate::error::{Error, Result};
use crate::formats::read_text;
use crate::hdf5::ShapeFile;
use crate::sharding::{Shard, ShardedOutput, UnitJob, ensure_manifest, run_units};

/// Most shard files a pair set may have (a bound on what a manifest read from disk may ask for).
pub const MAX_SHARD_FILES: usize = 10_000_000;

/// Everything that determines the pairs; saved as `pairs.json` beside the shards.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PairsConfig {
    /// Where the shapes came from (recorded, and compared on resume).
    pub source: String,
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
        config
            .check()
            .map_err(|e| Error::format(manifest, e.to_string()))?;
        if config.shards() > MAX_SHARD_FILES {
            return Err(Error::format(
                manifest,
                format!(
                    "describes {} shard files, more than the {MAX_SHARD_FILES} a set may have",
                    config.shards()
                ),
            ));
        }
        Ok(config)
    }

    /// Checks that `path` is a complete shard file `k` of this set: readable, with its pairs
    /// of the right size.
    pub fn check_shard(&self, k: usize, path: &Path) -> Result<()> {
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
        Ok(())
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
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    ensure_manifest(&out.join(PAIRS_MANIFEST), config, "pairs")?;
    let job = PairJob {
        config,
        generator: PairGenerator::new(pool, config.points, config.mix)?,
        dim: pool.dim,
        solver,
    };
    let run = run_units(&job, out, shard, progress)?;
    Ok(PrepareReport {
        shards: run.owned,
        skipped: run.skipped,
        pairs_made: run.items_made,
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

    fn is_complete(&self, k: usize, path: &Path) -> bool {
        self.config.check_shard(k, path).is_ok()
    }

    fn make(&self, k: usize, path: &Path, tick: &(dyn Fn() + Sync)) -> Result<()> {
        let (config, size) = (self.config, self.config.shard_len(k));
        let pairs = draw_pairs(&self.generator, config.seed, k as u64, size)?;
        let labeled = label_pairs(pairs, self.solver, tick)?;
        let mut shard = PairShard::new(config.points, self.dim);
        for p in &labeled {
            let matching = p
                .matching
                .as_bijection()
                .expect("equal sizes give a bijection");
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
        PairsConfig::read(manifest)?.check_shard(unit, path)
    }
}

/// Reads every shard of a pair set, in order.
pub fn read_pair_set(out: &Path) -> Result<Vec<PairShard>> {
    let config = PairsConfig::read(&out.join(PAIRS_MANIFEST))?;
    (0..config.shards())
        .map(|k| PairShard::read(&PairsConfig::shard_path(out, k)))
        .collect()
}

//! `prepare-pairs`: pairs with exact matchings, written in shards that can be resumed.
//!
//! Shard `k` is generated from its own random stream (seed, stream `k`), so it is the same
//! whether it is made in one run or after an interruption; each shard is written atomically,
//! so a killed run leaves only complete shards, and a rerun skips them: nothing lost, nothing
//! duplicated.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use deepemd_core::EmdEstimator;

use super::generator::{PairGenerator, PairMix};
use super::labeled::{draw_pairs, label_pairs};
use super::shard::PairShard;
use crate::error::{Error, Result};
use crate::formats::{read_text, write_atomic};
use crate::hdf5::ShapeFile;

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

    /// Path of shard `k` under `out`.
    pub fn shard_path(out: &Path, k: usize) -> PathBuf {
        out.join(format!("pairs-{k:05}.h5"))
    }
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct PrepareReport {
    /// Shards in the set.
    pub shards: usize,
    /// Shards found complete and skipped.
    pub skipped: usize,
    /// Pairs made by this run.
    pub pairs_made: usize,
    /// Wall time of this run.
    pub seconds: f64,
}

/// Makes (or completes) the pair set under `out`, labeling pairs with the exact `solver`.
/// `progress(done, total)` counts pairs, skipped shards included.
pub fn prepare_pairs(
    pool: &ShapeFile,
    config: &PairsConfig,
    out: &Path,
    solver: &dyn EmdEstimator,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<PrepareReport> {
    config.check()?;
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let manifest = out.join("pairs.json");
    if manifest.exists() {
        let old: PairsConfig = serde_json::from_str(&read_text(&manifest)?)
            .map_err(|e| Error::format(&manifest, format!("not a pair-set description ({e})")))?;
        if &old != config {
            return Err(Error::format(
                &manifest,
                "this folder holds pairs made with other settings; choose another output folder or delete it",
            ));
        }
    } else {
        let text = serde_json::to_string_pretty(config).expect("the config serializes");
        write_atomic(&manifest, text.as_bytes())?;
    }
    let generator = PairGenerator::new(pool, config.points, config.mix)?;
    let done = AtomicUsize::new(0);
    let mut report = PrepareReport {
        shards: config.shards(),
        skipped: 0,
        pairs_made: 0,
        seconds: 0.0,
    };
    for k in 0..config.shards() {
        let size = config.shard_size.min(config.pairs - k * config.shard_size);
        let path = PairsConfig::shard_path(out, k);
        if PairShard::read(&path).is_ok_and(|s| s.len() == size && s.n == config.points) {
            report.skipped += 1;
            progress(done.fetch_add(size, Ordering::Relaxed) + size, config.pairs);
            continue;
        }
        let pairs = draw_pairs(&generator, config.seed, k as u64, size)?;
        let labeled = label_pairs(pairs, solver, &|| {
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, config.pairs);
        })?;
        let mut shard = PairShard::new(config.points, pool.dim);
        for p in &labeled {
            let matching = p
                .matching
                .as_bijection()
                .expect("equal sizes give a bijection");
            shard.push(&p.a, &p.b, matching, p.emd, p.kind);
        }
        shard.write(&path)?;
        report.pairs_made += size;
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Reads every shard of a pair set, in order.
pub fn read_pair_set(out: &Path) -> Result<Vec<PairShard>> {
    let manifest = out.join("pairs.json");
    let config: PairsConfig = serde_json::from_str(&read_text(&manifest)?)
        .map_err(|e| Error::format(&manifest, format!("not a pair-set description ({e})")))?;
    (0..config.shards())
        .map(|k| PairShard::read(&PairsConfig::shard_path(out, k)))
        .collect()
}

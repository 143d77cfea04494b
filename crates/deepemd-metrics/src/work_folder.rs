//! The work folder of `gen-metrics --out` (and Python's `gen_metrics(out=...)`): which kind of
//! set it holds or will hold, its unit size, and a run that computes (or completes) it and reads
//! the metrics back, so that the CLI and Python resume the same folders the same way.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use deepemd_core::PointCloud;
use deepemd_data::sharding::Shard;

use crate::distance_set::{
    DISTANCES_MANIFEST, DistanceSetConfig, compute_distance_set, distance_set_metrics,
};
use crate::error::{Error, Result};
use crate::generation_metrics::GenerationMetrics;
use crate::jsd::jsd_of_sets;
use crate::nearest_set::{
    NEAREST_MANIFEST, NearestSetConfig, compute_nearest_set, nearest_set_metrics,
};
use crate::set_folder::SetReport;

/// Queries per unit file of a new nearest set.
pub const DEFAULT_QUERIES_PER_UNIT: usize = 64;
/// Cloud pairs per chunk file of a new distance set.
pub const DEFAULT_PAIRS_PER_CHUNK: usize = 256;

/// The kind of set a work folder holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkFolder {
    /// The pruned search's answers (`nearest.json`, `nearest-UUUUU.json`).
    Nearest,
    /// Every distance (`distances.json`, `distances-CCCCC.npy`; the brute force).
    Distances,
}

impl WorkFolder {
    /// The folder's own kind when it holds one (asking for the brute force in a folder of the
    /// pruned search's work is an error), else the one `brute_force` asks for.
    pub fn choose(out: &Path, brute_force: bool) -> Result<Self> {
        let nearest = out.join(NEAREST_MANIFEST).exists();
        let distances = out.join(DISTANCES_MANIFEST).exists();
        let at = out.display();
        match (nearest, distances, brute_force) {
            (true, true, _) => Err(Error::Config(format!(
                "{at}: holds both {NEAREST_MANIFEST} and {DISTANCES_MANIFEST}; use another folder"
            ))),
            (true, false, true) => Err(Error::Config(format!(
                "{at}: holds the pruned search's work ({NEAREST_MANIFEST}); complete it without \
                 the brute force (--brute-force, brute_force=True), or use another folder"
            ))),
            (false, true, _) | (false, false, true) => Ok(Self::Distances),
            _ => Ok(Self::Nearest),
        }
    }

    /// The manifest of this kind in `out`.
    pub fn manifest(self, out: &Path) -> PathBuf {
        out.join(match self {
            Self::Nearest => NEAREST_MANIFEST,
            Self::Distances => DISTANCES_MANIFEST,
        })
    }

    /// What one unit file is called, and what it holds.
    pub fn unit_words(self) -> (&'static str, &'static str) {
        match self {
            Self::Nearest => ("unit", "queries"),
            Self::Distances => ("chunk", "cloud pairs"),
        }
    }

    /// Items per unit file: `given`, else the folder's own (so that a final run after shards
    /// need not repeat the shards' setting), else the default.
    pub fn unit_size(self, out: &Path, given: Option<usize>) -> Result<usize> {
        let manifest = self.manifest(out);
        match (given, self) {
            (Some(0), _) => Err(Error::Config("the unit size must be at least 1".into())),
            (Some(size), _) => Ok(size),
            (None, Self::Nearest) if manifest.exists() => {
                Ok(NearestSetConfig::read(&manifest)?.queries_per_unit)
            }
            (None, Self::Distances) if manifest.exists() => {
                Ok(DistanceSetConfig::read(&manifest)?.chunk_size)
            }
            (None, Self::Nearest) => Ok(DEFAULT_QUERIES_PER_UNIT),
            (None, Self::Distances) => Ok(DEFAULT_PAIRS_PER_CHUNK),
        }
    }

    /// Computes (or completes) `shard` of the work in `out` with `unit_size` items per unit;
    /// `progress(done, total)` counts items; `stop` interrupts it between items
    /// ([`Error::Interrupted`]; the units written stand).
    #[allow(clippy::too_many_arguments)]
    pub fn compute(
        self,
        reference: &[PointCloud],
        generated: &[PointCloud],
        names: (&str, &str),
        out: &Path,
        shard: Shard,
        unit_size: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
        stop: &AtomicBool,
    ) -> Result<SetReport> {
        match self {
            Self::Nearest => {
                let config = NearestSetConfig::new(reference, generated, names, unit_size)?;
                compute_nearest_set(reference, generated, &config, out, shard, progress, stop)
            }
            Self::Distances => {
                let config = DistanceSetConfig::new(reference, generated, names, unit_size)?;
                compute_distance_set(reference, generated, &config, out, shard, progress, stop)
            }
        }
    }

    /// The metrics of the complete set in `out` (every unit verified), with the JSD of the
    /// clouds (the folder keeps none) and `seconds` of computing added to the read's.
    pub fn metrics(
        self,
        out: &Path,
        reference: &[PointCloud],
        generated: &[PointCloud],
        seconds: f64,
    ) -> Result<GenerationMetrics> {
        let mut m = match self {
            Self::Nearest => nearest_set_metrics(out)?,
            Self::Distances => distance_set_metrics(out)?,
        };
        m.seconds += seconds;
        m.jsd = jsd_of_sets(reference, generated);
        Ok(m)
    }
}

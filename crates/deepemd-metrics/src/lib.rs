//! # deepemd-metrics
//!
//! The generation metrics of Yang et al. (PointFlow) — MMD, COV and 1-NNA, with PointFlow's
//! per-set splits and JSD — between a set of reference clouds and a set of generated ones, with
//! the **exact** EMD and with the Chamfer distance ([`generation_metrics`]). The EMD's nearest
//! neighbours come from a pruned search: certified lower bounds ([`CloudSketch`],
//! `deepemd_solvers::dual_lower_bound`) exclude most candidates, so few pairs are solved, and
//! the metrics equal the brute force's to the bit. On disk, for long and sharded runs
//! (`deepemd gen-metrics --out DIR --shard I/N`): a *nearest set* ([`compute_nearest_set`]:
//! the pruned search's answers, query by query) or, with `--brute-force`, a *distance set*
//! ([`compute_distance_set`]: every distance) — unit files that a rerun resumes, that N jobs of a
//! batch scheduler share out, and that are trusted only after their receipts verify (see
//! `deepemd_data::sharding`).
//!
//! ```
//! use deepemd_core::PointCloud;
//! use deepemd_metrics::generation_metrics;
//! let cloud = |x: f64| PointCloud::from_points(&[[x, 0.0, 0.0], [x, 1.0, 0.0]]);
//! let reference = vec![cloud(0.0)?, cloud(5.0)?];
//! let generated = vec![cloud(0.1)?, cloud(4.8)?];
//! let m = generation_metrics(&reference, &generated, ("reference", "generated"), &|| {})?;
//! assert!((m.mmd_emd - 0.15).abs() < 1e-12); // (0.1 + 0.2) / 2
//! assert_eq!(m.cov_emd, 1.0);
//! assert_eq!(m.pairs, 6); // 2·2 + 1 + 1 EMDs in the definitions
//! assert!(m.exact_solves <= m.pairs);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `deepemd gen-metrics`, `deepemd merge-shards` and the Python `deepemd.gen_metrics` are the
//! commands on this crate. It depends on core, solvers and data only: no candle.

mod bounds;
mod chamfer;
mod distance_set;
mod error;
mod generation_metrics;
mod jsd;
mod nearest;
mod nearest_index;
mod nearest_set;
mod pair_jobs;
mod pointflow;
mod set_folder;
mod set_metrics;
mod watch;
mod work_folder;

pub use bounds::{CloudSketch, directions};
pub use chamfer::{chamfer_distance, nearest_distance_bound};
pub use distance_set::{
    DISTANCES_MANIFEST, DistanceSetConfig, DistanceSetOutput, compute_distance_set,
    distance_set_metrics, read_distance_set,
};
pub use error::{Error, Result};
pub use generation_metrics::{
    GenerationMetrics, Search, Sizes, check_sets, exact_emd, generation_metrics,
    generation_metrics_watched, generation_metrics_with, progress_steps,
};
pub use jsd::{JSD_RESOLUTION, jsd_of_sets};
pub use nearest_set::{
    NEAREST_MANIFEST, NearestSetConfig, NearestSetOutput, compute_nearest_set, nearest_set_metrics,
};
pub use pair_jobs::{PairJob, pair_count, pair_jobs, pair_jobs_in};
pub use pointflow::{pointflow_json, pointflow_keys};
pub use set_folder::SetReport;
pub use set_metrics::{DistanceMatrices, SetMetrics, distance_matrices, set_metrics};
pub use watch::Watch;
pub use work_folder::{DEFAULT_PAIRS_PER_CHUNK, DEFAULT_QUERIES_PER_UNIT, WorkFolder};

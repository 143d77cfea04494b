//! Splitting a long job into N deterministic slices for a batch scheduler (Slurm job arrays,
//! Kubernetes Indexed Jobs), proving each slice's files, and merging their output folders.
//!
//! A sharded job writes a *manifest* (its settings, the same bytes in every shard) and one file
//! per *unit* of work, named by the unit's index alone. Shard `I` of `N` makes the units `k`
//! with `k mod N = I`: round-robin, so every shard gets an equal share even when the cost of the
//! units drifts along the job. Each unit file is written atomically and is followed by its
//! *receipt* ([`receipt`]: the job's identity — the SHA-256 of the manifest —, the unit's index
//! and the SHA-256 of the file's bytes). A file is trusted only when its receipt verifies: a
//! rerun skips those and makes every other unit again (interrupted, damaged, or left by another
//! job), a merge copies only verified files, and a final read refuses anything else. The union
//! of the N folders is exactly what one unsharded run writes, and [`merge_shards`] checks that
//! union — no unit missing, every copy verified, copies of one unit identical — before copying
//! it into one folder; merging again is harmless.

mod manifest;
mod merge;
pub mod receipt;
mod shard;
mod units;

pub use manifest::{JobId, MAX_UNITS, check_unit_count, ensure_manifest, hex, sha256_hex};
pub use merge::{MergeReport, ShardedOutput, merge_shards};
pub use receipt::{Receipt, verify_unit};
pub use shard::Shard;
pub use units::{UnitJob, UnitsRun, remove_stale_temporaries, run_units};

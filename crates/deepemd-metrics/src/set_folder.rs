//! What the two kinds of set folder of `gen-metrics --out` share — a distance set
//! (`distance_set.rs`) and a nearest set (`nearest_set.rs`): the report of a run, the identity of
//! the sets, the checks of a manifest read from disk, the final read's verification.

use std::path::Path;
use std::time::Instant;

use deepemd_core::PointCloud;
use deepemd_data::sharding::{JobId, UnitsRun, verify_unit};
use sha2::{Digest, Sha256};

use crate::distance_set::MAX_SET_CLOUDS;
use crate::error::{Error, Result};

/// What a run of `compute_distance_set` or `compute_nearest_set` did.
#[derive(Clone, Debug, PartialEq)]
pub struct SetReport {
    /// Unit files (chunks, or blocks of queries) this run is responsible for (all of them when
    /// unsharded).
    pub units: usize,
    /// Of those, the ones found complete and skipped.
    pub skipped: usize,
    /// Items (cloud pairs, or queries) computed by this run.
    pub items_made: usize,
    /// Unit files that were there but not trusted (no receipt, another job's, damaged), made
    /// again.
    pub remade: usize,
    /// Why the first of those was not trusted.
    pub first_remade: Option<String>,
    /// Wall time of this run.
    pub seconds: f64,
}

impl SetReport {
    /// The report of `run`, started at `start`.
    pub(crate) fn of(run: UnitsRun, start: Instant) -> Self {
        Self {
            units: run.owned,
            skipped: run.skipped,
            items_made: run.items_made,
            remade: run.remade,
            first_remade: run.first_remade,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

/// A manifest's settings, parsed from `text` (read from `manifest`); `what` names the kind in
/// the error.
pub(crate) fn parse_manifest<T: serde::de::DeserializeOwned>(
    manifest: &Path,
    text: &str,
    what: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::Data(deepemd_data::Error::format(
            manifest,
            format!("not a {what} description ({e})"),
        ))
    })
}

/// Unit `unit` (`name`) of the complete set in `out`, verified against its receipt before a
/// final read; the error says how to complete the `what`.
pub(crate) fn verify_for_read(
    out: &Path,
    id: &JobId,
    unit: usize,
    name: &str,
    what: &str,
) -> Result<()> {
    verify_unit(out, id, unit, name).map_err(|e| {
        Error::Data(deepemd_data::Error::format(
            out,
            format!(
                "incomplete {what} ({e}); rerun `deepemd gen-metrics --out` on this folder (it \
                 remakes what is missing or damaged), or, after a sharded run, merge the shard \
                 folders first (`deepemd merge-shards`)"
            ),
        ))
    })?;
    Ok(())
}

/// Checks the sets a manifest read from disk describes, `(reference clouds, generated clouds,
/// points, dimension)`: 1 to [`MAX_SET_CLOUDS`] clouds of at least one 2-D or 3-D point.
pub(crate) fn check_described_sets(
    manifest: &Path,
    (nr, ng, points, dim): (usize, usize, usize, usize),
) -> Result<()> {
    let bad = |m: String| Error::Data(deepemd_data::Error::format(manifest, m));
    if nr == 0 || ng == 0 || nr.max(ng) > MAX_SET_CLOUDS {
        return Err(bad(format!(
            "describes {nr} reference and {ng} generated clouds: the sets must hold 1 to \
             {MAX_SET_CLOUDS} clouds"
        )));
    }
    if !(dim == 2 || dim == 3) || points == 0 {
        return Err(bad(format!(
            "describes clouds of {points} {dim}-D points: clouds have at least 1 point, in 2 \
             or 3 dimensions"
        )));
    }
    Ok(())
}

/// SHA-256 of the clouds' coordinates, hex.
pub(crate) fn fingerprint(clouds: &[PointCloud]) -> String {
    let mut hash = Sha256::new();
    for cloud in clouds {
        for x in cloud.as_flat() {
            hash.update(x.to_le_bytes());
        }
    }
    deepemd_data::sharding::hex(&hash.finalize())
}

/// This crate's error as the data crate's (the merge works in those), keeping the file.
pub(crate) fn into_data(e: Error) -> deepemd_data::Error {
    match e {
        Error::Data(e) => e,
        Error::Io { path, source } => deepemd_data::Error::Io { path, source },
        other => deepemd_data::Error::InvalidParameter(other.to_string()),
    }
}

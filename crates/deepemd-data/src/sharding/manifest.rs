//! The manifest of a sharded job: its settings, written once per output folder and compared
//! on every rerun; its SHA-256 is the job's identity, which every unit's receipt carries.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::formats::{create_new_atomic, read_bytes};
use crate::settings::setting_differences;

/// Most unit files one job may have. Everything sized from a manifest read from disk (the list
/// of unit names, a merge's bookkeeping) is bounded by this before it is allocated: a crafted
/// manifest must be an error, not a request for terabytes.
pub const MAX_UNITS: usize = 1 << 20;

/// Checks a unit count read from `manifest` against [`MAX_UNITS`].
pub fn check_unit_count(manifest: &Path, units: usize, what: &str) -> Result<()> {
    if units > MAX_UNITS {
        return Err(Error::format(
            manifest,
            format!(
                "describes {units} {what}, more than the {MAX_UNITS} one job may have (use \
                 larger units)"
            ),
        ));
    }
    Ok(())
}

/// The identity of a job: the SHA-256 (hex) of its manifest's bytes. Two folders hold units of
/// one job exactly when their manifests are byte-identical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobId(pub(crate) String);

impl JobId {
    /// The identity of the job whose manifest is at `manifest`.
    pub fn of_manifest(manifest: &Path) -> Result<Self> {
        Ok(Self(sha256_hex(&read_bytes(manifest)?)))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A digest as lower-case hex: how every SHA-256 of the workspace is written down.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `config` as the manifest at `path`, or, when one is there, checks that it holds the
/// same settings: a rerun resumes only what the same settings started. Returns the job's
/// identity, the SHA-256 of the very bytes written or compared (so that two runs of different
/// settings starting on one folder at once cannot record units under each other's identity:
/// the manifest is created without replacing, and the loser compares). `what` names the job in
/// the error ("pairs", "distances"), which lists each setting that differs.
pub fn ensure_manifest<T>(path: &Path, config: &T, what: &str) -> Result<JobId>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
{
    let text = serde_json::to_string_pretty(config).expect("a manifest serializes");
    if !path.exists() && create_new_atomic(path, text.as_bytes())? {
        return Ok(JobId(sha256_hex(text.as_bytes())));
    }
    let bytes = read_bytes(path)?;
    {
        // Parsed from the bytes that are hashed (a byte-order mark aside).
        let json = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let old: T = serde_json::from_slice(json)
            .map_err(|e| Error::format(path, format!("not a description of {what} ({e})")))?;
        if &old != config {
            return Err(Error::format(
                path,
                format!(
                    "this folder holds {what} made with other settings (in the folder → given: \
                     {}); rerun with the folder's settings to resume it, or choose another output \
                     folder",
                    setting_differences(&old, config, &[]).join(", ")
                ),
            ));
        }
    }
    Ok(JobId(sha256_hex(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Inner {
        a: f64,
        b: u32,
    }

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Settings {
        chunk_size: usize,
        hash: String,
        mix: Inner,
    }

    fn settings() -> Settings {
        Settings {
            chunk_size: 256,
            hash: "0123456789abcdef0123456789abcdef".into(),
            mix: Inner { a: 0.5, b: 3 },
        }
    }

    #[test]
    fn a_rerun_with_other_settings_names_each_differing_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.json");
        let first = ensure_manifest(&path, &settings(), "things").unwrap();
        assert_eq!(
            first,
            ensure_manifest(&path, &settings(), "things").unwrap()
        );
        assert_eq!(first, JobId::of_manifest(&path).unwrap());
        let mut other = settings();
        other.chunk_size = 64;
        other.mix.b = 4;
        other.hash = "f".repeat(32);
        let e = ensure_manifest(&path, &other, "things")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("(in the folder → given: chunk_size: 256 → 64, hash:"),
            "{e}"
        );
        assert!(e.contains("mix.b: 3 → 4"), "{e}");
        assert!(!e.contains("mix.a"), "{e}");
        // The manifest of the first settings is untouched.
        assert_eq!(first, JobId::of_manifest(&path).unwrap());
    }

    #[test]
    fn unit_counts_beyond_the_bound_are_refused_naming_the_manifest() {
        let p = Path::new("x/job.json");
        check_unit_count(p, MAX_UNITS, "chunks").unwrap();
        let e = check_unit_count(p, MAX_UNITS + 1, "chunks")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x/job.json: describes 1048577 chunks"), "{e}");
    }
}

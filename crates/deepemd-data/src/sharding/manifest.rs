//! The manifest of a sharded job: its settings, written once per output folder and compared
//! on every rerun; its SHA-256 is the job's identity, which every unit's receipt carries.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::formats::{read_bytes, read_text, write_atomic};

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
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `config` as the manifest at `path`, or, when one is there, checks that it holds the
/// same settings: a rerun resumes only what the same settings started. Returns the job's
/// identity. `what` names the job in the error ("pairs", "distances"), which lists each setting
/// that differs.
pub fn ensure_manifest<T>(path: &Path, config: &T, what: &str) -> Result<JobId>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
{
    if path.exists() {
        let old: T = serde_json::from_str(&read_text(path)?)
            .map_err(|e| Error::format(path, format!("not a description of {what} ({e})")))?;
        if &old != config {
            return Err(Error::format(
                path,
                format!(
                    "this folder holds {what} made with other settings ({}); rerun with the \
                     folder's settings to resume it, or choose another output folder",
                    settings_differences(&old, config).join(", ")
                ),
            ));
        }
    } else {
        let text = serde_json::to_string_pretty(config).expect("a manifest serializes");
        write_atomic(path, text.as_bytes())?;
    }
    JobId::of_manifest(path)
}

/// Each setting that differs between the `folder`'s and the `given` ones, as
/// `"name: X in the folder, Y given"` (nested settings as `outer.inner`; long values cut).
pub fn settings_differences<T: serde::Serialize>(folder: &T, given: &T) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(folder).expect("settings serialize"),
        serde_json::to_value(given).expect("settings serialize"),
    );
    let mut out = Vec::new();
    differences("", &a, &b, &mut out);
    if out.is_empty() {
        out.push("they differ".into());
    }
    out
}

fn differences(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let name = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(&name, p, q, out);
            }
        }
        _ if a != b => out.push(format!(
            "{at}: {} in the folder, {} given",
            short(a),
            short(b)
        )),
        _ => {}
    }
}

/// A value as JSON, cut to 20 characters (hashes are long and need no more to differ).
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(20) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
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
        assert!(e.contains("chunk_size: 256 in the folder, 64 given"), "{e}");
        assert!(e.contains("mix.b: 3 in the folder, 4 given"), "{e}");
        assert!(
            e.contains("hash: \"0123456789abcdef012… in the folder"),
            "{e}"
        );
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

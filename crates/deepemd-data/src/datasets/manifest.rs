//! `datasets/cgal/manifest.tsv`: which meshes, their category, split, checksum and license.

use std::path::Path;

use crate::error::{Error, Result};
use crate::formats::read_text;

/// One mesh of the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshEntry {
    /// File name inside the meshes folder.
    pub file: String,
    /// Category (the class label of its shapes).
    pub category: String,
    /// `train`, `test` or `heldout` (whole categories kept out of training).
    pub split: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Source and license.
    pub license: String,
}

/// Reads the manifest: tab-separated `mesh category split sha256 license`, `#` comments.
pub fn read_manifest(path: &Path) -> Result<Vec<MeshEntry>> {
    let mut out = Vec::new();
    for (k, line) in read_text(path)?.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(Error::format(
                path,
                format!("line {}: expected 5 tab-separated fields", k + 1),
            ));
        }
        if !["train", "test", "heldout"].contains(&f[2]) {
            return Err(Error::format(
                path,
                format!("line {}: unknown split '{}'", k + 1, f[2]),
            ));
        }
        out.push(MeshEntry {
            file: f[0].into(),
            category: f[1].into(),
            split: f[2].into(),
            sha256: f[3].to_ascii_lowercase(),
            license: f[4].into(),
        });
    }
    if out.is_empty() {
        return Err(Error::format(path, "lists no meshes"));
    }
    Ok(out)
}

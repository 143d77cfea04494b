//! # deepemd-data
//!
//! Reading and writing point clouds: the file formats of [`formats`] (one implementation
//! each), atomic writes, and the dataset and training-pair machinery built on them.

#[cfg(feature = "hdf5")]
pub mod datasets;
mod error;
pub mod formats;
#[cfg(feature = "hdf5")]
pub mod hdf5;
mod header;
pub mod memory;
mod mesh;
mod pair_list;
#[cfg(feature = "hdf5")]
pub mod pairs;
mod settings;
pub mod sharding;

pub use error::{Error, Result};
pub use formats::{
    MeshFile, create_folder, read_cloud, read_mesh_file, write_atomic, write_atomic_with,
};
pub use mesh::Mesh;
pub use pair_list::{MAX_LISTED_PAIRS, read_pair_list};
pub use settings::setting_differences;

use std::path::Path;

use deepemd_core::PointCloud;

/// Reads a cloud named on the command line: a plain path (reader chosen by extension), or
/// `file.h5#K` for item K of dataset `data`, or `file.h5:dataset#K` for another dataset, or
/// `file.npy#K` for cloud K of a `(B, n, 2|3)` batch.
/// Only such a suffix after a file named `.h5`, `.hdf5` or `.hdf` selects an item: `data.h5.xyz`,
/// `out.h5/cloud.ply` and `scan#2.xyz` are read by their own extension.
///
/// ```no_run
/// let cloud = deepemd_data::read_cloud_spec("ply_data_test0.h5#12").unwrap();
/// ```
pub fn read_cloud_spec(spec: &str) -> Result<PointCloud> {
    if let Some((path, k)) = parse_npy_spec(spec) {
        return formats::read_npy_item(Path::new(path), k);
    }
    match parse_h5_spec(spec)? {
        Some((path, dataset, index)) => read_h5_item(Path::new(path), dataset, index),
        None => read_cloud(Path::new(spec)),
    }
}

/// Reads a batch of clouds named on the command line: a `(B, n, 2|3)` `.npy` file, or every
/// item of an HDF5 dataset (`file.h5` for dataset `data`, `file.h5:dataset` for another).
///
/// ```no_run
/// let clouds = deepemd_data::read_cloud_batch("ply_data_test0.h5").unwrap();
/// let more = deepemd_data::read_cloud_batch("generated.npy").unwrap();
/// ```
pub fn read_cloud_batch(spec: &str) -> Result<Vec<PointCloud>> {
    if let Some((path, dataset)) = split_h5(spec) {
        return read_h5_items(Path::new(path), dataset.unwrap_or("data"));
    }
    let path = Path::new(spec);
    let is_npy = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        return formats::read_npy_batch(path);
    }
    Err(Error::format(
        path,
        "a batch is a (B, n, 2|3) .npy file or an HDF5 dataset (file.h5 or file.h5:dataset)",
    ))
}

/// Splits `file.npy#K` into the path and the item; `None` for every other spec.
fn parse_npy_spec(spec: &str) -> Option<(&str, usize)> {
    let (path, k) = spec.rsplit_once('#')?;
    let is_npy = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let digits = !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit());
    (is_npy && digits).then(|| k.parse().ok().map(|k| (path, k)))?
}

/// Splits `file.h5[:dataset]#K` into the path and the item; `None` for every other path. A
/// spec that names an HDF5 file without a valid item is an error that shows the syntax.
fn parse_h5_spec(spec: &str) -> Result<Option<(&str, String, usize)>> {
    // A selector ends in digits, so no selector ends in a cloud format's extension.
    if has_cloud_extension(spec) {
        return Ok(None);
    }
    // The error names the file once (as every error does) and the spec only when it differs.
    let bad = |path: &str| {
        let given = if spec == path {
            String::new()
        } else {
            format!(" ('{spec}' selects none)")
        };
        Error::format(
            Path::new(path),
            format!(
                "select one cloud with #K (item K of dataset 'data') or :dataset#K after the \
                 file name{given}"
            ),
        )
    };
    if let Some((before, k)) = spec.rsplit_once('#')
        && !k.is_empty()
        && k.bytes().all(|c| c.is_ascii_digit())
        && let Some((path, dataset)) = split_h5(before)
    {
        let index = k.parse::<usize>().map_err(|_| bad(path))?;
        let dataset = dataset.unwrap_or("data");
        if dataset.is_empty() {
            return Err(bad(path));
        }
        let dataset = dataset.to_string();
        return Ok(Some((path, dataset, index)));
    }
    // Not a selector; a spec that still names an HDF5 file ("a.h5", "a.h5:data", "a.h5#x")
    // lacks its item.
    let named = split_h5(spec).or_else(|| {
        spec.rsplit_once('#')
            .filter(|(_, after)| !after.contains(['/', '\\']))
            .and_then(|(before, _)| split_h5(before))
    });
    match named {
        Some((path, _)) => Err(bad(path)),
        None => Ok(None),
    }
}

#[cfg(feature = "hdf5")]
fn read_h5_item(path: &Path, dataset: String, index: usize) -> Result<PointCloud> {
    hdf5::read_h5_item(path, &hdf5::H5Item { dataset, index })
}

#[cfg(feature = "hdf5")]
fn read_h5_items(path: &Path, dataset: &str) -> Result<Vec<PointCloud>> {
    hdf5::read_h5_items(path, dataset)
}

#[cfg(not(feature = "hdf5"))]
fn read_h5_item(path: &Path, _: String, _: usize) -> Result<PointCloud> {
    Err(no_hdf5(path))
}

#[cfg(not(feature = "hdf5"))]
fn read_h5_items(path: &Path, _: &str) -> Result<Vec<PointCloud>> {
    Err(no_hdf5(path))
}

/// The error of an HDF5 path in a build without the `hdf5` feature.
#[cfg(not(feature = "hdf5"))]
fn no_hdf5(path: &Path) -> Error {
    Error::format(
        path,
        "this build reads no HDF5; rebuild with the default `hdf5` feature (it needs the system \
         HDF5 library, Debian: libhdf5-dev)",
    )
}

/// `s` as an HDF5 file, optionally followed by `:dataset`: the path and the dataset.
fn split_h5(s: &str) -> Option<(&str, Option<&str>)> {
    if is_h5_file(s) {
        return Some((s, None));
    }
    s.match_indices(':')
        .map(|(at, _)| at)
        .find(|&at| is_h5_file(&s[..at]))
        .map(|at| (&s[..at], Some(&s[at + 1..])))
}

/// Whether `s` names a file (not a folder) with an HDF5 extension.
fn is_h5_file(s: &str) -> bool {
    !s.ends_with(['/', '\\'])
        && Path::new(s)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["h5", "hdf5", "hdf"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether `s` ends in the extension of a format [`read_cloud`] reads.
fn has_cloud_extension(s: &str) -> bool {
    Path::new(s)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| formats::EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

//! # deepemd-data
//!
//! Reading and writing point clouds: the file formats of [`formats`] (one implementation
//! each), atomic writes, and the dataset and training-pair machinery built on them.

pub mod datasets;
mod error;
pub mod formats;
pub mod hdf5;
mod header;
mod mesh;
pub mod pairs;

pub use error::{Error, Result};
pub use formats::{read_cloud, write_atomic, write_atomic_with};
pub use mesh::Mesh;

use std::path::Path;

use deepemd_core::PointCloud;

/// Reads a cloud named on the command line: a plain path (reader chosen by extension), or
/// `file.h5#K` for item K of dataset `data`, or `file.h5:dataset#K` for another dataset.
///
/// ```no_run
/// let cloud = deepemd_data::read_cloud_spec("ply_data_test0.h5#12").unwrap();
/// ```
pub fn read_cloud_spec(spec: &str) -> Result<PointCloud> {
    match parse_h5_spec(spec)? {
        Some((path, item)) => hdf5::read_h5_item(Path::new(path), &item),
        None => read_cloud(Path::new(spec)),
    }
}

/// Splits `file.h5[:dataset]#K` into the path and the item; `None` for other files.
fn parse_h5_spec(spec: &str) -> Result<Option<(&str, hdf5::H5Item)>> {
    let lower = spec.to_ascii_lowercase();
    let Some(ext_end) = [".h5", ".hdf5", ".hdf"]
        .iter()
        .filter_map(|ext| lower.rfind(ext).map(|at| at + ext.len()))
        .max()
    else {
        return Ok(None);
    };
    let (path, rest) = spec.split_at(ext_end);
    let bad = || {
        Error::format(
            Path::new(path),
            format!("'{spec}': select one cloud with {path}#K or {path}:dataset#K"),
        )
    };
    let (dataset, index) = match rest.strip_prefix(':') {
        Some(r) => r.split_once('#').ok_or_else(bad)?,
        None if rest.is_empty() => return Err(bad()),
        None => ("data", rest.strip_prefix('#').ok_or_else(bad)?),
    };
    let index = index.parse::<usize>().map_err(|_| bad())?;
    if dataset.is_empty() {
        return Err(bad());
    }
    Ok(Some((
        path,
        hdf5::H5Item {
            dataset: dataset.to_string(),
            index,
        },
    )))
}

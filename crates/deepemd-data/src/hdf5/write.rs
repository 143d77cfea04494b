//! Writing one dataset: shared by every file this crate writes in HDF5.

use std::path::Path;

use hdf5::H5Type;

use crate::error::{Error, Result};

/// Creates dataset `name` of `shape` in `file` and writes `values` (row-major). With `chunk`,
/// the dataset is chunked and compressed (shuffle + gzip 4), as ModelNet40's files are.
/// Errors name `path`, the file being written.
pub(crate) fn write_dataset<T: H5Type>(
    file: &hdf5::File,
    path: &Path,
    name: &str,
    shape: &[usize],
    chunk: Option<&[usize]>,
    values: &[T],
) -> Result<()> {
    let h5 = |e: hdf5::Error| Error::format(path, format!("HDF5 write of '{name}' failed ({e})"));
    let mut builder = file.new_dataset::<T>();
    if let Some(chunk) = chunk {
        builder = builder.chunk(chunk.to_vec()).shuffle().deflate(4);
    }
    builder
        .shape(shape.to_vec())
        .create(name)
        .map_err(h5)?
        .write_raw(values)
        .map_err(h5)
}

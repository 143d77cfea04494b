//! What a dataset may declare before it is read. The HDF5 library allocates a read's declared
//! size up front, and a dataset's shape costs nothing to declare (chunks never written read as
//! the fill value), so a 30 kB file declaring (1, 2e9, 3) would ask for 24 GB. A dataset is
//! refused, with its file, name and shape, when it declares more than the file could hold even
//! compressed, when a read would need more than this machine's memory, when its stored block
//! (compact or contiguous) is not the size its shape needs or lies past the end of the file, or
//! when its chunks are larger than its fixed extent or than the file could hold: HDF5 1.10 trusts
//! these sizes and copies past the end of the smaller one (a segfault, found by fuzzing). Virtual
//! datasets, whose data lives in other files, are refused.

use std::path::Path;

use hdf5::plist::dataset_create::Layout;

use crate::error::{Error, Result};
use crate::header::{human_bytes, product};
use crate::memory::total_memory;

/// Deflate (the only compression filter HDF5 ships) cannot shrink data by more than about
/// 1032:1, so a file of `L` bytes holds at most `1032 · L` bytes of any dataset.
const MAX_COMPRESSION_RATIO: u64 = 1032;

/// A dataset shape as NumPy prints it: `(3,)`, `(1, 2000000000, 3)`.
pub(crate) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn declared_bytes(path: &Path, name: &str, shape: &[usize], element_bytes: usize) -> Result<u64> {
    let mut factors = shape.to_vec();
    factors.push(element_bytes);
    let what = || format!("dataset '{name}' of shape {}", shape_text(shape));
    Ok(product(path, what, &factors)? as u64)
}

/// Checks that dataset `name` (`ds`) of `shape`, `element_bytes` per element in the file, fits
/// in what the file at `path` could hold, and so do its chunks, which also fit its extent.
pub(crate) fn check_stored(
    path: &Path,
    name: &str,
    ds: &hdf5::Dataset,
    shape: &[usize],
    element_bytes: usize,
) -> Result<()> {
    let bytes = declared_bytes(path, name, shape, element_bytes)?;
    let file_len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let most = file_len.saturating_mul(MAX_COMPRESSION_RATIO);
    let too_big = |what: String, bytes: u64| {
        Error::format(
            path,
            format!(
                "dataset '{name}' {what} declares {}, but a file of {} holds at most {} even compressed",
                human_bytes(bytes),
                human_bytes(file_len),
                human_bytes(most)
            ),
        )
    };
    if bytes > most {
        return Err(too_big(format!("of shape {}", shape_text(shape)), bytes));
    }
    let storage = |what: &str| {
        Error::format(
            path,
            format!(
                "dataset '{name}' of shape {} needs {bytes} bytes, but its {what}",
                shape_text(shape)
            ),
        )
    };
    match ds.layout() {
        Layout::Chunked => {}
        // HDF5 1.10 copies the declared size out of the stored block without comparing the two.
        Layout::Compact if ds.storage_size() != bytes => {
            return Err(storage(&format!("header holds {}", ds.storage_size())));
        }
        Layout::Compact => return Ok(()),
        Layout::Contiguous => {
            // Zero: never written; reads give the fill value.
            let stored = ds.storage_size();
            if stored != 0 && stored != bytes {
                return Err(storage(&format!("contiguous block holds {stored}")));
            }
            if stored != 0
                && ds
                    .offset()
                    .is_none_or(|at| at.saturating_add(stored) > file_len)
            {
                return Err(storage("contiguous block lies beyond the end of the file"));
            }
            return Ok(());
        }
        _ => return Err(storage("data lives in other files (a virtual dataset)")),
    }
    let Some(chunk) = ds.chunk() else {
        return Err(storage("chunked layout has no chunk shape"));
    };
    let max = ds.space().map(|s| s.maxdims()).unwrap_or_default();
    let beyond_extent = chunk.len() != shape.len()
        || chunk
            .iter()
            .zip(&max)
            .any(|(&c, m)| c == 0 || m.is_some_and(|m| c > m.max(1)));
    if beyond_extent {
        return Err(Error::format(
            path,
            format!(
                "dataset '{name}' of shape {} has chunks of shape {}, larger than the dataset",
                shape_text(shape),
                shape_text(&chunk)
            ),
        ));
    }
    let chunk_bytes = declared_bytes(path, name, &chunk, element_bytes)?;
    if chunk_bytes > most {
        return Err(too_big(
            format!("has chunks of shape {} that", shape_text(&chunk)),
            chunk_bytes,
        ));
    }
    Ok(())
}

/// Checks that reading `shape` elements of dataset `name` as `element_bytes` each fits in this
/// machine's memory.
pub(crate) fn check_memory(
    path: &Path,
    name: &str,
    shape: &[usize],
    element_bytes: usize,
) -> Result<()> {
    let bytes = declared_bytes(path, name, shape, element_bytes)?;
    match total_memory() {
        Some(memory) if bytes > memory => Err(Error::format(
            path,
            format!(
                "dataset '{name}': reading shape {} takes {}, more than this machine's {} of memory",
                shape_text(shape),
                human_bytes(bytes),
                human_bytes(memory)
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_sizes_are_bounded_by_the_file_and_the_memory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.h5");
        let file = hdf5::File::create(&p).unwrap();
        let ds = file
            .new_dataset::<f32>()
            .shape([1, 8, 3])
            .create("data")
            .unwrap();
        check_stored(&p, "data", &ds, &[1, 8, 3], 4).unwrap();
        let err = check_stored(&p, "data", &ds, &[1, 2_000_000_000, 3], 4)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("f.h5: dataset 'data' of shape (1, 2000000000, 3) declares 24.0 GB"),
            "{err}"
        );
        let err = check_stored(&p, "data", &ds, &[usize::MAX, 3], 4).unwrap_err();
        assert!(err.to_string().contains("needs more bytes"), "{err}");
        if total_memory().is_some() {
            assert!(check_memory(&p, "data", &[1 << 40, 1 << 10], 8).is_err());
        }
        check_memory(&p, "data", &[64, 3], 8).unwrap();
    }
}

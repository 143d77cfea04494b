//! Opening an HDF5 file that may be corrupt: a missing file is an I/O error, the metadata is
//! checked before the library follows it (see `preflight`), and the library's own refusal names
//! the file.

use std::path::Path;

use super::preflight::check_structure;
use crate::error::{Error, Result};

/// Opens `path` for reading, or says why it cannot be read.
pub(crate) fn open_file(path: &Path) -> Result<hdf5::File> {
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    check_structure(path)?;
    hdf5::File::open(path)
        .map_err(|e| Error::format(path, format!("not a readable HDF5 file ({e})")))
}

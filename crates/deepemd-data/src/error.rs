//! The one error type of `deepemd-data`. Every message starts with the file it is about.

use std::path::{Path, PathBuf};

/// What can go wrong reading or writing point-cloud files and datasets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// The file's content is not what its format requires.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the line, element or dataset.
        message: String,
    },
    /// A setting outside its valid range (not a problem of any file).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Input that cannot be used and is not one file's fault (shard folders that do not make
    /// one job, a mesh of zero area, an item past the end).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An error of the core types (e.g. from a solver during pair generation).
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
}

impl Error {
    /// A format error about `path`. The message is made one line: the HDF5 library's
    /// messages, quoted in ours, span several.
    pub fn format(path: &Path, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            message: one_line(message.into()),
        }
    }

    /// An I/O error about `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `message` with its line breaks (and the indentation after them) replaced by one space.
fn one_line(message: String) -> String {
    if !message.contains(['\n', '\r']) {
        return message;
    }
    message
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_errors_are_one_line() {
        let e = Error::format(
            Path::new("a.h5"),
            "not a readable HDF5 file (H5Fopen(): unable to open file\n  major: File accessibility\r\n  minor: Bad file ID)",
        );
        assert_eq!(
            e.to_string(),
            "a.h5: not a readable HDF5 file (H5Fopen(): unable to open file major: File accessibility minor: Bad file ID)"
        );
    }
}

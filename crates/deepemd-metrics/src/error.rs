//! The one error type of `deepemd-metrics`.

use std::path::PathBuf;

/// What can go wrong computing generation metrics or a distance set.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two sets that cannot be compared (another point count or dimension); names the files.
    #[error("{0}")]
    Sets(String),
    /// A setting outside its range (a chunk size of 0, settings of other clouds).
    #[error("invalid setting: {0}")]
    Config(String),
    /// A file of a distance set could not be read, or is not what it should be.
    #[error(transparent)]
    Data(#[from] deepemd_data::Error),
    /// A solver rejected a pair.
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
    /// A stop was requested (Ctrl-C) before the computation was done; in a work folder the
    /// units already written stand, and a rerun resumes from them.
    #[error("interrupted before the metrics were complete")]
    Interrupted,
    /// A file-system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The one error type of the `deepemd-eval` library (its binaries use `anyhow`).

use std::path::PathBuf;

/// What can go wrong running an experiment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// A figure could not be drawn.
    #[error("{}: cannot draw the figure ({message})", path.display())]
    Figure {
        /// The PNG file.
        path: PathBuf,
        /// What plotters said.
        message: String,
    },
    /// A helper program (the Python peers, a measuring child) failed or answered nonsense.
    #[error("{program}: {message}")]
    Child {
        /// The program.
        program: String,
        /// What went wrong.
        message: String,
    },
    /// The figures' font is missing or unusable.
    #[error("{0}")]
    Font(String),
    /// Core types refused something.
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
    /// Data could not be read or written.
    #[error(transparent)]
    Data(#[from] deepemd_data::Error),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] deepemd_model::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps an I/O error to [`Error::Io`] naming `path`.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

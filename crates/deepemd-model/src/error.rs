//! The one error type of `deepemd-model`.

use std::path::PathBuf;

/// What can go wrong building, loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A configuration value outside its range.
    #[error("invalid model config: {0}")]
    Config(String),
    /// A model folder or weight file that cannot be used.
    #[error("{}: {message}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A device that this build cannot use.
    #[error("{0}")]
    Device(String),
    /// An error of the core types.
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for deepemd_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(c) => c,
            other => deepemd_core::Error::Estimator {
                method: deepemd_core::Method::Model.name().into(),
                message: other.to_string(),
            },
        }
    }
}

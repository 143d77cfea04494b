//! The one error type of `deepemd-train`.

use std::path::PathBuf;

/// What can go wrong while training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// The model crate failed.
    #[error(transparent)]
    Model(#[from] deepemd_model::Error),
    /// Data could not be read or made.
    #[error(transparent)]
    Data(#[from] deepemd_data::Error),
    /// Core types rejected something.
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
    /// A setting outside its range.
    #[error("invalid training config: {0}")]
    Config(String),
    /// The loss became NaN or infinite: a runtime failure of this run, not a bad setting.
    #[error(
        "training diverged: the loss became {loss} at step {step}; start a new run with a lower \
         learning rate (--lr)"
    )]
    Diverged {
        /// The step whose loss was not finite.
        step: usize,
        /// That loss.
        loss: f32,
    },
    /// A checkpoint that cannot be used.
    #[error("{}: {message}", path.display())]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file-system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The one error type of `deepemd-vae`.

use std::path::PathBuf;

/// What can go wrong training the VAE.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// The EMD loss failed (a pair the solver or the model could not handle).
    #[error(transparent)]
    Loss(#[from] deepemd_loss::Error),
    /// A method could not be built (the model's weights, for example).
    #[error(transparent)]
    Method(#[from] deepemd_methods::Error),
    /// Data could not be read or made.
    #[error(transparent)]
    Data(#[from] deepemd_data::Error),
    /// An exact EMD or Chamfer distance of the evaluation failed.
    #[error(transparent)]
    Metrics(#[from] deepemd_metrics::Error),
    /// Core types rejected something.
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
    /// The optimizer or the checkpoint writer failed.
    #[error(transparent)]
    Train(#[from] deepemd_train::Error),
    /// A setting outside its range, or an unknown name.
    #[error("invalid VAE setting: {0}")]
    Config(String),
    /// The loss, the KL term or the gradient became NaN or infinite.
    #[error(
        "training diverged: the {what} became {value} at step {step}; start a new run with a \
         lower learning rate (--lr)"
    )]
    Diverged {
        /// The step.
        step: usize,
        /// Which quantity.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// Tensors of shapes that do not fit.
    #[error("{0}")]
    Shape(String),
    /// A checkpoint or model folder that cannot be used.
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

/// Maps an I/O error to [`Error::Io`] naming `path`.
pub(crate) fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

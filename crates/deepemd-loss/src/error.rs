//! The one error type of `deepemd-loss`.

/// What can go wrong computing the loss.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input tensors of the wrong rank, dimension or batch size.
    #[error("{0}")]
    Shape(String),
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// The method could not be built.
    #[error(transparent)]
    Method(#[from] deepemd_methods::Error),
    /// A pair could not be solved (non-finite input, unequal sizes for a method that needs
    /// equal ones, ...).
    #[error("pair {pair} of the batch: {source}")]
    Pair {
        /// Index in the batch.
        pair: usize,
        /// What the estimator said.
        source: deepemd_core::Error,
    },
}

/// So that `?` works in a candle training loop returning `candle_core::Result` (the message is
/// kept; candle's error type has no variant for a foreign source).
impl From<Error> for candle_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Candle(e) => e,
            e => candle_core::Error::wrap(e),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

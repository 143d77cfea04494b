//! The project's errors as Python exceptions, carrying the project's message: file-system
//! failures become `OSError`, everything else (bad input, bad settings) `ValueError`.

use pyo3::PyErr;
use pyo3::exceptions::{PyOSError, PyValueError};

/// A core or solver error (bad clouds, bad settings): `ValueError`.
pub fn core(e: deepemd_core::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A reader error: `OSError` when the file could not be read, `ValueError` when its content
/// is wrong. The message starts with the file.
pub fn data(e: deepemd_data::Error) -> PyErr {
    match e {
        deepemd_data::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A method-registry error (an unknown name, a model that cannot be loaded).
pub fn method(e: deepemd_methods::Error) -> PyErr {
    match e {
        deepemd_methods::Error::Model(e) => model(e),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A model error: `OSError` when its folder or files are not there, `ValueError` otherwise.
pub fn model(e: deepemd_model::Error) -> PyErr {
    match &e {
        deepemd_model::Error::Load { path, .. } if !path.exists() => {
            PyOSError::new_err(e.to_string())
        }
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A generation-metrics error: `OSError` for a file that cannot be read or written, and
/// `ValueError` otherwise.
pub fn metrics(e: deepemd_metrics::Error) -> PyErr {
    match e {
        deepemd_metrics::Error::Data(e) => data(e),
        deepemd_metrics::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A `ValueError` with `message`.
pub fn value(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

//! NumPy arrays in and out. A cloud is anything `np.asarray` makes an (n, 2|3) array of numbers
//! of: float32 and float64 arrays in any memory layout (C, Fortran, strided views) are read as
//! they are, lists, integer, boolean and float16 arrays through `np.asarray(x, float64)`.
//! Batches are (B, n, 2|3). Gradients go back in the clouds' precision.

use deepemd_core::PointCloud;
use numpy::{PyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::errors;

/// The floating type a cloud came in: a pair of float32 clouds gets float32 gradients, every
/// other pair float64 ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    /// The precision of a pair's gradients.
    pub fn of_pair(a: Precision, b: Precision) -> Precision {
        if a == Precision::F32 && b == Precision::F32 {
            Precision::F32
        } else {
            Precision::F64
        }
    }
}

/// `obj` as a NumPy array: itself, or `np.asarray(obj)` (lists, tensors, other array-likes).
pub fn as_ndarray<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyAny>> {
    if obj.cast::<numpy::PyUntypedArray>().is_ok() {
        return Ok(obj.clone());
    }
    let np = obj.py().import("numpy")?;
    np.call_method1("asarray", (obj,))
        .map_err(|e| errors::value(format!("{what} cannot be read as a NumPy array: {e}")))
}

/// The array's shape, its values as f64 in logical (row-major) order, and its precision.
fn read_floats(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<usize>, Vec<f64>, Precision)> {
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        let values = a.as_array().iter().copied().collect();
        return Ok((a.shape().to_vec(), values, Precision::F64));
    }
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let values = a.as_array().iter().map(|&x| f64::from(x)).collect();
        return Ok((a.shape().to_vec(), values, Precision::F32));
    }
    // What NumPy users expect: `np.asarray` semantics for lists and other number types.
    let array = as_ndarray(obj, what)?;
    // A float32 array-like (a torch tensor, a memoryview) keeps its precision.
    if let Ok(a) = array.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let values = a.as_array().iter().map(|&x| f64::from(x)).collect();
        return Ok((a.shape().to_vec(), values, Precision::F32));
    }
    let dtype = array.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        return Err(errors::value(format!(
            "{what} must hold real numbers, got an array of dtype {dtype}"
        )));
    }
    let as_f64 = array.call_method1("astype", ("float64",))?;
    let a = as_f64.extract::<PyReadonlyArrayDyn<'_, f64>>()?;
    let values = a.as_array().iter().copied().collect();
    Ok((a.shape().to_vec(), values, Precision::F64))
}

fn check_dim(d: usize, what: &str, shape: &[usize]) -> PyResult<()> {
    if d == 2 || d == 3 {
        Ok(())
    } else {
        Err(errors::value(format!(
            "{what} must hold 2-D or 3-D points (last axis 2 or 3), got shape {shape:?}"
        )))
    }
}

/// One cloud from an (n, 2|3) array (or anything `np.asarray` makes one of).
pub fn cloud(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(PointCloud, Precision)> {
    let (shape, flat, precision) = read_floats(obj, what)?;
    let [_, d] = shape[..] else {
        return Err(errors::value(format!(
            "{what} must have shape (n, 2) or (n, 3), got {shape:?}"
        )));
    };
    check_dim(d, what, &shape)?;
    let cloud =
        PointCloud::from_flat(d, flat).map_err(|e| errors::value(format!("{what}: {e}")))?;
    Ok((cloud, precision))
}

/// The clouds of a (B, n, 2|3) array.
pub fn batch(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<PointCloud>, Precision)> {
    let (shape, flat, precision) = read_floats(obj, what)?;
    let [_, n, d] = shape[..] else {
        return Err(errors::value(format!(
            "{what} must have shape (B, n, 2) or (B, n, 3), got {shape:?}"
        )));
    };
    check_dim(d, what, &shape)?;
    if n == 0 {
        return Err(errors::value(format!(
            "{what} holds clouds of no points (shape {shape:?})"
        )));
    }
    let clouds = flat
        .chunks(n * d)
        .enumerate()
        .map(|(k, item)| {
            PointCloud::from_flat(d, item.to_vec())
                .map_err(|e| errors::value(format!("{what}[{k}]: {e}")))
        })
        .collect::<PyResult<_>>()?;
    Ok((clouds, precision))
}

/// A cloud (or a gradient) as a new (n, dim) array of `precision`.
pub fn to_numpy(py: Python<'_>, dim: usize, flat: &[f64], precision: Precision) -> Py<PyAny> {
    let rows = flat.len() / dim.max(1);
    match precision {
        Precision::F64 => PyArray2::from_vec2(py, &chunked(flat, dim))
            .unwrap_or_else(|_| PyArray2::zeros(py, [rows, dim], false))
            .into_any()
            .unbind(),
        Precision::F32 => {
            let narrow: Vec<f32> = flat.iter().map(|&x| x as f32).collect();
            PyArray2::from_vec2(py, &chunked(&narrow, dim))
                .unwrap_or_else(|_| PyArray2::zeros(py, [rows, dim], false))
                .into_any()
                .unbind()
        }
    }
}

fn chunked<T: Copy>(flat: &[T], dim: usize) -> Vec<Vec<T>> {
    flat.chunks(dim).map(<[T]>::to_vec).collect()
}

/// Index pairs as a new (k, 2) int64 array.
pub fn pairs<'py>(py: Python<'py>, v: &[(usize, usize)]) -> Bound<'py, PyArray2<i64>> {
    if v.is_empty() {
        return PyArray2::zeros(py, [0, 2], false);
    }
    let rows: Vec<Vec<i64>> = v.iter().map(|&(i, j)| vec![i as i64, j as i64]).collect();
    PyArray2::from_vec2(py, &rows).expect("rows of two")
}

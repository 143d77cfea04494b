//! NumPy arrays in and out: float32 or float64 clouds of shape (n, 2|3), in any memory layout
//! (C, Fortran, strided views), and batches (B, n, 2|3).

use deepemd_core::PointCloud;
use numpy::{PyArray1, PyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::errors;

/// The array's shape and its values as f64 in logical (row-major) order, whatever its float
/// width and strides.
fn read_floats(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<usize>, Vec<f64>)> {
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        return Ok((a.shape().to_vec(), a.as_array().iter().copied().collect()));
    }
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let values = a.as_array().iter().map(|&x| f64::from(x)).collect();
        return Ok((a.shape().to_vec(), values));
    }
    let kind = obj
        .getattr("dtype")
        .map(|d| format!("dtype {d}"))
        .unwrap_or_else(|_| format!("a {}", obj.get_type()));
    Err(errors::value(format!(
        "{what} must be a NumPy array of float32 or float64, got {kind} (convert it with \
         np.asarray(x, dtype=np.float64))"
    )))
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

/// One cloud from an (n, 2|3) array.
pub fn cloud(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PointCloud> {
    let (shape, flat) = read_floats(obj, what)?;
    let [_, d] = shape[..] else {
        return Err(errors::value(format!(
            "{what} must have shape (n, 2) or (n, 3), got {shape:?}"
        )));
    };
    check_dim(d, what, &shape)?;
    PointCloud::from_flat(d, flat).map_err(|e| errors::value(format!("{what}: {e}")))
}

/// The clouds of a (B, n, 2|3) array.
pub fn batch(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<PointCloud>> {
    let (shape, flat) = read_floats(obj, what)?;
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
    flat.chunks(n * d)
        .enumerate()
        .map(|(k, item)| {
            PointCloud::from_flat(d, item.to_vec())
                .map_err(|e| errors::value(format!("{what}[{k}]: {e}")))
        })
        .collect()
}

/// A cloud (or a gradient) as a new (n, dim) float64 array.
pub fn to_numpy<'py>(py: Python<'py>, dim: usize, flat: &[f64]) -> Bound<'py, PyArray2<f64>> {
    let rows: Vec<Vec<f64>> = flat.chunks(dim).map(<[f64]>::to_vec).collect();
    if rows.is_empty() {
        return PyArray2::zeros(py, [0, dim], false);
    }
    PyArray2::from_vec2(py, &rows).expect("rows of equal length")
}

/// Indices as a new int64 array.
pub fn indices<'py>(py: Python<'py>, v: &[usize]) -> Bound<'py, PyArray1<i64>> {
    PyArray1::from_iter(py, v.iter().map(|&i| i as i64))
}

/// Index pairs as a new (k, 2) int64 array.
pub fn pairs<'py>(py: Python<'py>, v: &[(usize, usize)]) -> Bound<'py, PyArray2<i64>> {
    if v.is_empty() {
        return PyArray2::zeros(py, [0, 2], false);
    }
    let rows: Vec<[i64; 2]> = v.iter().map(|&(i, j)| [i as i64, j as i64]).collect();
    let rows: Vec<Vec<i64>> = rows.iter().map(|r| r.to_vec()).collect();
    PyArray2::from_vec2(py, &rows).expect("rows of two")
}

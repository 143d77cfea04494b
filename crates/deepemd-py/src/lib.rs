//! The Python module `deepemd` (its native part, `deepemd._native`): the EMD of NumPy point
//! clouds with any of the project's methods, in parallel over pairs with the GIL released, the
//! cloud readers, the DeepEMD model, and the generation metrics. `python/deepemd/` holds the
//! Python side (the package, and `deepemd.torch`); `tests/` holds the pytest suite.

mod arrays;
mod errors;
mod method;
mod result;

use std::path::PathBuf;

use deepemd_core::PointCloud;
use numpy::PyArray2;
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySequence};
use rayon::prelude::*;

use method::{Model, Solver, load_model};
use result::EmdResult;

/// The EMD between clouds `a` (n, d) and `b` (m, d), d = 2 or 3, float32 or float64 in any
/// memory layout. See the package documentation for every argument.
#[pyfunction]
#[pyo3(signature = (
    a, b, method = "exact", cost = "euclidean", matching = false, gradient = false,
    rounding = None, unequal = "partial", model = None
))]
#[allow(clippy::too_many_arguments)]
fn emd(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    method: &str,
    cost: &str,
    matching: bool,
    gradient: bool,
    rounding: Option<&str>,
    unequal: &str,
    model: Option<PyRef<'_, Model>>,
) -> PyResult<EmdResult> {
    let solver = Solver::new(method, cost, rounding, unequal, gradient, model.as_deref())?;
    let a = arrays::cloud(a, "a")?;
    let b = arrays::cloud(b, "b")?;
    check_dims(&a, &b, "a", "b")?;
    let solved = py.detach(|| solver.solve(&a, &b)).map_err(errors::core)?;
    Ok(EmdResult::new(py, &solver, (&a, &b), solved, matching))
}

/// The EMD of many pairs, in parallel over the pairs with the GIL released: two batches `a`
/// (B, n, d) and `b` (B, m, d) (arrays, or sequences of (n_k, d) arrays), or one sequence of
/// `(a_k, b_k)` pairs as `a` with `b=None`. Returns a list of `EmdResult`, in order.
#[pyfunction]
#[pyo3(signature = (
    a, b = None, method = "exact", cost = "euclidean", matching = false, gradient = false,
    rounding = None, unequal = "partial", model = None
))]
#[allow(clippy::too_many_arguments)]
fn emd_batch(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: Option<&Bound<'_, PyAny>>,
    method: &str,
    cost: &str,
    matching: bool,
    gradient: bool,
    rounding: Option<&str>,
    unequal: &str,
    model: Option<PyRef<'_, Model>>,
) -> PyResult<Vec<EmdResult>> {
    let solver = Solver::new(method, cost, rounding, unequal, gradient, model.as_deref())?;
    let pairs: Vec<(PointCloud, PointCloud)> = match b {
        Some(b) => {
            let (ca, cb) = (clouds(a, "a")?, clouds(b, "b")?);
            if ca.len() != cb.len() {
                return Err(errors::value(format!(
                    "a holds {} clouds and b holds {}: a batch pairs them one to one",
                    ca.len(),
                    cb.len()
                )));
            }
            ca.into_iter().zip(cb).collect()
        }
        None => {
            let seq = a.cast::<PySequence>().map_err(|_| {
                errors::value("with b=None, a must be a sequence of (a_k, b_k) pairs")
            })?;
            (0..seq.len()?)
                .map(|k| {
                    let item = seq.get_item(k)?;
                    let not_a_pair =
                        || errors::value(format!("pair {k} is not an (a, b) pair of arrays"));
                    // A tuple or a list of two arrays, but not one (2, n, d) array.
                    let pair = item
                        .cast::<PySequence>()
                        .ok()
                        .filter(|_| item.cast::<numpy::PyUntypedArray>().is_err())
                        .filter(|s| s.len().is_ok_and(|l| l == 2))
                        .ok_or_else(not_a_pair)?;
                    let (x, y) = (pair.get_item(0)?, pair.get_item(1)?);
                    Ok((
                        arrays::cloud(&x, &format!("pair {k}: a"))?,
                        arrays::cloud(&y, &format!("pair {k}: b"))?,
                    ))
                })
                .collect::<PyResult<_>>()?
        }
    };
    for (k, (x, y)) in pairs.iter().enumerate() {
        check_dims(x, y, &format!("a[{k}]"), &format!("b[{k}]"))?;
    }
    let solved = py.detach(|| {
        pairs
            .par_iter()
            .map(|(x, y)| solver.solve(x, y))
            .collect::<Vec<_>>()
    });
    pairs
        .iter()
        .zip(solved)
        .enumerate()
        .map(|(k, ((x, y), s))| {
            let s = s.map_err(|e| errors::value(format!("pair {k}: {e}")))?;
            Ok(EmdResult::new(py, &solver, (x, y), s, matching))
        })
        .collect()
}

/// A batch: a (B, n, d) array, or a sequence of (n_k, d) arrays.
fn clouds(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<PointCloud>> {
    if let Ok(array) = obj.cast::<numpy::PyUntypedArray>() {
        if array.ndim() == 3 {
            return arrays::batch(obj, what);
        }
        return Err(errors::value(format!(
            "{what} must be a (B, n, 2|3) array or a sequence of (n, 2|3) arrays, got an array \
             of shape {:?}",
            array.shape()
        )));
    }
    let seq = obj.cast::<PySequence>().map_err(|_| {
        errors::value(format!(
            "{what} must be a (B, n, 2|3) array or a sequence of (n, 2|3) arrays"
        ))
    })?;
    (0..seq.len()?)
        .map(|k| arrays::cloud(&seq.get_item(k)?, &format!("{what}[{k}]")))
        .collect()
}

fn check_dims(a: &PointCloud, b: &PointCloud, na: &str, nb: &str) -> PyResult<()> {
    if a.dim() != b.dim() {
        return Err(errors::value(format!(
            "{na} holds {}-D points and {nb} holds {}-D points",
            a.dim(),
            b.dim()
        )));
    }
    Ok(())
}

/// Reads a cloud from any file the `deepemd` command reads (.ply, .off, .xyz/.txt/.csv, .npy,
/// .pcd; `file.h5#K` for item K of an HDF5 dataset) as an (n, d) float64 array.
#[pyfunction]
fn read_cloud<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let spec = path.to_string_lossy().into_owned();
    let cloud = py
        .detach(|| deepemd_data::read_cloud_spec(&spec))
        .map_err(errors::data)?;
    Ok(arrays::to_numpy(py, cloud.dim(), cloud.as_flat()))
}

/// MMD, COV and 1-NNA (Yang et al.) of `generated` against `reference`, (R, n, d) and (G, n, d)
/// arrays, with the exact EMD and with Chamfer, PointFlow's per-set splits and JSD, as a dict:
/// the keys of `deepemd gen-metrics --json` (with `pairs` and `exact_solves`), or PointFlow's
/// with `format="pointflow"`. `brute_force=True` solves every EMD instead of the pruned search
/// (the same metrics).
#[pyfunction]
#[pyo3(signature = (reference, generated, brute_force = false, format = "deepemd"))]
fn gen_metrics<'py>(
    py: Python<'py>,
    reference: &Bound<'py, PyAny>,
    generated: &Bound<'py, PyAny>,
    brute_force: bool,
    format: &str,
) -> PyResult<Bound<'py, PyDict>> {
    if !["deepemd", "pointflow"].contains(&format) {
        return Err(errors::value(format!(
            "unknown format '{format}'; the formats are deepemd, pointflow"
        )));
    }
    let r = clouds(reference, "reference")?;
    let g = clouds(generated, "generated")?;
    let search = if brute_force {
        deepemd_metrics::Search::BruteForce
    } else {
        deepemd_metrics::Search::Pruned
    };
    let names = ("reference", "generated");
    let m = py
        .detach(|| deepemd_metrics::generation_metrics_with(&r, &g, names, search, &|| {}))
        .map_err(|e| errors::value(e.to_string()))?;
    // The one serializer of the CLI's JSON, turned into a dict.
    let json = match format {
        "pointflow" => deepemd_metrics::pointflow_json(&m),
        _ => serde_json::to_value(&m).expect("the metrics serialize"),
    };
    let d = PyDict::new(py);
    for (k, v) in json.as_object().expect("an object") {
        match v {
            serde_json::Value::Null => d.set_item(k, py.None())?,
            v if v.is_u64() => d.set_item(k, v.as_u64())?,
            v => d.set_item(k, v.as_f64())?,
        }
    }
    Ok(d)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(emd, m)?)?;
    m.add_function(wrap_pyfunction!(emd_batch, m)?)?;
    m.add_function(wrap_pyfunction!(read_cloud, m)?)?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(gen_metrics, m)?)?;
    m.add_class::<EmdResult>()?;
    m.add_class::<Model>()?;
    Ok(())
}

//! The Python module `deepemd` (its native part, `deepemd._native`): the EMD of NumPy point
//! clouds with any of the project's methods, in parallel over pairs with the GIL released, the
//! cloud readers, the DeepEMD model, and the generation metrics. `python/deepemd/` holds the
//! Python side (the package, and `deepemd.torch`); `tests/` holds the pytest suite.

mod arrays;
mod errors;
mod method;
mod metrics_call;
mod result;

use std::path::PathBuf;

use deepemd_core::PointCloud;
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySequence};
use rayon::prelude::*;

use arrays::Precision;
use method::{Model, Solver, load_model};
use result::EmdResult;

/// The Earth Mover's Distance between two point clouds.
///
/// Parameters
/// ----------
/// a, b : array_like, shapes (n, d) and (m, d), d = 2 or 3
///     The clouds: float32 or float64 arrays in any memory layout are read as they are;
///     lists and integer, boolean or float16 arrays through ``np.asarray(x, np.float64)``.
/// method : str
///     ``"exact"`` (certified optimal, the fastest), ``"hungarian"`` (scipy's algorithm),
///     ``"sinkhorn"`` (entropic approximation, rounded to a matching), ``"model"`` (the DeepEMD
///     network; ``"model/refined"`` for its best rounding).
/// cost : str
///     ``"euclidean"`` (the EMD) or ``"sqeuclidean"``.
/// matching : bool
///     Also return the matching (``result.matching``, ``result.mass``).
/// gradient : bool
///     Also return the gradient with respect to both clouds (``result.grad_a``, ``.grad_b``).
/// rounding : str or None
///     The model's rounding: ``"argmax"`` (default), ``"greedy"``, ``"sinkhorn-greedy"``,
///     ``"refined"``.
/// unequal : str
///     What the EMD is when n ≠ m. ``"uniform"`` (default): optimal transport between the
///     uniform distributions, every point used (POT's ``ot.emd2``). ``"partial"``: every point
///     of the smaller cloud matched to a distinct point of the larger, the rest ignored (the
///     only one the model estimates). Equal sizes: both are the same.
/// model : Model or None
///     Weights from :func:`load_model` for ``method="model"`` (default: the shipped model).
///
/// Returns
/// -------
/// EmdResult
///     ``distance`` and what was asked (see :class:`EmdResult`).
///
/// Examples
/// --------
/// >>> import deepemd
/// >>> r = deepemd.emd([[0, 0], [10, 0]], [[10, 1], [0, 1]], matching=True, gradient=True)
/// >>> r.distance
/// 1.0
/// >>> r.matching.tolist()
/// [[0, 1], [1, 0]]
/// >>> r.grad_a.tolist()
/// [[0.0, -0.5], [0.0, -0.5]]
#[pyfunction]
#[pyo3(signature = (
    a, b, method = "exact", cost = "euclidean", matching = false, gradient = false,
    rounding = None, unequal = "uniform", model = None
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
    let (a, pa) = arrays::cloud(a, "a")?;
    let (b, pb) = arrays::cloud(b, "b")?;
    check_dims(&a, &b, "a", "b")?;
    let solved = py.detach(|| solver.solve(&a, &b)).map_err(errors::core)?;
    let precision = Precision::of_pair(pa, pb);
    Ok(EmdResult::new(
        py,
        &solver,
        (&a, &b),
        solved,
        matching,
        precision,
    ))
}

/// The per-pair results of `deepemd.emd_batch` (which wraps them in an `EmdBatch`).
#[pyfunction]
#[pyo3(signature = (
    a, b = None, method = "exact", cost = "euclidean", matching = false, gradient = false,
    rounding = None, unequal = "uniform", model = None
))]
#[allow(clippy::too_many_arguments)]
fn _emd_batch(
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
    type Read = ((PointCloud, Precision), (PointCloud, Precision));
    let pairs: Vec<Read> = match b {
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
    for (k, ((x, _), (y, _))) in pairs.iter().enumerate() {
        check_dims(x, y, &format!("a[{k}]"), &format!("b[{k}]"))?;
    }
    let solved = py.detach(|| {
        pairs
            .par_iter()
            .map(|((x, _), (y, _))| solver.solve(x, y))
            .collect::<Vec<_>>()
    });
    pairs
        .iter()
        .zip(solved)
        .enumerate()
        .map(|(k, (((x, px), (y, py_)), s))| {
            let s = s.map_err(|e| errors::value(format!("pair {k}: {e}")))?;
            let precision = Precision::of_pair(*px, *py_);
            Ok(EmdResult::new(py, &solver, (x, y), s, matching, precision))
        })
        .collect()
}

/// A batch: a (B, n, 2|3) array (or array-like: a tensor), or a list or tuple of (n_k, 2|3)
/// arrays.
fn clouds(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(PointCloud, Precision)>> {
    let is_list =
        obj.cast::<pyo3::types::PyList>().is_ok() || obj.cast::<pyo3::types::PyTuple>().is_ok();
    let converted;
    let obj = if is_list || obj.cast::<numpy::PyUntypedArray>().is_ok() {
        obj
    } else {
        converted = arrays::as_ndarray(obj, what)?;
        &converted
    };
    if let Ok(array) = obj.cast::<numpy::PyUntypedArray>() {
        if array.ndim() == 3 {
            let (clouds, precision) = arrays::batch(obj, what)?;
            return Ok(clouds.into_iter().map(|c| (c, precision)).collect());
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

/// Reads a cloud from any file the ``deepemd`` command reads.
///
/// ``path``: a .ply, .off (vertices), .xyz/.txt/.csv (the first three columns of each row;
/// normals and colours after them are not used), .npy or .pcd file; ``"file.npy#K"`` for cloud
/// K of a (B, n, d) batch; ``"file.h5#K"`` for item K of dataset ``data`` of an HDF5 file
/// (ModelNet40's layout), ``"file.h5:dataset#K"`` for another dataset.
///
/// Returns an (n, d) float64 array. An unreadable file raises ``OSError``, a malformed one
/// ``ValueError``; both name the file.
///
/// Examples
/// --------
/// >>> import os, tempfile, numpy as np, deepemd
/// >>> path = os.path.join(tempfile.mkdtemp(), "scan.xyz")
/// >>> np.savetxt(path, [[0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 1]])  # x y z nx ny nz
/// >>> deepemd.read_cloud(path)
/// array([[0., 0., 0.],
///        [1., 0., 0.]])
#[pyfunction]
fn read_cloud(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let spec = path.to_string_lossy().into_owned();
    let cloud = py
        .detach(|| deepemd_data::read_cloud_spec(&spec))
        .map_err(errors::data)?;
    Ok(arrays::to_numpy(
        py,
        cloud.dim(),
        cloud.as_flat(),
        Precision::F64,
    ))
}

/// MMD, COV and 1-NNA (Yang et al.; PointFlow's definitions) of a generated set against a
/// reference set, with the exact EMD and with Chamfer, PointFlow's per-set 1-NNA and JSD.
///
/// The sets are keyword-only: PointFlow's ``compute_all_metrics(sample_pcs, ref_pcs)`` takes
/// them in the other order, and a silent swap changes MMD and COV.
///
/// Parameters
/// ----------
/// reference, generated : array_like, shapes (R, n, d) and (G, n, d), d = 2 or 3
///     The two sets, of one point count.
/// brute_force : bool
///     Solve every EMD the definitions involve instead of the pruned nearest-neighbour search
///     (certified lower bounds; the same metrics to the bit, much slower).
/// format : str
///     ``"deepemd"``: this project's keys (``mmd_emd``, ``cov_emd``, ``nna_emd``, ...,
///     ``pairs``, ``exact_solves``); ``"pointflow"``: PointFlow's (``lgan_mmd-EMD``,
///     ``1-NN-EMD-acc_t``, ``jsd``, ...).
/// out : str or os.PathLike or None
///     A work folder, as ``deepemd gen-metrics --out``: the work is kept there unit by unit
///     (each with a receipt), so a call interrupted (Ctrl-C, a crash) resumes where it
///     stopped; a unit that does not verify is made again.
/// chunk_size : int or None
///     With ``out``: queries (pruned) or cloud pairs (brute force) per unit file (default: the
///     folder's, or 64 / 256 for a new folder).
/// progress : bool
///     Report progress on ``sys.stderr`` when the work takes more than a second.
///
/// Returns
/// -------
/// dict
///     The metrics (fractions, not percentages), with ``seconds``.
///
/// Ctrl-C stops the work within one item (one nearest-neighbour query of the pruned search,
/// which may be a few exact solves; one distance of the brute force) and raises
/// ``KeyboardInterrupt``, even if the work finished meanwhile; with ``out=`` the units written
/// stand and a rerun resumes.
///
/// Examples
/// --------
/// >>> import numpy as np, deepemd
/// >>> rng = np.random.default_rng(0)
/// >>> ref, gen = rng.random((8, 64, 3)), rng.random((8, 64, 3))
/// >>> m = deepemd.gen_metrics(reference=ref, generated=gen, progress=False)
/// >>> sorted(k for k in m if k.startswith("cov"))
/// ['cov_cd', 'cov_emd']
/// >>> 0.0 <= m["nna_emd"] <= 1.0
/// True
#[pyfunction]
#[pyo3(signature = (
    *, reference, generated, brute_force = false, format = "deepemd", out = None,
    chunk_size = None, progress = true
))]
#[allow(clippy::too_many_arguments)]
fn gen_metrics<'py>(
    py: Python<'py>,
    reference: &Bound<'py, PyAny>,
    generated: &Bound<'py, PyAny>,
    brute_force: bool,
    format: &str,
    out: Option<PathBuf>,
    chunk_size: Option<usize>,
    progress: bool,
) -> PyResult<Bound<'py, PyDict>> {
    if !["deepemd", "pointflow"].contains(&format) {
        return Err(errors::value(format!(
            "unknown format '{format}'; the formats are deepemd, pointflow"
        )));
    }
    if chunk_size.is_some() && out.is_none() {
        return Err(errors::value("chunk_size= applies with out= only"));
    }
    let r: Vec<PointCloud> = clouds(reference, "reference")?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let g: Vec<PointCloud> = clouds(generated, "generated")?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let m = metrics_call::run(
        py,
        &r,
        &g,
        brute_force,
        out.as_deref(),
        chunk_size,
        progress,
    )?;
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
    m.add_function(wrap_pyfunction!(_emd_batch, m)?)?;
    m.add_function(wrap_pyfunction!(read_cloud, m)?)?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(gen_metrics, m)?)?;
    m.add_class::<EmdResult>()?;
    m.add_class::<Model>()?;
    Ok(())
}

//! `deepemd.EmdResult`: what `emd` and `emd_batch` return.

use deepemd_core::{Pairing, PointCloud};
use deepemd_methods::EmdRecord;
use pyo3::prelude::*;

use crate::arrays::{self, Precision};
use crate::method::{Solved, Solver};

/// The EMD of two clouds and what was asked with it (what `deepemd.emd` returns).
///
/// Attributes
/// ----------
/// distance : float
///     The EMD (the mean cost over the matching; docs/math.md). ``float(result)`` is the same.
/// matching : numpy.ndarray of int64, shape (k, 2), or None
///     With ``matching=True``: the pairs ``[i, j]`` (point ``a[i]`` goes to ``b[j]``), sorted by
///     ``i``, whatever the sizes: k = n for a bijection (then ``matching[:, 1]`` is the
///     permutation), k = min(n, m) for a partial matching, one row per nonzero entry of the
///     transport plan for ``unequal="uniform"`` with n ≠ m (see ``mass``).
/// mass : numpy.ndarray of float64, shape (k,), or None
///     For a transport plan (``unequal="uniform"``, n ≠ m, ``matching=True``): the mass of
///     each row of ``matching`` (they sum to 1). None otherwise.
/// grad_a, grad_b : numpy.ndarray, shapes (n, d) and (m, d), or None
///     With ``gradient=True``: the gradient of ``distance`` with respect to each cloud (the
///     matching held fixed), float32 when both clouds are float32, float64 otherwise.
/// certificate_gap : float or None
///     ``exact`` only: primal − dual of its optimality certificate in the EMD's units (≥ 0);
///     the returned matching is at most this far above the optimum, up to the certificate's
///     feasibility tolerance (10⁻¹² of the clouds' extent per pair).
/// transport_cost : float or None
///     ``sinkhorn`` only: the entropic plan's ⟨P, C⟩ (``distance`` is its rounding's cost).
/// method, cost : str
///     The method's and the ground cost's names (``method`` is accepted back by ``method=``).
/// unequal : str or None
///     ``"uniform"`` or ``"partial"`` when the sizes differ; None otherwise.
/// seconds : float
///     Wall time of the solve (without the conversion of the arrays).
#[pyclass(frozen, module = "deepemd", name = "EmdResult")]
#[derive(Debug)]
pub struct EmdResult {
    /// The EMD.
    #[pyo3(get)]
    distance: f64,
    /// The method's name.
    #[pyo3(get)]
    method: String,
    /// The ground cost's name.
    #[pyo3(get)]
    cost: String,
    /// `partial` or `uniform` when the sizes differ; None otherwise.
    #[pyo3(get)]
    unequal: Option<String>,
    /// See the class documentation.
    #[pyo3(get)]
    matching: Option<Py<PyAny>>,
    /// See the class documentation.
    #[pyo3(get)]
    mass: Option<Py<PyAny>>,
    /// See the class documentation.
    #[pyo3(get)]
    grad_a: Option<Py<PyAny>>,
    /// See the class documentation.
    #[pyo3(get)]
    grad_b: Option<Py<PyAny>>,
    /// See the class documentation.
    #[pyo3(get)]
    certificate_gap: Option<f64>,
    /// See the class documentation.
    #[pyo3(get)]
    transport_cost: Option<f64>,
    /// Seconds the solve took (without the conversion of the arrays).
    #[pyo3(get)]
    seconds: f64,
}

#[pymethods]
impl EmdResult {
    fn __repr__(&self) -> String {
        let mut extra = String::new();
        if let Some(u) = &self.unequal {
            extra.push_str(&format!(", unequal='{u}'"));
        }
        if let Some(g) = self.certificate_gap {
            extra.push_str(&format!(", certificate_gap={g:e}"));
        }
        format!(
            "EmdResult(distance={}, method='{}', cost='{}'{extra})",
            self.distance, self.method, self.cost
        )
    }

    /// The distance, so that `float(result)` works.
    fn __float__(&self) -> f64 {
        self.distance
    }
}

impl EmdResult {
    /// The Python object of a solved pair.
    pub fn new(
        py: Python<'_>,
        solver: &Solver,
        (a, b): (&PointCloud, &PointCloud),
        solved: Solved,
        with_matching: bool,
        precision: Precision,
    ) -> Self {
        let emd = solved.emd;
        let (mut matching, mut mass) = (None, None);
        if with_matching {
            match &emd.pairing {
                Pairing::Plan(plan) => {
                    let mut rows: Vec<(usize, usize, f64)> = plan.weighted().collect();
                    rows.sort_unstable_by_key(|&(i, j, _)| (i, j));
                    let ij: Vec<(usize, usize)> = rows.iter().map(|&(i, j, _)| (i, j)).collect();
                    let m: Vec<f64> = rows.iter().map(|&(_, _, w)| w).collect();
                    matching = Some(arrays::pairs(py, &ij).into_any().unbind());
                    mass = Some(numpy::PyArray1::from_vec(py, m).into_any().unbind());
                }
                p => {
                    let mut ij: Vec<(usize, usize)> = p.pairs().collect();
                    ij.sort_unstable();
                    matching = Some(arrays::pairs(py, &ij).into_any().unbind());
                }
            }
        }
        let record = EmdRecord::new(solver.spec, solver.request(), (a.len(), b.len()), &emd)
            .with_seconds(solved.seconds);
        let (grad_a, grad_b) = match &emd.gradient {
            Some(g) => (
                Some(arrays::to_numpy(py, a.dim(), &g.a, precision)),
                Some(arrays::to_numpy(py, b.dim(), &g.b, precision)),
            ),
            None => (None, None),
        };
        Self {
            distance: record.distance,
            method: record.method,
            cost: record.cost,
            unequal: record.unequal,
            matching,
            mass,
            grad_a,
            grad_b,
            certificate_gap: record.certificate_gap,
            transport_cost: record.transport_cost,
            seconds: solved.seconds,
        }
    }
}

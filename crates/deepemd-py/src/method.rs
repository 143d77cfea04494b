//! The keyword arguments that choose a method, and the solver they build.

use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::Device;
use deepemd_core::{Cost, Emd, EmdEstimator, EmdRequest, Method, Pairing, PointCloud, Unequal};
use deepemd_methods::MethodSpec;
use deepemd_model::{DeepEmd, DeepEmdModel, Rounding, default_model, device_from_name};
use deepemd_solvers::Exact;
use pyo3::prelude::*;

use crate::errors;

/// A DeepEMD model's weights on a device, from `deepemd.load_model`; pass it as `model=` with
/// `method="model"`.
#[pyclass(frozen, module = "deepemd", name = "Model")]
#[derive(Debug)]
pub struct Model {
    weights: DeepEmdModel,
    device: Device,
    source: String,
}

#[pymethods]
impl Model {
    fn __repr__(&self) -> String {
        format!("deepemd.Model({}, device={:?})", self.source, self.device)
    }
}

/// Loads a model folder (`config.json`, `model.safetensors`), or the default model shipped in
/// this module when `path` is None, onto `device` (`"cpu"`, or `"cuda"` in a CUDA build).
#[pyfunction]
#[pyo3(signature = (path = None, device = "cpu"))]
pub fn load_model(path: Option<PathBuf>, device: &str) -> PyResult<Model> {
    let device = device_from_name(device).map_err(errors::model)?;
    let (weights, source) = match &path {
        Some(dir) => (
            DeepEmdModel::load(dir, &device).map_err(errors::model)?,
            format!("'{}'", dir.display()),
        ),
        None => (
            default_model(&device).map_err(errors::model)?,
            "default".into(),
        ),
    };
    Ok(Model {
        weights,
        device,
        source,
    })
}

/// The shipped model on the CPU, loaded once.
fn default_cpu_model() -> PyResult<&'static Model> {
    static DEFAULT: OnceLock<Model> = OnceLock::new();
    if let Some(m) = DEFAULT.get() {
        return Ok(m);
    }
    let m = load_model(None, "cpu")?;
    Ok(DEFAULT.get_or_init(|| m))
}

/// What one solve returns besides the EMD: the exact solver's certificate gap.
#[derive(Debug)]
pub struct Solved {
    /// Distance, pairing, gradient.
    pub emd: Emd,
    /// `primal − dual` in the EMD's units (`exact` only): how far above the optimum the
    /// returned matching can be.
    pub gap: Option<f64>,
    /// Wall time of the solve.
    pub seconds: f64,
}

/// A method with its settings, ready to solve pairs (from any thread).
#[derive(Debug)]
pub struct Solver {
    estimator: Estimator,
    request: EmdRequest,
    /// The method's name (`exact`, `model/refined`, …).
    pub name: String,
}

enum Estimator {
    Exact(Exact),
    Other(Box<dyn EmdEstimator>),
}

impl std::fmt::Debug for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(e) => e.fmt(f),
            Self::Other(e) => f.write_str(e.name()),
        }
    }
}

impl Solver {
    /// The solver the keyword arguments describe.
    pub fn new(
        method: &str,
        cost: &str,
        rounding: Option<&str>,
        unequal: &str,
        gradient: bool,
        model: Option<&Model>,
    ) -> PyResult<Self> {
        let mut spec: MethodSpec = method.parse().map_err(errors::method)?;
        if let Some(r) = rounding {
            if method.contains('/') {
                return Err(errors::value(format!(
                    "the rounding is given twice: in method='{method}' and as rounding='{r}'"
                )));
            }
            let r: Rounding = r.parse().map_err(errors::core)?;
            spec = MethodSpec::with_rounding(spec.method(), Some(r)).map_err(errors::method)?;
        }
        if model.is_some() && spec.method() != Method::Model {
            return Err(errors::value(format!(
                "model= applies only to method='model', not to '{method}'"
            )));
        }
        let cost: Cost = cost.parse().map_err(errors::core)?;
        let unequal: Unequal = unequal.parse().map_err(errors::core)?;
        let mut request = EmdRequest::new(cost).with_unequal(unequal);
        if gradient {
            request = request.with_gradient();
        }
        let estimator = match spec.method() {
            Method::Exact => Estimator::Exact(Exact::default()),
            Method::Model => {
                let m = match model {
                    Some(m) => m,
                    None => default_cpu_model()?,
                };
                let rounding = spec.rounding().unwrap_or(Rounding::RowArgmax);
                Estimator::Other(Box::new(
                    DeepEmd::new(m.weights.clone(), m.device.clone()).with_rounding(rounding),
                ))
            }
            _ => Estimator::Other(
                spec.estimator(&Default::default())
                    .map_err(errors::method)?,
            ),
        };
        Ok(Self {
            estimator,
            request,
            name: spec.to_string(),
        })
    }

    /// The ground cost.
    pub fn cost(&self) -> Cost {
        self.request.cost
    }

    /// The convention for unequal sizes.
    pub fn unequal(&self) -> Unequal {
        self.request.unequal
    }

    /// Solves one pair.
    pub fn solve(&self, a: &PointCloud, b: &PointCloud) -> deepemd_core::Result<Solved> {
        let start = std::time::Instant::now();
        let (emd, gap) = match &self.estimator {
            Estimator::Exact(exact) => {
                let s = exact.solve(a, b, self.request)?;
                // The certificate's figures are sums over the pairs of a matching, and already
                // mass-weighted for a plan.
                let pairs = match &s.emd.pairing {
                    Pairing::Plan(_) => 1.0,
                    _ => a.len().min(b.len()) as f64,
                };
                let gap = (s.certificate.gap() / pairs).max(0.0);
                (s.emd, Some(gap))
            }
            Estimator::Other(e) => (e.estimate(a, b, self.request)?, None),
        };
        Ok(Solved {
            emd,
            gap,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

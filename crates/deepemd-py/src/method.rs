//! The keyword arguments that choose a method, and the solver they build.

use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::Device;
use deepemd_core::{Cost, Emd, EmdEstimator, EmdRequest, Method, PointCloud, Unequal};
use deepemd_methods::{MethodSpec, ModelSource};
use deepemd_model::{DeepEmdModel, default_model, device_from_name};
use pyo3::prelude::*;

use crate::errors;

/// A DeepEMD model's weights on a device, from ``deepemd.load_model``; pass it as ``model=``
/// with ``method="model"``.
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

/// Loads DeepEMD weights for ``method="model"``.
///
/// Parameters
/// ----------
/// path : str or os.PathLike or None
///     A model folder (``config.json``, ``model.safetensors``, as ``deepemd train`` writes
///     it); None for the default model shipped in this module.
/// device : str
///     ``"cpu"``, or ``"cuda"`` in a CUDA build.
///
/// Returns
/// -------
/// Model
///     Pass it as ``model=`` to :func:`emd`, :func:`emd_batch` or the torch loss.
///
/// Examples
/// --------
/// >>> import deepemd
/// >>> model = deepemd.load_model()
/// >>> r = deepemd.emd([[0, 0], [1, 0]], [[0, 1], [1, 1]], method="model", model=model)
/// >>> round(r.distance, 6)
/// 1.0
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

/// One solve: the EMD (with the exact solver's certificate gap) and its wall time.
#[derive(Debug)]
pub struct Solved {
    /// Distance, pairing, gradient, certificate gap.
    pub emd: Emd,
    /// Wall time of the solve.
    pub seconds: f64,
}

/// A method with its settings, ready to solve pairs (from any thread).
pub struct Solver {
    estimator: Box<dyn EmdEstimator>,
    request: EmdRequest,
    /// The method and its rounding, as the registry spells them.
    pub spec: MethodSpec,
}

impl std::fmt::Debug for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Solver({}, {:?})", self.spec, self.request)
    }
}

impl Solver {
    /// The solver the keyword arguments describe, built by the registry of `deepemd-methods`
    /// like every other front end's.
    pub fn new(
        method: &str,
        cost: &str,
        rounding: Option<&str>,
        unequal: &str,
        gradient: bool,
        model: Option<&Model>,
    ) -> PyResult<Self> {
        let spec = MethodSpec::parse_with_rounding(method, rounding).map_err(errors::method)?;
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
        let source = if spec.method() == Method::Model {
            let m = match model {
                Some(m) => m,
                None => default_cpu_model()?,
            };
            ModelSource::Loaded(m.weights.clone(), m.device.clone())
        } else {
            ModelSource::Default
        };
        let estimator = spec.estimator(&source).map_err(errors::method)?;
        Ok(Self {
            estimator,
            request,
            spec,
        })
    }

    /// What every pair is solved with.
    pub fn request(&self) -> EmdRequest {
        self.request
    }

    /// Solves one pair.
    pub fn solve(&self, a: &PointCloud, b: &PointCloud) -> deepemd_core::Result<Solved> {
        let start = std::time::Instant::now();
        let emd = self.estimator.estimate(a, b, self.request)?;
        Ok(Solved {
            emd,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

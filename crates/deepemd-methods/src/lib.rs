//! # deepemd-methods
//!
//! The one registry of EMD methods: a [`MethodSpec`] names a method and, for the model, its
//! rounding, with one spelling — `exact`, `hungarian`, `sinkhorn`, `model/argmax`,
//! `model/greedy`, `model/sinkhorn-greedy`, `model/refined` — that the CLI, the tables, the
//! figures and the benches all use, and [`MethodSpec::estimator`] is the only place a name
//! becomes an estimator.
//!
//! ```
//! use deepemd_core::{Cost, EmdRequest, Method, PointCloud};
//! use deepemd_methods::{MethodSpec, ModelSource};
//! let a = PointCloud::from_points(&[[0.0, 0.0], [1.0, 0.0]])?;
//! let b = PointCloud::from_points(&[[1.0, 1.0], [0.0, 1.0]])?;
//! let spec: MethodSpec = "exact".parse()?;
//! let exact = spec.estimator(&ModelSource::Default)?;
//! assert_eq!(exact.estimate(&a, &b, EmdRequest::new(Cost::Euclidean))?.distance, 1.0);
//! let refined: MethodSpec = "model/refined".parse()?;
//! assert_eq!(refined.method(), Method::Model);
//! assert_eq!(refined.estimator(&ModelSource::Default)?.name(), "model/refined");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod record;

pub use record::{EmdRecord, matching_value};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use candle_core::Device;
use deepemd_core::{EmdEstimator, Method};
use deepemd_model::{DeepEmd, DeepEmdModel, Rounding, default_model};
use deepemd_solvers::{Exact, Hungarian, Sinkhorn};

/// What can go wrong naming or building a method.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name or combination that does not exist.
    #[error("{0}")]
    Unknown(String),
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] deepemd_model::Error),
    /// A core type refused something.
    #[error(transparent)]
    Core(#[from] deepemd_core::Error),
}

/// So that `"model/refined".parse::<MethodSpec>()?` works in a candle training loop returning
/// `candle_core::Result` (the message is kept).
impl From<Error> for candle_core::Error {
    fn from(e: Error) -> Self {
        candle_core::Error::wrap(e)
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A method and, for the model, its rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MethodSpec {
    method: Method,
    rounding: Option<Rounding>,
}

impl MethodSpec {
    /// A method without rounding; the model gets [`Rounding::DEFAULT`].
    pub fn new(method: Method) -> Self {
        let rounding = (method == Method::Model).then_some(Rounding::DEFAULT);
        Self { method, rounding }
    }

    /// The model with this rounding.
    pub fn model(rounding: Rounding) -> Self {
        Self {
            method: Method::Model,
            rounding: Some(rounding),
        }
    }

    /// `method` with `rounding`, which only the model takes: an error says so for the others.
    pub fn with_rounding(method: Method, rounding: Option<Rounding>) -> Result<Self> {
        match (method, rounding) {
            (Method::Model, r) => Ok(Self::model(r.unwrap_or(Rounding::DEFAULT))),
            (m, None) => Ok(Self::new(m)),
            (m, Some(r)) => Err(Error::Unknown(format!(
                "a rounding ({r}) applies only to the model, not to {m}"
            ))),
        }
    }

    /// The spelling of a method with its rounding given apart (`--method model --rounding
    /// refined`, Python's `method="model", rounding="refined"`): the same spec as
    /// `model/refined`. A rounding named in both places is an error, as is one for another
    /// method.
    pub fn parse_with_rounding(method: &str, rounding: Option<&str>) -> Result<Self> {
        let spec: MethodSpec = method.parse()?;
        match rounding {
            None => Ok(spec),
            Some(r) if method.contains('/') => Err(Error::Unknown(format!(
                "the rounding is given twice: in the method '{method}' and as '{r}'"
            ))),
            Some(r) => Self::with_rounding(spec.method, Some(r.parse()?)),
        }
    }

    /// Every spec: the three solvers, then the model with each rounding.
    pub fn every() -> Vec<MethodSpec> {
        let solvers = [Method::Exact, Method::Hungarian, Method::Sinkhorn].map(Self::new);
        let model = Rounding::ALL.map(Self::model);
        solvers.into_iter().chain(model).collect()
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The model's rounding (`None` for the other methods).
    pub fn rounding(&self) -> Option<Rounding> {
        self.rounding
    }

    /// Builds the estimator. The model's weights come from `model` and run on its device; the
    /// other methods ignore it.
    pub fn estimator(&self, model: &ModelSource) -> Result<Box<dyn EmdEstimator>> {
        Ok(match self.method {
            Method::Exact => Box::new(Exact::default()),
            Method::Hungarian => Box::new(Hungarian),
            Method::Sinkhorn => Box::new(Sinkhorn::default()),
            Method::Model => {
                let (weights, device) = model.load()?;
                let rounding = self.rounding.unwrap_or(Rounding::DEFAULT);
                Box::new(DeepEmd::new(weights, device).with_rounding(rounding))
            }
        })
    }
}

impl From<Method> for MethodSpec {
    fn from(method: Method) -> Self {
        Self::new(method)
    }
}

impl fmt::Display for MethodSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rounding {
            Some(r) => write!(f, "{}/{r}", self.method),
            None => write!(f, "{}", self.method),
        }
    }
}

impl FromStr for MethodSpec {
    type Err = Error;
    /// `exact`, `hungarian`, `sinkhorn`, `model` (the row argmax) or `model/<rounding>`.
    fn from_str(s: &str) -> Result<Self> {
        let (method, rounding) = match s.split_once('/') {
            Some((m, r)) => (m, Some(r.parse::<Rounding>()?)),
            None => (s, None),
        };
        Self::with_rounding(method.parse()?, rounding)
    }
}

/// Where the model's weights come from, and the device it runs on.
#[derive(Clone, Debug, Default)]
pub enum ModelSource {
    /// The default model built into the binaries, on the CPU.
    #[default]
    Default,
    /// The built-in model on a device.
    DefaultOn(Device),
    /// A model folder (`config.json`, `model.safetensors`) on a device.
    Folder(PathBuf, Device),
    /// Weights already loaded (Python's `deepemd.load_model`), on their device.
    Loaded(DeepEmdModel, Device),
}

impl ModelSource {
    /// A folder or the built-in model, on `device`.
    pub fn new(folder: Option<PathBuf>, device: Device) -> Self {
        match folder {
            Some(dir) => ModelSource::Folder(dir, device),
            None => ModelSource::DefaultOn(device),
        }
    }

    /// Loads the weights.
    pub fn load(&self) -> Result<(DeepEmdModel, Device)> {
        Ok(match self {
            ModelSource::Default => (default_model(&Device::Cpu)?, Device::Cpu),
            ModelSource::DefaultOn(d) => (default_model(d)?, d.clone()),
            ModelSource::Folder(dir, d) => (DeepEmdModel::load(dir, d)?, d.clone()),
            ModelSource::Loaded(weights, d) => (weights.clone(), d.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips_and_builds_an_estimator_of_that_name() {
        for spec in MethodSpec::every() {
            let name = spec.to_string();
            assert_eq!(name.parse::<MethodSpec>().unwrap(), spec, "{name}");
            let est = spec.estimator(&ModelSource::Default).unwrap();
            assert_eq!(est.name(), name);
            assert_eq!(est.is_exact(), spec.method().is_exact());
        }
        assert_eq!(
            "model".parse::<MethodSpec>().unwrap(),
            MethodSpec::model(Rounding::RowArgmax)
        );
    }

    #[test]
    fn bad_names_and_misplaced_roundings_are_errors() {
        for bad in ["scipy", "model/best", "exact/refined", "model/", ""] {
            assert!(bad.parse::<MethodSpec>().is_err(), "{bad}");
        }
        let err = MethodSpec::with_rounding(Method::Exact, Some(Rounding::REFINED)).unwrap_err();
        assert!(err.to_string().contains("only to the model"), "{err}");
        // The rounding apart: the same spec as written together, never given twice.
        assert_eq!(
            MethodSpec::parse_with_rounding("model", Some("refined")).unwrap(),
            "model/refined".parse().unwrap()
        );
        for (m, r, says) in [
            ("model/greedy", "refined", "given twice"),
            ("exact", "refined", "only to the model"),
            ("model", "best", "best"),
        ] {
            let e = MethodSpec::parse_with_rounding(m, Some(r))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{m} {r}: {e}");
        }
    }
}

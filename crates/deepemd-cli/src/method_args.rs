//! The options that choose a method, shared by `emd` and `emd-batch`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Method, Unequal};
use deepemd_methods::{MethodSpec, ModelSource};
use deepemd_model::device_from_name;

#[derive(Args, Debug)]
pub struct MethodArgs {
    /// Method: `exact` is the certified fast exact solver; `hungarian` the reference (scipy's
    /// algorithm); `sinkhorn` the entropic approximation; `model` the DeepEMD network, with its
    /// rounding as `model/argmax` (the default), `model/greedy`, `model/sinkhorn-greedy` or
    /// `model/refined` — the `method` every JSON result prints.
    #[arg(long, default_value = "exact")]
    pub method: String,
    /// With `--method model`: a model folder (config.json, model.safetensors) instead of the
    /// default model built into this binary.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With `--method model`: how the network's scores become a matching. `argmax` (the
    /// default) is the paper's row argmax (not a bijection; can fall below the EMD); `greedy`
    /// and `sinkhorn-greedy` round to a bijection (never below the EMD); `refined` adds 2-opt
    /// on the true costs. For clouds of different sizes all work from the smaller cloud (the
    /// argmax gives each of its points a partner; the others a partial matching covering it).
    /// (`--method model --rounding R` is `--method model/R`.)
    #[arg(long)]
    pub rounding: Option<String>,
    /// With `--method model`: `cpu` or `cuda` (a build with `--features cuda`).
    #[arg(long)]
    pub device: Option<String>,
    /// Ground cost: `euclidean` (mean distance, the default) or `sqeuclidean`.
    #[arg(long, default_value = "euclidean", value_parser = parse_cost)]
    pub cost: Cost,
    /// When the clouds have different sizes n < m: `uniform` (the default) is optimal transport
    /// between the uniform distributions (weight 1/n and 1/m; every point used, mass may split;
    /// the value of POT's `ot.emd2` and of published n ≠ m figures); `partial` matches every
    /// point of the smaller cloud to a distinct point of the larger and ignores the rest (mean
    /// over the n pairs; a partial scan against a whole shape). Equal sizes: both are the same
    /// EMD. `exact` and `sinkhorn` compute both; `hungarian` computes
    /// `uniform` up to lcm(n, m) = 2048; `model` estimates `partial` only.
    #[arg(long, default_value = "uniform", value_parser = parse_unequal)]
    pub unequal: Unequal,
}

fn parse_unequal(s: &str) -> Result<Unequal, String> {
    s.parse().map_err(|e: deepemd_core::Error| e.to_string())
}

impl MethodArgs {
    /// The request every pair gets: the cost and the convention for unequal sizes.
    pub fn request(&self) -> EmdRequest {
        EmdRequest::new(self.cost).with_unequal(self.unequal)
    }

    /// The method and its rounding, parsed by the registry (`--method` and `--rounding`).
    pub fn spec(&self) -> Result<MethodSpec> {
        MethodSpec::parse_with_rounding(&self.method, self.rounding.as_deref())
            .with_context(|| format!("--method {}", self.method))
    }

    /// The method, its rounding and the model's source; options that do not apply to the
    /// method are errors, not silently ignored.
    pub fn estimator(&self) -> Result<Box<dyn EmdEstimator>> {
        let spec = self.spec()?;
        if spec.method() != Method::Model {
            for (given, option) in [
                (self.model.is_some(), "--model"),
                (self.device.is_some(), "--device"),
            ] {
                if given {
                    bail!("{option} applies only to --method model, not to {spec}");
                }
            }
        }
        let device = device_from_name(self.device.as_deref().unwrap_or("cpu"))?;
        let source = ModelSource::new(self.model.clone(), device);
        spec.estimator(&source).context("loading the model")
    }
}

fn parse_cost(s: &str) -> Result<Cost, String> {
    s.parse().map_err(|e: deepemd_core::Error| e.to_string())
}

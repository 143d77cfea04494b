//! The shipped default model (`models/default/`), embedded in the binary so
//! `deepemd emd A B --method model` works without any file next to it.

use candle_core::Device;

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::DeepEmdModel;

const CONFIG: &str = include_str!("../default-model/config.json");
const WEIGHTS: &[u8] = include_bytes!("../default-model/model.safetensors");

/// The default model's configuration.
pub fn default_config() -> Result<ModelConfig> {
    let cfg: ModelConfig = serde_json::from_str(CONFIG)
        .map_err(|e| Error::Config(format!("embedded config.json: {e}")))?;
    cfg.check()?;
    Ok(cfg)
}

/// The default model, loaded from the weights embedded at build time.
pub fn default_model(device: &Device) -> Result<DeepEmdModel> {
    DeepEmdModel::from_safetensors(&default_config()?, WEIGHTS, device)
}

//! The model's hyper-parameters: a plain serde struct saved as `config.json` beside the weights.

use std::path::Path;

use crate::error::{Error, Result};

/// DeepEMD transformer settings.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// Point dimension (2 or 3).
    pub point_dim: usize,
    /// Token width.
    pub d_model: usize,
    /// Encoder blocks.
    pub layers: usize,
    /// Attention heads per block (must divide `d_model`).
    pub heads: usize,
    /// Hidden width of each block's feed-forward network.
    pub ffn: usize,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f64,
    /// Log-domain Sinkhorn rounds of the matching layer applied to the logits, in training and
    /// inference (0: none, the paper's plain logits). See `matching_layer.rs`.
    #[serde(default)]
    pub sinkhorn_layer: usize,
}

impl Default for ModelConfig {
    /// The paper-sized model of the prototype: d 128, 4 layers, 4 heads, FFN 512.
    fn default() -> Self {
        Self {
            point_dim: 3,
            d_model: 128,
            layers: 4,
            heads: 4,
            ffn: 512,
            layer_norm_eps: 1e-5,
            sinkhorn_layer: 0,
        }
    }
}

impl ModelConfig {
    /// Checks every value once.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(self.point_dim == 2 || self.point_dim == 3) {
            return bad(format!("point_dim must be 2 or 3, got {}", self.point_dim));
        }
        if self.d_model == 0 || self.heads == 0 || self.ffn == 0 || self.layers == 0 {
            return bad("d_model, heads, ffn and layers must be positive".into());
        }
        if self.d_model % self.heads != 0 {
            return bad(format!(
                "heads ({}) must divide d_model ({})",
                self.heads, self.d_model
            ));
        }
        if !(self.layer_norm_eps > 0.0) {
            return bad("layer_norm_eps must be positive".into());
        }
        Ok(())
    }

    /// Reads and checks `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Load {
            path: path.into(),
            message: e.to_string(),
        })?;
        let cfg: Self = serde_json::from_str(&text).map_err(|e| Error::Load {
            path: path.into(),
            message: format!("not a model config ({e})"),
        })?;
        cfg.check().map_err(|e| Error::Load {
            path: path.into(),
            message: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// The config as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the config serializes")
    }
}

//! The DeepEMD network: tokens from both clouds (of any sizes `n` and `m`), a shared encoder,
//! a final single-head attention whose `n × m` logits score every point of B as the match of
//! every point of A, and the optional matching layer on those logits.

use std::borrow::Cow;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{VarBuilder, VarMap};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::kernels::FusedKernels;
use crate::layers::{EncoderBlock, LayerNorm};
use crate::linear::Linear;
use crate::matching_layer::{sinkhorn_layer, smaller_side_argmax};

/// Query rows per attention block at inference: 2 × 1024 × T scores per head at most.
pub const DEFAULT_BLOCK_ROWS: usize = 1024;

/// Rows of logits per step of [`DeepEmdModel::smaller_side_argmax`]: `256 × m` floats per pair
/// (16 MiB at m = 16384), enough rows for the matmul to run at full rate.
pub const ARGMAX_BLOCK_ROWS: usize = 256;

/// The network. Build it with [`DeepEmdModel::new`] over a `VarBuilder` (fresh weights from a
/// `VarMap` for training) or load a saved folder with [`DeepEmdModel::load`].
#[derive(Clone, Debug)]
pub struct DeepEmdModel {
    config: ModelConfig,
    embed: Linear,
    segment: Tensor,
    blocks: Vec<EncoderBlock>,
    final_norm: LayerNorm,
    w_q: Linear,
    w_k: Linear,
    kernels: FusedKernels,
}

impl DeepEmdModel {
    /// Creates (or fetches from `vb`) every weight: `embed`, `segment` `[2, d]`, `blocks.{i}`,
    /// `final_norm`, `match_q`, `match_k`.
    pub fn new(config: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        config.check()?;
        let d = config.d_model;
        let blocks = (0..config.layers)
            .map(|i| EncoderBlock::new(config, vb.pp(format!("blocks.{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            embed: Linear::new(config.point_dim, d, vb.pp("embed"))?,
            segment: vb.get_with_hints(
                (2, d),
                "segment",
                candle_nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            blocks,
            final_norm: LayerNorm::new(d, config.layer_norm_eps, vb.pp("final_norm"))?,
            w_q: Linear::no_bias(d, d, vb.pp("match_q"))?,
            w_k: Linear::no_bias(d, d, vb.pp("match_k"))?,
            kernels: FusedKernels::default(),
        })
    }

    /// The same network (sharing the weights) with the fused CPU kernels (attention and
    /// LayerNorm; the default in both passes) or the reference path of candle ops.
    pub fn with_fused_kernels(mut self, kernels: FusedKernels) -> Self {
        for block in &mut self.blocks {
            block.set_kernels(kernels);
        }
        self.final_norm.set_kernels(kernels);
        self.kernels = kernels;
        self
    }

    /// Which kernels run on the CPU, in each pass.
    pub fn fused_kernels(&self) -> FusedKernels {
        self.kernels
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Loads `config.json` and `model.safetensors` from `dir`. A truncated or mismatched weight
    /// file is an error naming the file.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config = ModelConfig::load(&dir.join("config.json"))?;
        let weights = dir.join("model.safetensors");
        let bytes = std::fs::read(&weights).map_err(|e| Error::Load {
            path: weights.clone(),
            message: e.to_string(),
        })?;
        Self::from_safetensors(&config, &bytes, device).map_err(|e| Error::Load {
            path: weights,
            message: e.to_string(),
        })
    }

    /// Builds the model from in-memory safetensors bytes (e.g. the weights embedded in the CLI).
    pub fn from_safetensors(config: &ModelConfig, bytes: &[u8], device: &Device) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| Error::Config(format!("unreadable safetensors ({e})")))?;
        crate::weights::check_weights(config, &tensors)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Self::new(config, vb)
            .map_err(|e| Error::Config(format!("the weights do not fit the config ({e})")))
    }

    /// Fresh weights in a new `VarMap` (for training).
    pub fn fresh(config: &ModelConfig, device: &Device) -> Result<(Self, VarMap)> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let model = Self::new(config, vb)?;
        Ok((model, varmap))
    }

    /// The matching logits `S[b, i, j]`: how much the network believes `b_j` is the optimal
    /// match of `a_i`, after the matching layer when the config has one. `train` selects
    /// differentiable kernels; `block_rows` bounds the attention scores held at once on the
    /// reference path.
    ///
    /// # Shapes
    /// `a`: `[B, n, point_dim]`, `b`: `[B, m, point_dim]` → `[B, n, m]`.
    pub fn logits(&self, a: &Tensor, b: &Tensor, train: bool, block_rows: usize) -> Result<Tensor> {
        let (q, k) = self.match_features(a, b, train, block_rows)?;
        let s = q.matmul(&k.transpose(1, 2)?.contiguous()?)?;
        sinkhorn_layer(&s, self.config.sinkhorn_layer)
    }

    /// The argmax of [`Self::logits`] over the larger cloud for every point of the smaller one
    /// (A when `n <= m`: each row's best column; else each column's best row), first maximum on
    /// ties as [`Rounding::RowArgmax`] breaks them. The logits are computed
    /// [`ARGMAX_BLOCK_ROWS`] rows at a time (again for each round of the matching layer) and
    /// never stored, so the memory is that of the encoder (`O((n + m)·d)` per pair). The
    /// blocks' products may round differently from the whole matrix's, so on a near-tie
    /// (logits within ~1e-5) the choice can differ from the argmax of [`Self::logits`].
    ///
    /// # Shapes
    /// `a`: `[B, n, point_dim]`, `b`: `[B, m, point_dim]` → `B` vectors of `min(n, m)` indices
    /// into the larger cloud.
    ///
    /// [`Rounding::RowArgmax`]: crate::Rounding::RowArgmax
    pub fn smaller_side_argmax(
        &self,
        a: &Tensor,
        b: &Tensor,
        block_rows: usize,
    ) -> Result<Vec<Vec<usize>>> {
        let (q, k) = self.match_features(a, b, false, block_rows)?;
        let (batch, n, _) = q.dims3()?;
        let m = k.dim(1)?;
        let k_t = k.transpose(1, 2)?.contiguous()?; // [B, d, m]
        (0..batch)
            .map(|p| {
                let (q, k_t) = (q.get(p)?, k_t.get(p)?);
                let mut rows = |start: usize, count: usize| -> Result<Cow<'static, [f32]>> {
                    let s = q.narrow(0, start, count)?.matmul(&k_t)?; // [count, m]
                    let s = s.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
                    Ok(Cow::Owned(s))
                };
                smaller_side_argmax(
                    n,
                    m,
                    self.config.sinkhorn_layer,
                    ARGMAX_BLOCK_ROWS,
                    &mut rows,
                )
            })
            .collect()
    }

    /// The two sides of the final single-head attention: `q = W_q h_A / √d` and `k = W_k h_B`,
    /// so that the logits are `q kᵀ` (the scale is applied to `q`, `n·d` values, rather than to
    /// the `n × m` logits).
    ///
    /// # Shapes
    /// `a`: `[B, n, point_dim]`, `b`: `[B, m, point_dim]` → `[B, n, d]` and `[B, m, d]`.
    pub fn match_features(
        &self,
        a: &Tensor,
        b: &Tensor,
        train: bool,
        block_rows: usize,
    ) -> Result<(Tensor, Tensor)> {
        let (n, m) = (a.dim(1)?, b.dim(1)?);
        let ta = self
            .embed
            .forward(a)?
            .broadcast_add(&self.segment.get(0)?)?;
        let tb = self
            .embed
            .forward(b)?
            .broadcast_add(&self.segment.get(1)?)?;
        let mut x = Tensor::cat(&[ta, tb], 1)?;
        for block in &self.blocks {
            x = block.forward_t(&x, train, block_rows)?;
        }
        let h = self.final_norm.forward_t(&x, train)?;
        let scale = 1.0 / (self.config.d_model as f64).sqrt();
        let q = (self.w_q.forward(&h.narrow(1, 0, n)?)? * scale)?;
        let k = self.w_k.forward(&h.narrow(1, n, m)?)?;
        Ok((q, k))
    }
}

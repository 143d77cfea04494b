//! The transformer's layers. candle-nn has no TransformerEncoder or MultiheadAttention, and its
//! fused `softmax_last_dim` and `layer_norm` have no backward pass. On the CPU both passes use
//! this crate's fused kernels (which have one); elsewhere, or on the reference path that the
//! parity tests compare against, training (`train = true`) uses versions built from primitive
//! ops and inference candle's fused ones.

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::linear::Linear;

use crate::config::ModelConfig;
use crate::fused_attention::fused_attention;
use crate::fused_layer_norm::fused_layer_norm;
use crate::kernels::FusedKernels;

/// Whether `x` can go through this crate's fused CPU kernels.
fn fusable(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Layer normalization over the last dimension.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    kernels: FusedKernels,
}

impl LayerNorm {
    /// Weight `[d]` (init 1) and bias `[d]` (init 0).
    pub fn new(d: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(d, "weight", candle_nn::Init::Const(1.0))?;
        let bias = vb.get_with_hints(d, "bias", candle_nn::Init::Const(0.0))?;
        Ok(Self {
            weight,
            bias,
            eps,
            kernels: FusedKernels::default(),
        })
    }

    /// Chooses the fused CPU kernel or the reference path, in each pass.
    pub fn set_kernels(&mut self, kernels: FusedKernels) {
        self.kernels = kernels;
    }

    /// # Shapes
    /// `x`: `[.., d]` → `[.., d]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if self.kernels.in_pass(train) && fusable(x) {
            return fused_layer_norm(x, &self.weight, &self.bias, self.eps as f32);
        }
        if !train && x.is_contiguous() {
            return candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32);
        }
        layer_norm_of_primitive_ops(x, &self.weight, &self.bias, self.eps)
    }
}

/// Layer normalization over the last dimension built from differentiable candle ops: the
/// reference path in training, and the fused kernel's reference in its tests.
pub(crate) fn layer_norm_of_primitive_ops(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    let normed = centered.broadcast_div(&(var + eps)?.sqrt()?)?;
    normed.broadcast_mul(weight)?.broadcast_add(bias)
}

/// Softmax over the last dimension, differentiable when `train`.
pub fn softmax_t(x: &Tensor, train: bool) -> Result<Tensor> {
    if train {
        candle_nn::ops::softmax(x, D::Minus1)
    } else {
        candle_nn::ops::softmax_last_dim(x)
    }
}

/// Multi-head self-attention over all tokens.
#[derive(Clone, Debug)]
pub struct MultiHeadAttention {
    qkv: Linear,
    out: Linear,
    heads: usize,
    head_dim: usize,
    kernels: FusedKernels,
}

impl MultiHeadAttention {
    /// Weights `qkv` `[3d, d]` and `out` `[d, d]`.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            qkv: Linear::new(d, 3 * d, vb.pp("qkv"))?,
            out: Linear::new(d, d, vb.pp("out"))?,
            heads: cfg.heads,
            head_dim: d / cfg.heads,
            kernels: FusedKernels::default(),
        })
    }

    /// Chooses the fused CPU kernel or the reference path of candle ops, in each pass; the
    /// parity tests compare them.
    pub fn set_kernels(&mut self, kernels: FusedKernels) {
        self.kernels = kernels;
    }

    /// Attention of every token to every token. On the CPU in f32 the fused kernel computes it
    /// without a score matrix; otherwise (CUDA, or the reference path) `block_rows` query rows
    /// at a time, so that at most `heads × block_rows × T` scores exist at once.
    ///
    /// # Shapes
    /// `x`: `[B, T, d]` → `[B, T, d]`.
    pub fn forward_t(&self, x: &Tensor, train: bool, block_rows: usize) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, t, 3, self.heads, self.head_dim))?;
        let qkv = qkv.permute((2, 0, 3, 1, 4))?; // [3, B, H, T, dh]
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        if self.kernels.in_pass(train) && fusable(x) {
            // On the CPU: the fused kernel (differentiable), no score matrix (`block_rows`
            // moot).
            let y = fused_attention(&qkv.get(0)?, &qkv.get(1)?, &qkv.get(2)?, scale as f32)?;
            let y = y.transpose(1, 2)?.reshape((b, t, d))?;
            return self.out.forward(&y);
        }
        let q = (qkv.get(0)? * scale)?.contiguous()?;
        let k_t = qkv.get(1)?.transpose(2, 3)?.contiguous()?; // [B, H, dh, T]
        let v = qkv.get(2)?.contiguous()?;
        let block = block_rows.max(1);
        let mut outs = Vec::with_capacity(t.div_ceil(block));
        for start in (0..t).step_by(block) {
            let rows = block.min(t - start);
            let q_blk = if rows == t {
                q.clone()
            } else {
                q.narrow(2, start, rows)?
            };
            let scores = q_blk.matmul(&k_t)?; // [B, H, rows, T]
            let weights = softmax_t(&scores, train)?;
            outs.push(weights.matmul(&v)?); // [B, H, rows, dh]
        }
        let y = if outs.len() == 1 {
            outs.pop().expect("one block")
        } else {
            Tensor::cat(&outs, 2)?
        };
        let y = y.transpose(1, 2)?.reshape((b, t, d))?;
        self.out.forward(&y)
    }
}

/// A pre-norm encoder block: `x + MHA(LN(x))`, then `x + FFN(LN(x))`.
#[derive(Clone, Debug)]
pub struct EncoderBlock {
    norm1: LayerNorm,
    attn: MultiHeadAttention,
    norm2: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
}

impl EncoderBlock {
    /// Chooses the fused CPU kernels or the reference path for all its sublayers.
    pub fn set_kernels(&mut self, kernels: FusedKernels) {
        self.norm1.set_kernels(kernels);
        self.attn.set_kernels(kernels);
        self.norm2.set_kernels(kernels);
    }

    /// The block's sublayers under `vb`.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm1: LayerNorm::new(cfg.d_model, cfg.layer_norm_eps, vb.pp("norm1"))?,
            attn: MultiHeadAttention::new(cfg, vb.pp("attn"))?,
            norm2: LayerNorm::new(cfg.d_model, cfg.layer_norm_eps, vb.pp("norm2"))?,
            ffn_in: Linear::new(cfg.d_model, cfg.ffn, vb.pp("ffn_in"))?,
            ffn_out: Linear::new(cfg.ffn, cfg.d_model, vb.pp("ffn_out"))?,
        })
    }

    /// # Shapes
    /// `x`: `[B, T, d]` → `[B, T, d]`.
    pub fn forward_t(&self, x: &Tensor, train: bool, block_rows: usize) -> Result<Tensor> {
        let x = (x + self
            .attn
            .forward_t(&self.norm1.forward_t(x, train)?, train, block_rows)?)?;
        let h = self
            .ffn_in
            .forward(&self.norm2.forward_t(&x, train)?)?
            .relu()?;
        x + self.ffn_out.forward(&h)?
    }
}

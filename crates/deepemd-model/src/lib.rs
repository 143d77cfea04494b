//! # deepemd-model
//!
//! The DeepEMD transformer (arXiv 2311.09998) in candle. Points of both clouds become tokens
//! (a linear embedding of the coordinates plus a learned segment vector saying which cloud);
//! a pre-norm encoder lets every token attend to all `n + m`; a final single-head attention
//! `S = (W_q h_A)(W_k h_B)ᵀ / √d` scores `b_j` as the match of `a_i`, optionally followed by a
//! few Sinkhorn rounds ([`sinkhorn_layer`]). The [`DeepEmd`] estimator turns `S` into a
//! matching ([`Rounding`]; for `n ≠ m` one that covers the smaller cloud) and evaluates its
//! exact cost and gradient.
//!
//! ```no_run
//! use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
//! use deepemd_model::{DeepEmd, DeepEmdModel};
//! let model = DeepEmdModel::load("models/default".as_ref(), &candle_core::Device::Cpu).unwrap();
//! let estimator = DeepEmd::new(model, candle_core::Device::Cpu);
//! # let (a, b) = (PointCloud::from_points(&[[0.0, 0.0, 0.0]]).unwrap(), PointCloud::from_points(&[[1.0, 0.0, 0.0]]).unwrap());
//! let emd = estimator.estimate(&a, &b, EmdRequest::new(Cost::Euclidean).with_gradient()).unwrap();
//! ```

mod config;
mod cpu_slices;
mod default_model;
mod device;
mod error;
mod estimator;
mod fused_attention;
mod fused_layer_norm;
mod kernels;
mod layers;
mod linear;
mod matching_layer;
mod model;
mod rounding;
mod weights;

pub use config::ModelConfig;
pub use default_model::{default_config, default_model};
pub use device::device_from_name;
pub use error::{Error, Result};
pub use estimator::{DeepEmd, MAX_BATCH};
pub use fused_attention::{FusedAttention, fused_attention};
pub use fused_layer_norm::{FusedLayerNorm, fused_layer_norm};
pub use kernels::FusedKernels;
pub use layers::{EncoderBlock, LayerNorm, MultiHeadAttention};
pub use linear::Linear;
pub use matching_layer::sinkhorn_layer;
pub use model::{ARGMAX_BLOCK_ROWS, DEFAULT_BLOCK_ROWS, DeepEmdModel};
pub use rounding::{Rounding, sinkhorn_scores, two_opt, two_opt_pairing};
pub use weights::check_weights;

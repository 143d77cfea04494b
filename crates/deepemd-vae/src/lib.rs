//! # deepemd-vae
//!
//! The paper's generative experiment: a point-cloud VAE ([`PointVae`]: a PointNet encoder, an
//! MLP decoder) trained with one of five reconstruction losses ([`LossKind`]: Chamfer, the
//! exact EMD, the DeepEMD model with row argmax or with the refined rounding, Sinkhorn), on
//! clouds drawn afresh every step from real meshes ([`MeshPool`]), with resumable checkpoints
//! ([`train_vae`]). Its samples are judged by the generation metrics of `deepemd-metrics`.
//!
//! `deepemd vae train` and `deepemd vae sample` are the commands on this crate;
//! `cargo xtask reproduce-tables` runs the five trainings and writes the "VAE" section of
//! docs/results.md.

mod chamfer;
mod checkpoint;
mod config;
mod data;
mod error;
mod evaluate;
mod loss_kind;
mod network;
mod reconstruction_loss;
mod trainer;

pub use chamfer::chamfer_batch;
pub use checkpoint::{VaeEvalRecord, VaeState, VaeStepRecord, load_network, read_state};
pub use config::{
    DEFAULT_MANIFEST, DEFAULT_MESHES, MAX_BATCH, MeshSource, VaeConfig, VaeTrainConfig,
};
pub use data::{MeshPool, augment, evaluation_clouds, to_clouds, to_tensor};
pub use deepemd_train::find_checkpoint;
pub use error::{Error, Result};
pub use evaluate::{
    MAX_SAMPLES, ReconstructionScore, reconstruct, reconstruction_score, sample_prior,
};
pub use loss_kind::LossKind;
pub use network::{LOG_VAR_BIAS_INIT, PointVae, init_vae, kl_divergence};
pub use reconstruction_loss::ReconstructionLoss;
pub use trainer::{EVAL_SPLIT, TRAIN_SPLIT, VaeEvent, VaeOutcome, train_vae};

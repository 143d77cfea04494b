//! # deepemd-vae
//!
//! The paper's generative experiment: a point-cloud VAE ([`PointVae`]: a PointNet encoder, an
//! MLP decoder) trained with one of five reconstruction losses ([`LossKind`]: Chamfer, the
//! exact EMD, the DeepEMD model with row argmax or with the refined rounding, Sinkhorn), on
//! clouds drawn afresh every step from real meshes ([`MeshPool`]), with resumable checkpoints
//! ([`train_vae`]); and the generation metrics MMD, COV and 1-NNA with the **exact** EMD and
//! with Chamfer ([`generation_metrics`]), usable on any two sets of clouds.
//!
//! ```
//! use deepemd_core::PointCloud;
//! use deepemd_vae::generation_metrics;
//! let cloud = |x: f64| PointCloud::from_points(&[[x, 0.0, 0.0], [x, 1.0, 0.0]]);
//! let reference = vec![cloud(0.0)?, cloud(5.0)?];
//! let generated = vec![cloud(0.1)?, cloud(4.8)?];
//! let m = generation_metrics(&reference, &generated, ("reference", "generated"), &|| {})?;
//! assert!((m.mmd_emd - 0.15).abs() < 1e-12); // (0.1 + 0.2) / 2
//! assert_eq!(m.cov_emd, 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `deepemd vae train` and `deepemd gen-metrics` are the commands on this crate;
//! `cargo xtask reproduce-tables` runs the five trainings and writes the "VAE" section of
//! docs/results.md.

mod chamfer;
mod checkpoint;
mod config;
mod data;
mod distance_set;
mod error;
mod evaluate;
mod generation_metrics;
mod loss_kind;
mod network;
mod reconstruction_loss;
mod trainer;

pub use chamfer::{chamfer_batch, chamfer_distance};
pub use checkpoint::{VaeEvalRecord, VaeState, VaeStepRecord, load_network, read_state};
pub use config::{
    DEFAULT_MANIFEST, DEFAULT_MESHES, MAX_BATCH, MeshSource, VaeConfig, VaeTrainConfig,
};
pub use data::{MeshPool, augment, evaluation_clouds, to_clouds, to_tensor};
pub use deepemd_train::find_checkpoint;
pub use distance_set::{
    DISTANCES_MANIFEST, DistanceSetConfig, DistanceSetOutput, DistanceSetReport,
    compute_distance_set, distance_set_metrics, read_distance_set,
};
pub use error::{Error, Result};
pub use evaluate::{
    MAX_SAMPLES, ReconstructionScore, reconstruct, reconstruction_score, sample_prior,
};
pub use generation_metrics::{
    DistanceMatrices, GenerationMetrics, PairJob, SetMetrics, check_sets, distance_matrices,
    exact_emd, generation_metrics, pair_count, pair_jobs, set_metrics,
};
pub use loss_kind::LossKind;
pub use network::{LOG_VAR_BIAS_INIT, PointVae, init_vae, kl_divergence};
pub use reconstruction_loss::ReconstructionLoss;
pub use trainer::{EVAL_SPLIT, TRAIN_SPLIT, VaeEvent, VaeOutcome, train_vae};

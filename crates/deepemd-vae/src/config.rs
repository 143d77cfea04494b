//! The VAE's network ([`VaeConfig`], saved as `config.json` beside the weights) and a training
//! run's settings ([`VaeTrainConfig`], saved in every checkpoint so `--resume` can refuse other
//! settings).

use std::path::PathBuf;

use deepemd_train::LoopPlan;

use crate::error::{Error, Result};
use crate::loss_kind::LossKind;

/// The network: a PointNet encoder (a shared per-point MLP, a max-pool, linear heads for μ and
/// log σ²) and an MLP decoder from the latent to `points × 3` coordinates, the shape of the
/// latent_3d_points autoencoder (Achlioptas et al., 2018).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaeConfig {
    /// Points of each decoded cloud (and of the training clouds).
    pub points: usize,
    /// Latent size.
    pub latent: usize,
    /// Widths of the per-point MLP, in order (ReLU after each).
    pub encoder: Vec<usize>,
    /// Widths of the decoder's hidden layers (ReLU after each); a linear layer to
    /// `points × 3` follows.
    pub decoder: Vec<usize>,
}

impl VaeConfig {
    /// The defaults for `points` points per cloud: latent 128, encoder 64-128-128-256,
    /// decoder 256-256.
    pub fn with_points(points: usize) -> Self {
        Self {
            points,
            latent: 128,
            encoder: vec![64, 128, 128, 256],
            decoder: vec![256, 256],
        }
    }

    /// Checks every size; errors name the setting.
    pub fn check(&self) -> Result<()> {
        if self.points == 0 || self.latent == 0 {
            return Err(Error::Config("points and latent must be at least 1".into()));
        }
        if self.encoder.is_empty() || self.encoder.contains(&0) || self.decoder.contains(&0) {
            return Err(Error::Config(
                "the encoder needs at least one layer and every width must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The config as pretty JSON (`config.json`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the config serializes")
    }
}

/// Where `cargo xtask prepare-datasets` unpacks CGAL's meshes, from the repository root.
pub const DEFAULT_MESHES: &str = "datasets/cache/cgal/data/data/meshes";
/// The manifest of those meshes, from the repository root.
pub const DEFAULT_MANIFEST: &str = "datasets/cgal/manifest.tsv";

/// Where the training shapes come from: the real meshes of the project's dataset.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshSource {
    /// CGAL's meshes folder ([`DEFAULT_MESHES`]).
    pub meshes: PathBuf,
    /// The manifest of meshes with their splits ([`DEFAULT_MANIFEST`]).
    pub manifest: PathBuf,
}

impl Default for MeshSource {
    /// The project's meshes, relative to the repository root.
    fn default() -> Self {
        Self {
            meshes: PathBuf::from(DEFAULT_MESHES),
            manifest: PathBuf::from(DEFAULT_MANIFEST),
        }
    }
}

/// The largest batch: a cloud's random stream is numbered (step, item) with 16 bits for the
/// item.
pub const MAX_BATCH: usize = 1 << 16;

/// The settings of one training run. Every loss of the experiment runs with the same settings
/// but `loss`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaeTrainConfig {
    /// The network.
    pub network: VaeConfig,
    /// The reconstruction loss.
    pub loss: LossKind,
    /// The meshes.
    pub source: MeshSource,
    /// The DeepEMD model folder of the `deepemd` losses; `None`: the built-in default model.
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// Optimizer steps.
    pub steps: usize,
    /// Clouds per step.
    pub batch: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Linear warm-up steps of the learning rate (then cosine decay to `min_lr_ratio · lr`).
    pub warmup: usize,
    /// Final learning rate as a share of the peak.
    pub min_lr_ratio: f64,
    /// Weight decay of the weight matrices.
    pub weight_decay: f64,
    /// Gradients are scaled down to this global norm.
    pub clip_norm: f64,
    /// Weight β of the KL term (KL summed over the latent, averaged over the batch).
    pub kl_weight: f64,
    /// β rises linearly from 0 to `kl_weight` over this many steps.
    pub kl_warmup: usize,
    /// Each axis is scaled by a factor drawn from `[1 − s, 1 + s]` before normalization.
    pub scale_jitter: f64,
    /// Seed of weights, batches and noise.
    pub seed: u64,
    /// Evaluate the held-out reconstruction every this many steps (0: only before the first
    /// step and after the last).
    pub eval_every: usize,
    /// Held-out clouds of that evaluation (sampled from the `test` meshes).
    pub eval_clouds: usize,
    /// Minutes between checkpoints.
    pub checkpoint_minutes: f64,
}

impl VaeTrainConfig {
    /// The settings of the experiment for `loss`, `points` points per cloud and `steps` steps.
    pub fn recipe(loss: LossKind, source: MeshSource, points: usize, steps: usize) -> Self {
        Self {
            network: VaeConfig::with_points(points),
            loss,
            source,
            model: None,
            steps,
            batch: 16,
            lr: 1e-3,
            warmup: (steps / 20).max(1),
            min_lr_ratio: 0.05,
            weight_decay: 0.0,
            clip_norm: 10.0,
            kl_weight: 1e-4,
            kl_warmup: steps / 2,
            scale_jitter: 0.15,
            seed: 1,
            eval_every: (steps / 10).max(1),
            eval_clouds: 24,
            checkpoint_minutes: 2.0,
        }
    }

    /// Whether `other` is the same run: every setting equal but where the meshes are read from.
    pub fn same_run(&self, other: &Self) -> bool {
        self.differences(other).is_empty()
    }

    /// The settings that differ from `other`'s, as `name: ours → theirs` (the mesh source,
    /// which may move, is not compared).
    pub fn differences(&self, other: &Self) -> String {
        deepemd_data::setting_differences(self, other, &["source"]).join(", ")
    }

    /// The loop's timetable (checkpoints by time only).
    pub fn plan(&self) -> LoopPlan {
        LoopPlan {
            steps: self.steps,
            lr: self.lr,
            warmup: self.warmup,
            min_lr_ratio: self.min_lr_ratio,
            eval_every: self.eval_every,
            checkpoint_every: 0,
            checkpoint_minutes: self.checkpoint_minutes,
        }
    }

    /// Checks every setting; errors name the setting.
    pub fn check(&self) -> Result<()> {
        self.network.check()?;
        let bad = |what: &str| Err(Error::Config(what.to_string()));
        if self.steps == 0 || self.batch == 0 {
            return bad("steps and batch must be at least 1");
        }
        if self.batch > MAX_BATCH {
            return bad(&format!("batch must be at most {MAX_BATCH}"));
        }
        if !(self.lr > 0.0) || !self.lr.is_finite() {
            return bad("lr must be a positive number");
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return bad("min_lr_ratio must be in [0, 1]");
        }
        if !(self.kl_weight >= 0.0) || !self.kl_weight.is_finite() {
            return bad("kl_weight must be a finite number ≥ 0");
        }
        if !(self.weight_decay >= 0.0) || !(self.clip_norm > 0.0) {
            return bad("weight_decay must be ≥ 0 and clip_norm > 0");
        }
        if !(0.0..0.5).contains(&self.scale_jitter) {
            return bad("scale_jitter must be in [0, 0.5)");
        }
        if self.eval_clouds == 0 {
            return bad("eval_clouds must be at least 1");
        }
        if !(self.checkpoint_minutes > 0.0) {
            return bad("checkpoint_minutes must be positive");
        }
        Ok(())
    }
}

//! Training settings, saved in every checkpoint so a resumed run continues the same run.

use std::path::PathBuf;

use deepemd_data::pairs::PairMix;
use deepemd_model::ModelConfig;

use crate::error::{Error, Result};
use crate::run_loop::LoopPlan;

/// Where the training pairs come from.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PairSource {
    /// Drawn on the fly from a split of a ModelNet40-layout dataset; exact matchings computed
    /// as they are needed.
    Generated {
        /// Dataset folder.
        dataset: PathBuf,
        /// Split name.
        split: String,
    },
    /// Drawn from `prepare-pairs` shards.
    Shards {
        /// Folder of the pair set.
        dir: PathBuf,
    },
}

/// Every setting of a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// The network.
    pub model: ModelConfig,
    /// Training pairs.
    pub source: PairSource,
    /// Proportions of pair kinds (generated source only).
    pub mix: PairMix,
    /// Points per cloud (the smaller cloud's smallest size when sizes are mixed).
    pub points: usize,
    /// Mixed sizes: each step draws the smaller cloud's size log-uniformly in
    /// `[points, max_points]` (rounded down to a multiple of 8, at least `points`); 0 or
    /// `points`: every step at `points`.
    #[serde(default)]
    pub max_points: usize,
    /// Share of steps whose pairs are unbalanced: the larger cloud has `r` times the points of
    /// the smaller, `r` uniform in `[1, max_ratio]`, A or B the larger with equal odds. Labels
    /// are the exact partial matchings that cover the smaller cloud.
    #[serde(default)]
    pub unbalanced: f64,
    /// Largest size ratio of an unbalanced step.
    #[serde(default = "default_max_ratio")]
    pub max_ratio: f64,
    /// Pairs per step at `points` points per cloud; a step of larger clouds takes
    /// `batch · 2·points / (n + m)` pairs (at least 1), so every step costs about the same.
    pub batch: usize,
    /// Total optimizer steps.
    pub steps: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: usize,
    /// Final learning rate as a fraction of the peak (cosine decay).
    pub min_lr_ratio: f64,
    /// AdamW weight decay (matrices only).
    pub weight_decay: f64,
    /// Clip the global gradient norm to this.
    pub clip_norm: f64,
    /// Seed of the weights and of every batch.
    pub seed: u64,
    /// Evaluate every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Held-out pairs per evaluation.
    pub eval_pairs: usize,
    /// Held-out pairs come from this split of the dataset (generated source).
    pub eval_split: String,
    /// Write a checkpoint every this many minutes.
    pub checkpoint_minutes: f64,
    /// Also write one every this many steps (0: only by time).
    pub checkpoint_every: usize,
    /// Start from this model folder's weights (`config.json`, `model.safetensors`; the same
    /// architecture) instead of fresh ones: fine-tuning. The matching layer has no weights, so
    /// a model trained without it can be fine-tuned with it.
    #[serde(default)]
    pub init: Option<PathBuf>,
}

fn default_max_ratio() -> f64 {
    4.0
}

impl TrainConfig {
    /// The prototype's recipe on a dataset: d 128, 4 layers, 4 heads, FFN 512, n = 128, batch 16,
    /// AdamW 3e-4 with 200 warm-up steps and cosine decay, clipping at 1.
    pub fn recipe(dataset: PathBuf, steps: usize) -> Self {
        Self {
            model: ModelConfig::default(),
            source: PairSource::Generated {
                dataset,
                split: "train".into(),
            },
            mix: PairMix::default(),
            points: 128,
            batch: 16,
            steps,
            lr: 3e-4,
            warmup: 200,
            min_lr_ratio: 0.05,
            weight_decay: 0.01,
            clip_norm: 1.0,
            seed: 1,
            eval_every: 500,
            eval_pairs: 64,
            eval_split: "test".into(),
            checkpoint_minutes: 5.0,
            checkpoint_every: 0,
            max_points: 0,
            unbalanced: 0.0,
            max_ratio: default_max_ratio(),
            init: None,
        }
    }

    /// The loop's timetable.
    pub fn plan(&self) -> LoopPlan {
        LoopPlan {
            steps: self.steps,
            lr: self.lr,
            warmup: self.warmup,
            min_lr_ratio: self.min_lr_ratio,
            eval_every: self.eval_every,
            checkpoint_every: self.checkpoint_every,
            checkpoint_minutes: self.checkpoint_minutes,
        }
    }

    /// Checks every value once.
    pub fn check(&self) -> Result<()> {
        self.model.check()?;
        let bad = |m: &str| Err(Error::Config(m.into()));
        if self.points < 2 || self.batch == 0 || self.steps == 0 {
            return bad("points must be at least 2, batch and steps at least 1");
        }
        if !(self.lr > 0.0)
            || !(0.0..=1.0).contains(&self.min_lr_ratio)
            || !(self.weight_decay >= 0.0)
        {
            return bad("lr must be positive, min_lr_ratio in [0, 1], weight_decay non-negative");
        }
        if !(self.clip_norm > 0.0) || !(self.checkpoint_minutes > 0.0) {
            return bad("clip_norm and checkpoint_minutes must be positive");
        }
        if self.max_points != 0 && self.max_points < self.points {
            return bad("max_points must be 0 or at least points");
        }
        let ratio_ok = self.max_ratio >= 1.0 && self.max_ratio.is_finite();
        if !((0.0..=1.0).contains(&self.unbalanced) && ratio_ok) {
            return bad("unbalanced must be in [0, 1] and max_ratio finite and at least 1");
        }
        if self.mixes_sizes() && matches!(self.source, PairSource::Shards { .. }) {
            return bad("mixed or unbalanced sizes need pairs drawn on the fly (not shards)");
        }
        self.mix.check()?;
        Ok(())
    }

    /// Whether steps differ in their cloud sizes.
    pub fn mixes_sizes(&self) -> bool {
        self.max_points > self.points || self.unbalanced > 0.0
    }

    /// The cloud sizes `(n_a, n_b)` and the pairs of step `step`, drawn from the seed and the
    /// step alone (a resumed run sees the same steps); no cloud exceeds `limit` points.
    pub fn step_shape(&self, step: usize, limit: usize) -> ((usize, usize), usize) {
        use rand::{Rng, SeedableRng};
        if !self.mixes_sizes() {
            return ((self.points, self.points), self.batch);
        }
        // A stream of its own: the pairs' streams are those of a single-size run.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed ^ 0x5a_e5);
        rng.set_stream(step as u64);
        let (lo, hi) = (self.points as f64, self.max_points.max(self.points) as f64);
        let small = (lo * (hi / lo).powf(rng.random::<f64>())).round() as usize;
        // Never `clamp`: it panics when `points > limit` (refused by `BatchSource::open`).
        let small = (small / 8 * 8).max(self.points).min(limit);
        let mut sizes = (small, small);
        if rng.random_bool(self.unbalanced) {
            let ratio = rng.random_range(1.0..=self.max_ratio);
            let large = ((small as f64 * ratio).round() as usize).min(limit);
            sizes = if rng.random_bool(0.5) {
                (small, large)
            } else {
                (large, small)
            };
        }
        let batch = (self.batch * 2 * self.points / (sizes.0 + sizes.1)).max(1);
        (sizes, batch)
    }
}

//! Training settings, saved in every checkpoint so a resumed run continues the same run.

use std::path::PathBuf;

use deepemd_data::pairs::PairMix;
use deepemd_model::ModelConfig;

use crate::error::{Error, Result};

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
    /// Points per cloud.
    pub points: usize,
    /// Pairs per step.
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
        self.mix.check()?;
        Ok(())
    }
}

//! # deepemd-train
//!
//! Training the DeepEMD model: batches of pairs with exact matchings (generated on the fly or
//! from `prepare-pairs` shards), the row + column cross-entropy, AdamW with saved state, a
//! warm-up + cosine schedule, gradient clipping, atomic checkpoints, resumption that reproduces
//! the uninterrupted run, and periodic evaluation on held-out pairs.

mod checkpoint;
mod config;
mod data;
mod error;
mod eval;
mod events;
mod init;
mod loss;
mod optimizer;
mod run_loop;
mod schedule;
mod trainer;

pub use checkpoint::{
    EvalRecord, FILE_HASHES, StepRecord, TrainState, changed_settings, checkpoint_dir,
    checkpoint_to_resume, find_checkpoint, read_state, save_folder_atomically, verify_checkpoint,
};
pub use config::{PairSource, TrainConfig};
pub use data::{BatchSource, to_batch};
pub use error::{Error, Result};
pub use eval::evaluate;
pub use events::TrainEvent;
pub use init::init_weights;
pub use loss::matching_loss;
pub use optimizer::AdamW;
pub use run_loop::{LoopEvent, LoopPlan, Outcome, TrainingRun, clip_scale, drive};
pub use schedule::learning_rate;
pub use trainer::{export_model, train};

//! Checkpoints: a folder `checkpoint/` in the run folder with `config.json` (the network),
//! `model.safetensors`, `optimizer.safetensors` and `state.json` (step, settings, history).
//! It is written in a temporary folder and renamed into place, so a kill at any moment
//! leaves the previous checkpoint or the new one, never half of one.

use std::path::{Path, PathBuf};

use candle_nn::VarMap;

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::optimizer::AdamW;

/// One training step's figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// 0-based step.
    pub step: usize,
    /// Training loss.
    pub loss: f32,
    /// Share of rows whose argmax is the optimal target.
    pub row_accuracy: f32,
    /// Learning rate used.
    pub lr: f64,
}

/// One evaluation on held-out pairs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalRecord {
    /// Steps done when it ran.
    pub step: usize,
    /// Pearson r of the row-argmax estimate vs the exact EMD.
    pub pearson: f64,
    /// Spearman ρ.
    pub spearman: f64,
    /// Kendall τ-b.
    pub kendall: f64,
    /// Mean of (estimate − exact) / exact.
    pub mean_relative_error: f64,
    /// Share of rows matched as in the optimum.
    pub row_accuracy: f64,
}

/// Everything besides the weights that a resumed run needs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainState {
    /// Steps done.
    pub step: usize,
    /// The run's settings.
    pub config: TrainConfig,
    /// Every step so far.
    pub history: Vec<StepRecord>,
    /// Every evaluation so far.
    pub evals: Vec<EvalRecord>,
    /// Training wall time so far, over all sessions.
    pub wall_seconds: f64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The checkpoint folder of a run.
pub fn checkpoint_dir(run: &Path) -> PathBuf {
    run.join("checkpoint")
}

/// Writes the checkpoint atomically (temporary folder, then rename).
pub fn save_checkpoint(
    run: &Path,
    varmap: &VarMap,
    optimizer: &AdamW,
    state: &TrainState,
) -> Result<()> {
    std::fs::create_dir_all(run).map_err(io(run))?;
    let tmp = run.join(format!(".checkpoint.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    std::fs::write(tmp.join("config.json"), state.config.model.to_json()).map_err(io(&tmp))?;
    varmap.save(tmp.join("model.safetensors"))?;
    optimizer.save(&tmp.join("optimizer.safetensors"))?;
    let json = serde_json::to_string(state).expect("the state serializes");
    std::fs::write(tmp.join("state.json"), json).map_err(io(&tmp))?;
    let dir = checkpoint_dir(run);
    let old = run.join("checkpoint.old");
    if dir.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        std::fs::rename(&dir, &old).map_err(io(&dir))?;
    }
    std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// The newest complete checkpoint folder: `checkpoint/`, or `checkpoint.old/` when a kill fell
/// between the two renames of [`save_checkpoint`].
pub fn find_checkpoint(run: &Path) -> Option<PathBuf> {
    [checkpoint_dir(run), run.join("checkpoint.old")]
        .into_iter()
        .find(|d| d.join("state.json").exists())
}

/// Reads `state.json` of a checkpoint folder.
pub fn read_state(dir: &Path) -> Result<TrainState> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path,
        message: format!("not a training state ({e})"),
    })
}

/// Loads weights and optimizer state of a checkpoint folder into a model's `varmap` and
/// `optimizer`. A truncated or mismatched file is an error naming it.
pub fn load_weights(dir: &Path, varmap: &mut VarMap, optimizer: &mut AdamW) -> Result<()> {
    let weights = dir.join("model.safetensors");
    varmap.load(&weights).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: format!("cannot load the weights ({e})"),
    })?;
    optimizer.load(&dir.join("optimizer.safetensors"))
}

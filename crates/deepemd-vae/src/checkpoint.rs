//! A VAE run's folder: `checkpoint/` (written atomically by
//! `deepemd_train::save_folder_atomically`: `config.json`, `model.safetensors`,
//! `optimizer.safetensors`, `state.json`) while training, `model/` (`config.json`,
//! `model.safetensors`) once finished.

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_nn::VarMap;
use deepemd_train::AdamW;

use crate::config::{VaeConfig, VaeTrainConfig};
use crate::error::{Error, Result, io};
use crate::evaluate::ReconstructionScore;
use crate::network::PointVae;

/// One optimizer step's figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VaeStepRecord {
    /// 0-based step.
    pub step: usize,
    /// The reconstruction loss (the batch mean).
    pub loss: f32,
    /// The KL term (summed over the latent, batch mean), before its weight.
    pub kl: f32,
    /// Seconds of the reconstruction loss's forward pass (where the matching is computed).
    pub loss_seconds: f64,
    /// Seconds of the whole step (data, forward, loss, backward, update).
    pub step_seconds: f64,
}

/// A held-out evaluation during training.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VaeEvalRecord {
    /// Steps done.
    pub step: usize,
    /// Training seconds so far (the sum of step times; evaluations excluded).
    pub train_seconds: f64,
    /// The held-out reconstruction.
    pub score: ReconstructionScore,
}

/// Everything besides the weights that a resumed run needs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VaeState {
    /// Steps done.
    pub step: usize,
    /// The run's settings.
    pub config: VaeTrainConfig,
    /// Every step so far.
    pub history: Vec<VaeStepRecord>,
    /// Every evaluation so far.
    pub evals: Vec<VaeEvalRecord>,
    /// Wall seconds so far over all sessions, evaluations included.
    pub wall_seconds: f64,
}

impl VaeState {
    /// Training seconds so far (the sum of step times).
    pub fn train_seconds(&self) -> f64 {
        self.history.iter().map(|r| r.step_seconds).sum()
    }
}

/// Writes the checkpoint of a run atomically.
pub fn save_checkpoint(
    run: &Path,
    varmap: &VarMap,
    optimizer: &AdamW,
    state: &VaeState,
) -> Result<()> {
    deepemd_train::save_folder_atomically(run, |tmp| -> Result<()> {
        write_weights(tmp, &state.config.network, varmap)?;
        let adam = tmp.join("optimizer.safetensors");
        optimizer.save(&adam).map_err(|e| Error::Checkpoint {
            path: adam.clone(),
            message: format!("cannot write the optimizer state ({e})"),
        })?;
        let path = tmp.join("state.json");
        let json = serde_json::to_string(state).expect("the state serializes");
        std::fs::write(&path, json).map_err(io(&path))
    })
}

/// `config.json` and `model.safetensors` of the network into `dir`.
fn write_weights(dir: &Path, config: &VaeConfig, varmap: &VarMap) -> Result<()> {
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_json()).map_err(io(&path))?;
    let weights = dir.join("model.safetensors");
    varmap.save(&weights).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: format!("cannot write the weights ({e})"),
    })
}

/// Writes the finished network into `RUN/model/` (a temporary folder, then a rename).
pub fn export_model(run: &Path, config: &VaeConfig, varmap: &VarMap) -> Result<PathBuf> {
    let tmp = run.join(format!(".model.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    write_weights(&tmp, config, varmap)?;
    let dir = run.join("model");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
    Ok(dir)
}

/// Reads `state.json` of a checkpoint folder.
pub fn read_state(dir: &Path) -> Result<VaeState> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path,
        message: format!("not a VAE training state ({e})"),
    })
}

/// Loads a network folder (`model/` of a finished run, or a checkpoint): its `config.json` and
/// `model.safetensors`. Missing tensors, other shapes and non-finite weights are errors naming
/// the file.
pub fn load_network(dir: &Path, device: &Device) -> Result<(PointVae, VarMap)> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let config: VaeConfig = serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path: path.clone(),
        message: format!("not a VAE config ({e})"),
    })?;
    config.check().map_err(|e| Error::Checkpoint {
        path,
        message: e.to_string(),
    })?;
    let (vae, mut varmap) = PointVae::fresh(&config, device)?;
    load_weights(dir, &mut varmap)?;
    Ok((vae, varmap))
}

/// Loads `dir/model.safetensors` into `varmap`.
pub(crate) fn load_weights(dir: &Path, varmap: &mut VarMap) -> Result<()> {
    let weights = dir.join("model.safetensors");
    let fail = |message: String| Error::Checkpoint {
        path: weights.clone(),
        message,
    };
    varmap
        .load(&weights)
        .map_err(|e| fail(format!("cannot load the weights ({e})")))?;
    let data = varmap
        .data()
        .lock()
        .expect("the var map lock is not poisoned");
    for (name, var) in data.iter() {
        let finite = var
            .as_tensor()
            .flatten_all()
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| fail(e.to_string()))?
            .iter()
            .all(|x| x.is_finite());
        if !finite {
            return Err(fail(format!(
                "tensor '{name}' holds NaN or infinite values"
            )));
        }
    }
    Ok(())
}

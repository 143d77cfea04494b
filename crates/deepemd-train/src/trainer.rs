//! The model's training run: batches of pairs with exact matchings, the matching loss, clipped
//! AdamW steps and held-out evaluation, driven by the loop skeleton of [`crate::run_loop`].

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use deepemd_model::{DeepEmd, DeepEmdModel};

use crate::checkpoint::{
    EvalRecord, StepRecord, TrainState, changed_settings, checkpoint_to_resume, load_weights,
    read_state, save_checkpoint,
};
use crate::config::{PairSource, TrainConfig};
use crate::data::{BatchSource, to_batch};
use crate::error::{Error, Result};
use crate::eval::evaluate;
use crate::events::TrainEvent;
use crate::init::init_weights;
use crate::loss::matching_loss;
use crate::optimizer::AdamW;
use crate::run_loop::{Outcome, TrainingRun, clip_scale, drive};
use deepemd_data::pairs::{LabeledPair, generate_labeled_pairs};
use deepemd_solvers::Exact;

/// The held-out pairs evaluated during training.
fn eval_set(config: &TrainConfig) -> Result<Vec<LabeledPair>> {
    if config.eval_pairs == 0 {
        return Ok(Vec::new());
    }
    let dataset = match &config.source {
        PairSource::Generated { dataset, .. } => dataset.clone(),
        PairSource::Shards { .. } => return Ok(Vec::new()),
    };
    let pool = deepemd_data::hdf5::load_modelnet40(&dataset, &config.eval_split)?.shapes;
    // A stream far from the training streams.
    Ok(generate_labeled_pairs(
        &pool,
        (config.points, config.points),
        config.mix,
        config.seed ^ 0xe7a1,
        u64::MAX,
        config.eval_pairs,
        &Exact::default(),
    )?)
}

/// Trains (or resumes, when `resume`) the run in `run`. `stop` is polled every step; when set,
/// a checkpoint is written and the call returns [`Outcome::Stopped`]. Progress goes to
/// `observer` (`&mut |_| {}` ignores them).
pub fn train(
    config: &TrainConfig,
    run: &Path,
    resume: bool,
    device: &Device,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<(Outcome, TrainState)> {
    config.check()?;
    let (model, mut varmap) = DeepEmdModel::fresh(&config.model, device)?;
    let mut optimizer = AdamW::new(&varmap, config.weight_decay)?;
    let state = match checkpoint_to_resume(run, resume)? {
        Some(dir) => {
            let state = read_state(&dir)?;
            if &state.config != config {
                let differences = deepemd_data::setting_differences(&state.config, config, &[]);
                return Err(changed_settings(&dir, &differences.join(", ")));
            }
            load_weights(&dir, &config.model, &mut varmap, &mut optimizer)?;
            if optimizer.steps_taken() != state.step {
                return Err(Error::Checkpoint {
                    path: dir,
                    message: "optimizer and state disagree on the step".into(),
                });
            }
            state
        }
        None => {
            init_weights(&varmap, config.seed)?;
            if let Some(dir) = &config.init {
                load_initial_weights(dir, config, &mut varmap)?;
            }
            TrainState {
                step: 0,
                config: config.clone(),
                history: Vec::new(),
                evals: Vec::new(),
                wall_seconds: 0.0,
            }
        }
    };
    let mut job = ModelRun {
        config,
        run,
        device,
        source: BatchSource::open(config)?,
        held_out: eval_set(config)?,
        estimator: DeepEmd::new(model.clone(), device.clone()),
        model,
        varmap,
        optimizer,
        wall_before: state.wall_seconds,
        state,
    };
    let outcome = drive(&mut job, &config.plan(), run, stop, observer)?;
    Ok((outcome, job.state))
}

/// The model's run, as the loop skeleton drives it.
struct ModelRun<'a> {
    config: &'a TrainConfig,
    run: &'a Path,
    device: &'a Device,
    source: BatchSource,
    held_out: Vec<LabeledPair>,
    model: DeepEmdModel,
    estimator: DeepEmd,
    varmap: candle_nn::VarMap,
    optimizer: AdamW,
    state: TrainState,
    wall_before: f64,
}

impl TrainingRun for ModelRun<'_> {
    type Step = StepRecord;
    type Eval = EvalRecord;
    type Error = Error;

    fn steps_done(&self) -> usize {
        self.state.step
    }

    fn train_step(&mut self, lr: f64) -> Result<&StepRecord> {
        let (config, step) = (self.config, self.state.step);
        let pairs = self.source.pairs(config, step)?;
        let batch = to_batch(&pairs, self.device)?;
        let logits = self.model.logits(&batch.a, &batch.b, true, usize::MAX)?;
        let (loss, row_accuracy) = matching_loss(&logits, &batch.matched, &batch.partners)?;
        let grads = loss.backward()?;
        let norm = self.optimizer.grad_norm(&grads)?;
        self.optimizer
            .step(&grads, lr, clip_scale(norm, config.clip_norm))?;
        let loss = loss.to_scalar::<f32>()?;
        if !loss.is_finite() {
            return Err(Error::Diverged { step, loss });
        }
        self.state.history.push(StepRecord {
            step,
            loss,
            row_accuracy,
            lr,
        });
        self.state.step += 1;
        Ok(self.state.history.last().expect("just pushed"))
    }

    fn evaluate(&mut self) -> Result<Option<&EvalRecord>> {
        if self.held_out.is_empty() {
            return Ok(None);
        }
        let record = evaluate(&self.estimator, &self.held_out, self.state.step)?;
        self.state.evals.push(record);
        Ok(self.state.evals.last())
    }

    fn checkpoint(&mut self, session_seconds: f64) -> Result<()> {
        self.state.wall_seconds = self.wall_before + session_seconds;
        save_checkpoint(self.run, &self.varmap, &self.optimizer, &self.state)
    }

    fn export(&mut self) -> Result<()> {
        export_model(self.run, &self.varmap, self.config)
    }
}

/// Overwrites the fresh weights with those of the model in `dir`, whose architecture must be
/// the run's (the matching layer aside: it has no weights).
fn load_initial_weights(
    dir: &Path,
    config: &TrainConfig,
    varmap: &mut candle_nn::VarMap,
) -> Result<()> {
    let saved = deepemd_model::ModelConfig::load(&dir.join("config.json"))?;
    let same = deepemd_model::ModelConfig {
        sinkhorn_layer: config.model.sinkhorn_layer,
        ..saved.clone()
    };
    if same != config.model {
        return Err(Error::Config(format!(
            "{}: the initial model's architecture ({}) is not the run's",
            dir.display(),
            serde_json::to_string(&saved).expect("configs serialize")
        )));
    }
    let weights = dir.join("model.safetensors");
    varmap.load(&weights).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: format!("cannot load the initial weights ({e})"),
    })
}

/// Writes the trained network as `RUN/model/{config.json, model.safetensors}`.
pub fn export_model(run: &Path, varmap: &candle_nn::VarMap, config: &TrainConfig) -> Result<()> {
    let dir = run.join("model");
    let weights = dir.join("model.safetensors");
    // Weights that diverged to NaN or ∞ are never exported as a usable model.
    let tensors = varmap
        .data()
        .lock()
        .expect("no other thread holds the varmap")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    deepemd_model::check_weights(&config.model, &tensors).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: format!("not exported: {e}"),
    })?;
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    deepemd_data::write_atomic_with(&weights, |tmp| {
        varmap.save(tmp).map_err(|e| {
            deepemd_data::Error::format(tmp, format!("cannot write the weights ({e})"))
        })
    })?;
    deepemd_data::write_atomic(&dir.join("config.json"), config.model.to_json().as_bytes())?;
    Ok(())
}

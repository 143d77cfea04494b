//! The training loop: batches, loss, clipped AdamW steps on a warm-up + cosine schedule,
//! progress, periodic evaluation, time-based checkpoints, and a clean stop on request.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Device;
use deepemd_model::{DeepEmd, DeepEmdModel};

use crate::checkpoint::{
    StepRecord, TrainState, checkpoint_dir, checkpoint_to_resume, load_weights, read_state,
    save_checkpoint,
};
use crate::config::{PairSource, TrainConfig};
use crate::data::{BatchSource, to_batch};
use crate::error::{Error, Result};
use crate::eval::evaluate;
use crate::events::TrainEvent;
use crate::init::init_weights;
use crate::loss::matching_loss;
use crate::optimizer::AdamW;
use crate::schedule::learning_rate;
use deepemd_data::pairs::{LabeledPair, generate_labeled_pairs};
use deepemd_solvers::Exact;

/// How a call to [`train`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every step is done; the model is in `RUN/model/`.
    Finished,
    /// Stopped on request; a checkpoint holds the progress.
    Stopped,
}

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
    let mut state = match checkpoint_to_resume(run, resume)? {
        Some(dir) => {
            let state = read_state(&dir)?;
            if &state.config != config {
                return Err(Error::Checkpoint {
                    path: dir.join("state.json"),
                    message: format!(
                        "the checkpoint was made with other settings ({}); resume without \
                         changing them",
                        deepemd_data::setting_differences(&state.config, config, &[]).join(", ")
                    ),
                });
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
    let source = BatchSource::open(config)?;
    let held_out = eval_set(config)?;
    let estimator = DeepEmd::new(model.clone(), device.clone());

    observer(TrainEvent::Started {
        step: state.step,
        steps: config.steps,
    });
    let session = Instant::now();
    let wall_before = state.wall_seconds;
    let mut last_checkpoint = Instant::now();
    let mut pairs_done = 0usize;
    while state.step < config.steps {
        let step = state.step;
        let lr = learning_rate(
            step,
            config.steps,
            config.lr,
            config.warmup,
            config.min_lr_ratio,
        );
        let pairs = source.pairs(config, step)?;
        let batch = to_batch(&pairs, device)?;
        let logits = model.logits(&batch.a, &batch.b, true, usize::MAX)?;
        let (loss, row_accuracy) = matching_loss(&logits, &batch.matched, &batch.partners)?;
        let grads = loss.backward()?;
        let norm = optimizer.grad_norm(&grads)?;
        let scale = if norm > config.clip_norm {
            config.clip_norm / norm
        } else {
            1.0
        };
        optimizer.step(&grads, lr, scale)?;
        let loss = loss.to_scalar::<f32>()?;
        if !loss.is_finite() {
            return Err(Error::Diverged { step, loss });
        }
        state.history.push(StepRecord {
            step,
            loss,
            row_accuracy,
            lr,
        });
        state.step += 1;
        pairs_done += pairs.len();
        let rate = pairs_done as f64 / session.elapsed().as_secs_f64().max(1e-9);
        observer(TrainEvent::Step {
            record: state.history.last().expect("just pushed"),
            pairs_per_second: rate,
        });

        let eval_due = config.eval_every > 0 && state.step % config.eval_every == 0;
        if (eval_due || state.step == config.steps) && !held_out.is_empty() {
            let record = evaluate(&estimator, &held_out, state.step)?;
            observer(TrainEvent::Eval(&record));
            state.evals.push(record);
        }
        let stopping = stop.load(Ordering::SeqCst);
        let by_steps = config.checkpoint_every > 0 && state.step % config.checkpoint_every == 0;
        let by_time = last_checkpoint.elapsed().as_secs_f64() >= config.checkpoint_minutes * 60.0;
        if stopping || by_steps || by_time || state.step == config.steps {
            state.wall_seconds = wall_before + session.elapsed().as_secs_f64();
            save_checkpoint(run, &varmap, &optimizer, &state)?;
            last_checkpoint = Instant::now();
            observer(TrainEvent::Checkpoint {
                step: state.step,
                dir: &checkpoint_dir(run),
            });
        }
        if stopping && state.step < config.steps {
            observer(TrainEvent::Stopped { step: state.step });
            return Ok((Outcome::Stopped, state));
        }
    }
    export_model(run, &varmap, config)?;
    observer(TrainEvent::Finished);
    Ok((Outcome::Finished, state))
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

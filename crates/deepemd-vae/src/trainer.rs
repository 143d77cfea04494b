//! The training loop of the VAE: fresh augmented batches, reconstruction loss + β·KL, clipped
//! AdamW on a warm-up + cosine schedule, periodic held-out evaluation, time-based atomic
//! checkpoints, a clean stop on request, and resumption that continues the same run.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor};
use deepemd_methods::ModelSource;
use deepemd_train::{AdamW, checkpoint_to_resume, learning_rate};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::checkpoint::{
    VaeEvalRecord, VaeState, VaeStepRecord, export_model, load_weights, read_state, save_checkpoint,
};
use crate::config::VaeTrainConfig;
use crate::data::{MeshPool, evaluation_clouds};
use crate::error::{Error, Result};
use crate::evaluate::reconstruction_score;
use crate::network::{PointVae, init_vae, kl_divergence};
use crate::reconstruction_loss::ReconstructionLoss;

/// The split the training clouds are drawn from.
pub const TRAIN_SPLIT: &str = "train";
/// The split of the held-out evaluation during training (held-out meshes).
pub const EVAL_SPLIT: &str = "test";

/// What the loop reports as it runs; the library prints nothing.
#[derive(Clone, Copy, Debug)]
pub enum VaeEvent<'a> {
    /// The loop starts (or resumes) at `step` of `steps`.
    Started {
        /// Steps already done.
        step: usize,
        /// Steps in all.
        steps: usize,
    },
    /// One step is done.
    Step(&'a VaeStepRecord),
    /// A held-out evaluation.
    Eval(&'a VaeEvalRecord),
    /// A checkpoint was written after `step` steps.
    Checkpoint {
        /// Steps done.
        step: usize,
    },
    /// Stopped on request after `step` steps (a checkpoint holds them).
    Stopped {
        /// Steps done.
        step: usize,
    },
    /// Every step is done; the network is in `RUN/model/`.
    Finished,
}

/// How a call to [`train_vae`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaeOutcome {
    /// Every step is done.
    Finished,
    /// Stopped on request; a checkpoint holds the progress.
    Stopped,
}

/// Trains (or, with `resume`, continues) the run in `run`. `stop` is polled every step; when
/// set, a checkpoint is written and the call returns [`VaeOutcome::Stopped`]. The DeepEMD losses
/// use the model of `config.model` on `device`. A run folder that already holds a checkpoint is
/// only resumed, with the same settings.
pub fn train_vae(
    config: &VaeTrainConfig,
    run: &Path,
    resume: bool,
    device: &Device,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(VaeEvent<'_>),
) -> Result<(VaeOutcome, VaeState)> {
    config.check()?;
    let (vae, mut varmap) = PointVae::fresh(&config.network, device)?;
    let mut optimizer = AdamW::new(&varmap, config.weight_decay)?;
    let mut state = match checkpoint_to_resume(run, resume)? {
        Some(dir) => {
            let mut state = read_state(&dir)?;
            if !state.config.same_run(config) {
                return Err(Error::Checkpoint {
                    path: dir.join("state.json"),
                    message: format!(
                        "the checkpoint was made with other settings ({}); resume without \
                         changing them",
                        state.config.differences(config)
                    ),
                });
            }
            // The meshes may have moved (another machine, an absolute path): use today's.
            state.config.source = config.source.clone();
            load_weights(&dir, &mut varmap)?;
            optimizer.load(&dir.join("optimizer.safetensors"))?;
            state
        }
        None => {
            init_vae(&varmap, config.seed)?;
            VaeState {
                step: 0,
                config: config.clone(),
                history: Vec::new(),
                evals: Vec::new(),
                wall_seconds: 0.0,
            }
        }
    };
    let pool = MeshPool::open(&config.source, TRAIN_SPLIT)?;
    let held_out = evaluation_clouds(
        &config.source,
        EVAL_SPLIT,
        config.network.points,
        config.eval_clouds,
        config.seed ^ 0xe7a1,
    )?;
    let model = ModelSource::new(config.model.clone(), device.clone());
    let loss = ReconstructionLoss::new(config.loss, &model)?;

    observer(VaeEvent::Started {
        step: state.step,
        steps: config.steps,
    });
    let session = Instant::now();
    let wall_before = state.wall_seconds;
    let mut last_checkpoint = Instant::now();
    if state.step == 0 && state.evals.is_empty() {
        let record = VaeEvalRecord {
            step: 0,
            train_seconds: 0.0,
            score: reconstruction_score(&vae, &held_out, device)?,
        };
        observer(VaeEvent::Eval(&record));
        state.evals.push(record);
    }
    while state.step < config.steps {
        let step = state.step;
        let started = Instant::now();
        let lr = learning_rate(
            step,
            config.steps,
            config.lr,
            config.warmup,
            config.min_lr_ratio,
        );
        let beta = if config.kl_warmup == 0 {
            config.kl_weight
        } else {
            config.kl_weight * (step as f64 / config.kl_warmup as f64).min(1.0)
        };
        let x = pool.batch(
            config.network.points,
            config.batch,
            config.scale_jitter,
            config.seed,
            step,
            device,
        )?;
        let noise = noise(config, step, device)?;
        let (decoded, mu, log_var) = vae.forward(&x, &noise)?;
        let loss_started = Instant::now();
        let reconstruction = loss.forward(&decoded, &x)?;
        let loss_seconds = loss_started.elapsed().as_secs_f64();
        let kl = kl_divergence(&mu, &log_var)?;
        let total = (&reconstruction + (&kl * beta)?)?;
        let grads = total.backward()?;
        let norm = optimizer.grad_norm(&grads)?;
        let value = reconstruction
            .to_dtype(candle_core::DType::F32)?
            .to_scalar::<f32>()?;
        let kl = kl.to_scalar::<f32>()?;
        // Checked before the update, so no NaN ever reaches the weights or a checkpoint.
        for (what, x) in [
            ("reconstruction loss", value as f64),
            ("KL term", kl as f64),
            ("gradient norm", norm),
        ] {
            if !x.is_finite() {
                return Err(Error::Diverged {
                    step,
                    what,
                    value: x,
                });
            }
        }
        let scale = if norm > config.clip_norm {
            config.clip_norm / norm
        } else {
            1.0
        };
        optimizer.step(&grads, lr, scale)?;
        state.history.push(VaeStepRecord {
            step,
            loss: value,
            kl,
            loss_seconds,
            step_seconds: started.elapsed().as_secs_f64(),
        });
        state.step += 1;
        observer(VaeEvent::Step(state.history.last().expect("just pushed")));

        let eval_due = config.eval_every > 0 && state.step % config.eval_every == 0;
        if eval_due || state.step == config.steps {
            let record = VaeEvalRecord {
                step: state.step,
                train_seconds: state.train_seconds(),
                score: reconstruction_score(&vae, &held_out, device)?,
            };
            observer(VaeEvent::Eval(&record));
            state.evals.push(record);
        }
        let stopping = stop.load(Ordering::SeqCst);
        let by_time = last_checkpoint.elapsed().as_secs_f64() >= config.checkpoint_minutes * 60.0;
        if stopping || by_time || state.step == config.steps {
            state.wall_seconds = wall_before + session.elapsed().as_secs_f64();
            save_checkpoint(run, &varmap, &optimizer, &state)?;
            last_checkpoint = Instant::now();
            observer(VaeEvent::Checkpoint { step: state.step });
        }
        if stopping && state.step < config.steps {
            observer(VaeEvent::Stopped { step: state.step });
            return Ok((VaeOutcome::Stopped, state));
        }
    }
    export_model(run, &config.network, &varmap)?;
    observer(VaeEvent::Finished);
    Ok((VaeOutcome::Finished, state))
}

/// The reparameterization noise of a step: standard normal, seeded by (seed, step).
fn noise(config: &VaeTrainConfig, step: usize, device: &Device) -> Result<Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed ^ 0x0015_e5ee);
    rng.set_stream(step as u64);
    let latent = config.network.latent;
    let values: Vec<f32> = (0..config.batch * latent)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    Ok(Tensor::from_vec(values, (config.batch, latent), device)?)
}

//! The VAE's training run: fresh augmented batches, reconstruction loss + β·KL, clipped AdamW
//! and held-out evaluation, driven by `deepemd-train`'s loop skeleton (schedule, time-based
//! atomic checkpoints, a clean stop on request, resumption that continues the same run).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::{Device, Tensor};
use deepemd_methods::ModelSource;
use deepemd_train::{
    AdamW, LoopEvent, Outcome, TrainingRun, changed_settings, checkpoint_to_resume, clip_scale,
    drive,
};
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

/// What the VAE's loop reports as it runs: the skeleton's events with this trainer's records.
pub type VaeEvent<'a> = LoopEvent<'a, VaeStepRecord, VaeEvalRecord>;

/// How a call to [`train_vae`] ended (the skeleton's [`Outcome`]).
pub type VaeOutcome = Outcome;

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
    let state = match checkpoint_to_resume(run, resume)? {
        Some(dir) => {
            let mut state = read_state(&dir)?;
            if !state.config.same_run(config) {
                return Err(changed_settings(&dir, &state.config.differences(config)).into());
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

    let mut job = VaeRun {
        config,
        run,
        device,
        pool,
        held_out,
        loss,
        vae,
        varmap,
        optimizer,
        wall_before: state.wall_seconds,
        state,
    };
    let outcome = drive(&mut job, &config.plan(), run, stop, observer)?;
    Ok((outcome, job.state))
}

/// The VAE's run, as the loop skeleton drives it.
struct VaeRun<'a> {
    config: &'a VaeTrainConfig,
    run: &'a Path,
    device: &'a Device,
    pool: MeshPool,
    held_out: Vec<deepemd_core::PointCloud>,
    loss: ReconstructionLoss,
    vae: PointVae,
    varmap: candle_nn::VarMap,
    optimizer: AdamW,
    state: VaeState,
    wall_before: f64,
}

impl VaeRun<'_> {
    fn eval_record(&self) -> Result<VaeEvalRecord> {
        Ok(VaeEvalRecord {
            step: self.state.step,
            train_seconds: self.state.train_seconds(),
            score: reconstruction_score(&self.vae, &self.held_out, self.device)?,
        })
    }
}

impl TrainingRun for VaeRun<'_> {
    type Step = VaeStepRecord;
    type Eval = VaeEvalRecord;
    type Error = Error;

    fn steps_done(&self) -> usize {
        self.state.step
    }

    /// The untrained network's score, once, so that every run's curve starts at step 0.
    fn evaluate_first(&mut self) -> Result<Option<&VaeEvalRecord>> {
        if self.state.step > 0 || !self.state.evals.is_empty() {
            return Ok(None);
        }
        self.evaluate()
    }

    fn train_step(&mut self, lr: f64) -> Result<&VaeStepRecord> {
        let (config, step, device) = (self.config, self.state.step, self.device);
        let started = Instant::now();
        let beta = if config.kl_warmup == 0 {
            config.kl_weight
        } else {
            config.kl_weight * (step as f64 / config.kl_warmup as f64).min(1.0)
        };
        let x = self.pool.batch(
            config.network.points,
            config.batch,
            config.scale_jitter,
            config.seed,
            step,
            device,
        )?;
        let noise = noise(config, step, device)?;
        let (decoded, mu, log_var) = self.vae.forward(&x, &noise)?;
        let loss_started = Instant::now();
        let reconstruction = self.loss.forward(&decoded, &x)?;
        let loss_seconds = loss_started.elapsed().as_secs_f64();
        let kl = kl_divergence(&mu, &log_var)?;
        let total = (&reconstruction + (&kl * beta)?)?;
        let grads = total.backward()?;
        let norm = self.optimizer.grad_norm(&grads)?;
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
        self.optimizer
            .step(&grads, lr, clip_scale(norm, config.clip_norm))?;
        self.state.history.push(VaeStepRecord {
            step,
            loss: value,
            kl,
            loss_seconds,
            step_seconds: started.elapsed().as_secs_f64(),
        });
        self.state.step += 1;
        Ok(self.state.history.last().expect("just pushed"))
    }

    fn evaluate(&mut self) -> Result<Option<&VaeEvalRecord>> {
        let record = self.eval_record()?;
        self.state.evals.push(record);
        Ok(self.state.evals.last())
    }

    fn checkpoint(&mut self, session_seconds: f64) -> Result<()> {
        self.state.wall_seconds = self.wall_before + session_seconds;
        save_checkpoint(self.run, &self.varmap, &self.optimizer, &self.state)
    }

    fn export(&mut self) -> Result<()> {
        export_model(self.run, &self.config.network, &self.varmap).map(drop)
    }
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

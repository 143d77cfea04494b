//! `deepemd vae train | sample`: the point-cloud VAE of the generative experiment.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use deepemd_data::hdf5::{ShapeFile, WriteOptions};
use deepemd_model::device_from_name;
use deepemd_vae::{
    LossKind, MeshSource, VaeEvent, VaeOutcome, VaeTrainConfig, find_checkpoint, load_network,
    read_state, sample_prior, train_vae,
};

use crate::progress::{StepProgress, from_checkpoint, stop_on_ctrl_c};

#[derive(Args, Debug)]
pub struct VaeArgs {
    #[command(subcommand)]
    command: VaeCommand,
}

#[derive(Subcommand, Debug)]
enum VaeCommand {
    /// Train the VAE with one reconstruction loss (resumable; Ctrl-C writes a checkpoint).
    Train(Box<VaeTrainArgs>),
    /// Decode clouds from the prior of a trained VAE into an HDF5 file (ModelNet40 layout),
    /// ready for `deepemd gen-metrics`.
    Sample(VaeSampleArgs),
}

#[derive(Args, Debug)]
pub struct VaeTrainArgs {
    /// Reconstruction loss: chamfer, exact, deepemd (the model, row argmax), deepemd-refined,
    /// sinkhorn.
    #[arg(long)]
    loss: Option<LossKind>,
    /// Run folder: checkpoints go to RUN/checkpoint, the trained network to RUN/model.
    #[arg(long)]
    run: PathBuf,
    /// Continue the run in RUN from its checkpoint (with the checkpoint's settings).
    #[arg(long)]
    resume: bool,
    /// Optimizer steps [default: 1000, the full run of docs/results.md].
    #[arg(long)]
    steps: Option<usize>,
    /// Points per cloud [default: 256].
    #[arg(long)]
    points: Option<usize>,
    /// Clouds per step [default: 16].
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate [default: 1e-3].
    #[arg(long)]
    lr: Option<f64>,
    /// Latent size [default: 128].
    #[arg(long)]
    latent: Option<usize>,
    /// Weight of the KL term [default: 1e-4].
    #[arg(long)]
    kl_weight: Option<f64>,
    /// Steps over which the KL weight rises from 0 [default: half the steps].
    #[arg(long)]
    kl_warmup: Option<usize>,
    /// Seed of weights, batches and noise [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Held-out evaluation every this many steps [default: a tenth of the steps].
    #[arg(long)]
    eval_every: Option<usize>,
    /// CGAL's meshes folder [default: datasets/cache/cgal/data/data/meshes] (may differ on
    /// --resume: the meshes are not part of a run's settings).
    #[arg(long)]
    meshes: Option<PathBuf>,
    /// The mesh manifest, splits train / test / heldout [default: datasets/cgal/manifest.tsv].
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// A DeepEMD model folder for the deepemd losses; the built-in default model otherwise.
    #[arg(long)]
    model: Option<PathBuf>,
    /// `cpu` or `cuda` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args, Debug)]
pub struct VaeSampleArgs {
    /// A trained VAE: a run folder (its model/ or checkpoint/) or a model folder.
    #[arg(long)]
    run: PathBuf,
    /// Clouds to draw.
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Seed of the latents.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output HDF5 file (`data` float32 [count, points, 3], `label` zeros).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: &VaeArgs) -> Result<()> {
    match &args.command {
        VaeCommand::Train(a) => train(a),
        VaeCommand::Sample(a) => sample(a),
    }
}

impl VaeTrainArgs {
    /// `base` with every setting given on the command line applied.
    fn apply(&self, mut c: VaeTrainConfig) -> VaeTrainConfig {
        macro_rules! set {
            ($($field:ident => $($path:ident).+),*) => {$(
                if let Some(v) = self.$field { c.$($path).+ = v; }
            )*};
        }
        set!(loss => loss, steps => steps, batch => batch, lr => lr, seed => seed,
             kl_weight => kl_weight, kl_warmup => kl_warmup, eval_every => eval_every,
             points => network.points, latent => network.latent);
        if let Some(m) = &self.meshes {
            c.source.meshes = m.clone();
        }
        if let Some(m) = &self.manifest {
            c.source.manifest = m.clone();
        }
        if let Some(m) = &self.model {
            c.model = Some(m.clone());
        }
        c
    }
}

fn train(args: &VaeTrainArgs) -> Result<()> {
    let device = device_from_name(&args.device)?;
    let config = if args.resume {
        // The checkpoint's settings with this command's changes; training refuses any change.
        args.apply(from_checkpoint(&args.run, read_state)?.config)
    } else {
        let loss = args.loss.context(
            "--loss is required for a new run (chamfer, exact, deepemd, deepemd-refined, sinkhorn)",
        )?;
        // The recipe at the sizes of the full run of docs/results.md; flags override it.
        let base = VaeTrainConfig::recipe(
            loss,
            MeshSource::default(),
            args.points.unwrap_or(256),
            args.steps.unwrap_or(1000),
        );
        args.apply(base)
    };
    let stop = stop_on_ctrl_c()?;
    let progress = StepProgress::new(config.steps, args.quiet);
    let mut observer = |event: VaeEvent<'_>| {
        progress.observe(
            event,
            |r| {
                let message = format!(
                    "{} {:.4} KL {:.1} {:.2} s/step",
                    config.loss, r.loss, r.kl, r.step_seconds
                );
                (r.step, message)
            },
            |r| {
                format!(
                    "step {}: held-out reconstruction EMD {:.4}, Chamfer {:.5} ({:.0} s of \
                     training)",
                    r.step, r.score.emd, r.score.chamfer, r.train_seconds
                )
            },
        )
    };
    let (outcome, state) = train_vae(
        &config,
        &args.run,
        args.resume,
        &device,
        &stop,
        &mut observer,
    )?;
    match outcome {
        VaeOutcome::Finished => eprintln!(
            "trained {} steps in {:.0} s; held-out reconstruction EMD {:.4}; network in {}",
            state.step,
            state.wall_seconds,
            state.evals.last().map_or(f64::NAN, |e| e.score.emd),
            args.run.join("model").display()
        ),
        VaeOutcome::Stopped => eprintln!(
            "stopped at step {} of {}; resume with: deepemd vae train --run {} --resume",
            state.step,
            config.steps,
            args.run.display()
        ),
    }
    Ok(())
}

fn sample(args: &VaeSampleArgs) -> Result<()> {
    anyhow::ensure!(args.count > 0, "--count must be at least 1");
    let dir = [args.run.join("model"), args.run.clone()]
        .into_iter()
        .chain(find_checkpoint(&args.run))
        .find(|d| d.join("config.json").exists() && d.join("model.safetensors").exists())
        .with_context(|| {
            format!(
                "{}: no trained VAE here (expected model/ or checkpoint/ with config.json and \
                 model.safetensors)",
                args.run.display()
            )
        })?;
    // A checkpoint (or any folder that lists its files' hashes) proves itself before use.
    deepemd_train::verify_checkpoint(&dir)?;
    let device = device_from_name("cpu")?;
    let (vae, _) = load_network(&dir, &device)?;
    let clouds = sample_prior(&vae, args.count, args.seed, &device)?;
    let shapes = ShapeFile {
        data: clouds.iter().flat_map(|c| c.to_f32()).collect(),
        n_items: clouds.len(),
        n_points: vae.config().points,
        dim: 3,
        labels: vec![0; clouds.len()],
        pid: None,
        mesh_id: None,
    };
    shapes.write(&args.out, WriteOptions::default())?;
    eprintln!(
        "wrote {} clouds of {} points from {} to {}",
        clouds.len(),
        vae.config().points,
        dir.display(),
        args.out.display()
    );
    Ok(())
}

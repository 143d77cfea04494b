//! `deepemd train`: train the DeepEMD model, resumable, with progress and evaluations.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use deepemd_model::device_from_name;
use deepemd_train::{Outcome, PairSource, TrainConfig, TrainEvent, read_state, train};

use crate::progress::{StepProgress, from_checkpoint, stop_on_ctrl_c};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Run folder: checkpoints go to RUN/checkpoint, the final model to RUN/model.
    #[arg(long)]
    run: PathBuf,
    /// Continue the run in RUN from its checkpoint (settings come from the checkpoint).
    #[arg(long)]
    resume: bool,
    /// Dataset (ModelNet40 layout) to draw pairs from on the fly [default: datasets/generated/cgal].
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Train on `prepare-pairs` shards in this folder instead.
    #[arg(long, conflicts_with = "dataset")]
    pairs: Option<PathBuf>,
    /// Optimizer steps [default: 2000].
    #[arg(long)]
    steps: Option<usize>,
    /// Points per cloud; with --max-points or --unbalanced, the smaller cloud's smallest size
    /// [default: 128].
    #[arg(long)]
    points: Option<usize>,
    /// Mixed sizes: each step's smaller cloud has between --points and this many points
    /// (log-uniform) [default: 0, every step at --points].
    #[arg(long)]
    max_points: Option<usize>,
    /// Share of steps with unbalanced pairs (one cloud up to --max-ratio times the other)
    /// [default: 0].
    #[arg(long)]
    unbalanced: Option<f64>,
    /// Largest size ratio of an unbalanced pair [default: 4].
    #[arg(long)]
    max_ratio: Option<f64>,
    /// Pairs per step at --points points per cloud (fewer for larger clouds) [default: 16].
    #[arg(long)]
    batch: Option<usize>,
    /// Start from this model folder's weights (fine-tuning; same architecture).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Sinkhorn rounds of the matching layer on the logits [default: 0, none].
    #[arg(long)]
    sinkhorn_layer: Option<usize>,
    /// Token width [default: 128].
    #[arg(long)]
    d_model: Option<usize>,
    /// Encoder blocks [default: 4].
    #[arg(long)]
    layers: Option<usize>,
    /// Attention heads [default: 4].
    #[arg(long)]
    heads: Option<usize>,
    /// Feed-forward width [default: 512].
    #[arg(long)]
    ffn: Option<usize>,
    /// Peak learning rate [default: 3e-4].
    #[arg(long)]
    lr: Option<f64>,
    /// Warm-up steps [default: 200].
    #[arg(long)]
    warmup: Option<usize>,
    /// Seed of weights and batches [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Evaluate on held-out pairs every this many steps [default: 500].
    #[arg(long)]
    eval_every: Option<usize>,
    /// Held-out pairs per evaluation [default: 64].
    #[arg(long)]
    eval_pairs: Option<usize>,
    /// Minutes between checkpoints [default: 5].
    #[arg(long)]
    checkpoint_minutes: Option<f64>,
    /// Also checkpoint every this many steps [default: 0, by time only].
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// `cpu` or `cuda` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

impl TrainArgs {
    /// `base` with every setting given on the command line applied.
    fn apply(&self, mut c: TrainConfig) -> TrainConfig {
        if let Some(d) = &self.dataset {
            c.source = PairSource::Generated {
                dataset: d.clone(),
                split: "train".into(),
            };
        }
        if let Some(p) = &self.pairs {
            c.source = PairSource::Shards { dir: p.clone() };
        }
        if let Some(dir) = &self.init {
            c.init = Some(dir.clone());
        }
        macro_rules! set {
            ($($field:ident => $($path:ident).+),*) => {$(
                if let Some(v) = self.$field { c.$($path).+ = v; }
            )*};
        }
        set!(steps => steps, points => points, batch => batch, lr => lr, warmup => warmup, seed => seed,
             eval_every => eval_every, eval_pairs => eval_pairs, checkpoint_minutes => checkpoint_minutes,
             checkpoint_every => checkpoint_every, d_model => model.d_model, layers => model.layers,
             heads => model.heads, ffn => model.ffn, max_points => max_points,
             unbalanced => unbalanced, max_ratio => max_ratio, sinkhorn_layer => model.sinkhorn_layer);
        c
    }
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let device = device_from_name(&args.device)?;
    let config = if args.resume {
        // The checkpoint's settings with this command's changes; `train` refuses any change.
        args.apply(from_checkpoint(&args.run, read_state)?.config)
    } else {
        args.apply(TrainConfig::recipe(
            PathBuf::from("datasets/generated/cgal"),
            2000,
        ))
    };
    let stop = stop_on_ctrl_c()?;
    let progress = StepProgress::new(config.steps, args.quiet);
    let mut observer = |event: TrainEvent<'_>| {
        progress.observe(
            event,
            |r| {
                let pairs_per_second = progress.steps_per_second(r.step) * config.batch as f64;
                let message = format!(
                    "loss {:.3} row acc {:.3} {pairs_per_second:.0} pairs/s",
                    r.loss, r.row_accuracy
                );
                (r.step, message)
            },
            |r| {
                format!(
                    "step {}: held-out r {:.4} ρ {:.4} τ {:.4} mean rel err {:+.2}% row acc {:.3}",
                    r.step,
                    r.pearson,
                    r.spearman,
                    r.kendall,
                    100.0 * r.mean_relative_error,
                    r.row_accuracy
                )
            },
        )
    };
    let (outcome, state) = train(
        &config,
        &args.run,
        args.resume,
        &device,
        &stop,
        &mut observer,
    )?;
    let last = state.history.last();
    match outcome {
        Outcome::Finished => eprintln!(
            "trained {} steps in {:.0} s; final loss {:.4}; model in {}",
            state.step,
            state.wall_seconds,
            last.map_or(f32::NAN, |r| r.loss),
            args.run.join("model").display()
        ),
        Outcome::Stopped => eprintln!(
            "stopped at step {} of {}; resume with: deepemd train --run {} --resume",
            state.step,
            config.steps,
            args.run.display()
        ),
    }
    Ok(())
}

//! The VAE experiment (issue: the paper's generative result): five identical trainings that
//! differ only in the reconstruction loss, then per loss the held-out reconstruction, the
//! generation metrics of prior samples, and the time per step. Runs live in
//! `runs/vae/{quick,full}/LOSS`; a finished run with the plan's settings is reused and an
//! interrupted one resumed, so the full mode survives a stop.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use deepemd_core::PointCloud;
use deepemd_core::metrics::median;
use deepemd_metrics::{GenerationMetrics, generation_metrics};
use deepemd_vae::{
    LossKind, MeshSource, ReconstructionScore, TRAIN_SPLIT, VaeEvent, VaeState, VaeTrainConfig,
    evaluation_clouds, find_checkpoint, load_network, read_state, reconstruct,
    reconstruction_score, sample_prior, train_vae,
};

use crate::{RunArgs, bar};

/// How much the VAE experiment trains and evaluates.
#[derive(Clone, Debug, PartialEq)]
pub struct VaePlan {
    /// `quick` or `full`: the runs' folder.
    pub mode: &'static str,
    /// Points per cloud.
    pub points: usize,
    /// Steps of every run.
    pub steps: usize,
    /// Clouds per step.
    pub batch: usize,
    /// Held-out clouds per split in the report (and reference clouds of the metrics).
    pub report_clouds: usize,
}

impl VaePlan {
    /// A shortened schedule (adds ≤ 5 minutes to the quick mode; the table says so).
    pub fn quick() -> Self {
        Self {
            mode: "quick",
            points: 128,
            steps: 60,
            batch: 8,
            report_clouds: 24,
        }
    }

    /// The full experiment, sized for a 2-core CPU (about 75 minutes for the five runs).
    pub fn full() -> Self {
        Self {
            mode: "full",
            points: 256,
            steps: 1000,
            batch: 16,
            report_clouds: 48,
        }
    }

    /// The settings of `loss`'s run: the recipe of `deepemd vae train` with the plan's sizes
    /// (so `deepemd vae train --loss L` alone reproduces the full run's).
    pub fn config(
        &self,
        loss: LossKind,
        source: &MeshSource,
        model: &Option<PathBuf>,
    ) -> VaeTrainConfig {
        let mut c = VaeTrainConfig::recipe(loss, source.clone(), self.points, self.steps);
        c.batch = self.batch;
        c.model = model.clone();
        c
    }
}

/// One loss's figures.
pub struct VaeRow {
    pub loss: LossKind,
    /// Reconstruction of held-out meshes (`test`).
    pub test: ReconstructionScore,
    /// Reconstruction of held-out categories (`heldout`).
    pub heldout: ReconstructionScore,
    /// Prior samples against the held-out meshes.
    pub generation: GenerationMetrics,
    /// Median seconds of the loss per step, and of the whole step.
    pub loss_seconds: f64,
    pub step_seconds: f64,
    /// Training seconds (sum of steps) and wall seconds (evaluations included).
    pub train_seconds: f64,
    pub wall_seconds: f64,
    /// (training seconds, held-out reconstruction EMD) at each evaluation.
    pub curve: Vec<(f64, f64)>,
    /// Reconstructions of the figure's shapes, and prior samples.
    pub reconstructions: Vec<PointCloud>,
    pub samples: Vec<PointCloud>,
}

/// Everything the section and the figures need.
pub struct VaeResults {
    pub plan: VaePlan,
    pub rows: Vec<VaeRow>,
    /// Another sample of the held-out meshes against the reference: what a perfect generator
    /// would score.
    pub data_baseline: GenerationMetrics,
    /// The settings every run shared (but the loss).
    pub config: VaeTrainConfig,
    /// Training meshes.
    pub train_meshes: usize,
    /// The figure's input shapes (held-out meshes, then held-out categories).
    pub figure_inputs: Vec<PointCloud>,
    /// Seconds of this call's evaluations (training excluded).
    pub eval_seconds: f64,
}

/// Seed of the report's evaluation clouds and prior samples (fixed: every loss sees the same).
const REPORT_SEED: u64 = 202_611;
/// Shapes in the reconstruction figure from each held-out split.
const FIGURE_SHAPES: usize = 2;
/// Prior samples in the samples figure per loss.
const FIGURE_SAMPLES: usize = 6;

/// The mesh source of the runs: `--meshes` or the xtask's default place.
fn source(args: &RunArgs) -> MeshSource {
    MeshSource {
        meshes: args
            .meshes
            .clone()
            .unwrap_or_else(|| PathBuf::from(deepemd_vae::DEFAULT_MESHES)),
        manifest: args.manifest.clone(),
    }
}

/// Whether the meshes the VAE trains on are here.
pub fn meshes_present(args: &RunArgs) -> bool {
    source(args).meshes.is_dir()
}

/// Trains (or reuses) the five runs and evaluates them.
pub fn vae(args: &RunArgs, plan: &VaePlan, runs: &Path) -> Result<VaeResults> {
    let started = Instant::now();
    let source = source(args);
    anyhow::ensure!(
        source.meshes.is_dir(),
        "{}: CGAL's meshes are needed for the VAE experiment (cargo xtask prepare-datasets \
         fetches them)",
        source.meshes.display()
    );
    let device = Device::Cpu;
    let mut training_seconds = 0.0;
    let clouds = |split: &str, seed: u64| {
        evaluation_clouds(&source, split, plan.points, plan.report_clouds, seed)
    };
    let test = clouds("test", REPORT_SEED)?;
    let heldout = clouds("heldout", REPORT_SEED)?;
    let data_baseline = generation_metrics(
        &test,
        &clouds("test", REPORT_SEED ^ (1 << 60))?,
        ("held-out meshes", "another sample of them"),
        &|| {},
    )?;
    let figure_inputs: Vec<PointCloud> = spread(&test, FIGURE_SHAPES)
        .into_iter()
        .chain(spread(&heldout, FIGURE_SHAPES))
        .collect();

    let mut rows = Vec::new();
    for loss in LossKind::ALL {
        let config = plan.config(loss, &source, &args.model);
        let run = runs.join(plan.mode).join(loss.name());
        let training = Instant::now();
        let state = trained(&config, &run, &device)?;
        training_seconds += training.elapsed().as_secs_f64();
        let (vae, _) = load_network(&run.join("model"), &device)?;
        let generated = sample_prior(&vae, test.len(), REPORT_SEED, &device)?;
        let generation =
            generation_metrics(&test, &generated, ("held-out meshes", loss.name()), &|| {})?;
        rows.push(VaeRow {
            loss,
            test: reconstruction_score(&vae, &test, &device)?,
            heldout: reconstruction_score(&vae, &heldout, &device)?,
            generation,
            loss_seconds: median(
                &state
                    .history
                    .iter()
                    .map(|r| r.loss_seconds)
                    .collect::<Vec<_>>(),
            ),
            step_seconds: median(
                &state
                    .history
                    .iter()
                    .map(|r| r.step_seconds)
                    .collect::<Vec<_>>(),
            ),
            train_seconds: state.train_seconds(),
            wall_seconds: state.wall_seconds,
            curve: state
                .evals
                .iter()
                .map(|e| (e.train_seconds, e.score.emd))
                .collect(),
            reconstructions: reconstruct(&vae, &figure_inputs, &device)?,
            samples: generated.into_iter().take(FIGURE_SAMPLES).collect(),
        });
        eprintln!(
            "vae {}: held-out reconstruction EMD {:.4}",
            loss,
            rows.last().expect("pushed").test.emd
        );
    }
    Ok(VaeResults {
        plan: plan.clone(),
        rows,
        data_baseline,
        config: plan.config(LossKind::Exact, &source, &args.model),
        // Counted in the manifest: opening the pool would read every training mesh again.
        train_meshes: deepemd_data::datasets::read_manifest(&source.manifest)?
            .iter()
            .filter(|m| m.split == TRAIN_SPLIT)
            .count(),
        figure_inputs,
        eval_seconds: started.elapsed().as_secs_f64() - training_seconds,
    })
}

/// The finished run of `config` in `run`: reused when finished with these settings, resumed
/// when interrupted, trained otherwise.
fn trained(config: &VaeTrainConfig, run: &Path, device: &Device) -> Result<VaeState> {
    let checkpoint = find_checkpoint(run);
    if let Some(dir) = &checkpoint {
        let state = read_state(dir)?;
        if !state.config.same_run(config) {
            bail!(
                "{}: this run was made with other settings than the plan's ({}); delete the \
                 folder to train it again",
                run.display(),
                state.config.differences(config)
            );
        }
        if state.step == config.steps && run.join("model").is_dir() {
            return Ok(state);
        }
    }
    let progress = bar(config.steps, &format!("VAE, loss {}", config.loss));
    let stop = AtomicBool::new(false);
    let mut observer = |event: VaeEvent<'_>| match event {
        VaeEvent::Started { step, .. } => progress.set_position(step as u64),
        VaeEvent::Step(r) => progress.set_position(r.step as u64 + 1),
        _ => {}
    };
    let (_, state) = train_vae(
        config,
        run,
        checkpoint.is_some(),
        device,
        &stop,
        &mut observer,
    )
    .with_context(|| format!("training the VAE in {}", run.display()))?;
    progress.finish_and_clear();
    Ok(state)
}

/// `count` items spread evenly over `items`.
fn spread(items: &[PointCloud], count: usize) -> Vec<PointCloud> {
    let count = count.min(items.len());
    (0..count)
        .map(|k| items[k * items.len() / count].clone())
        .collect()
}

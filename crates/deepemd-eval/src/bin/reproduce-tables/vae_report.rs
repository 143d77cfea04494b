//! The "vae" section of docs/results.md and its three figures.

use std::path::Path;

use anyhow::Result;
use deepemd_eval::plot::{COLORS, Series, lines};
use deepemd_eval::plot_clouds::cloud_grid;
use deepemd_eval::report::{Table, seconds};
use deepemd_metrics::GenerationMetrics;
use deepemd_vae::LossKind;

use crate::vae::VaeResults;

/// The figures' file names.
pub const RECONSTRUCTIONS: &str = "vae_reconstructions.png";
pub const SAMPLES: &str = "vae_samples.png";
pub const QUALITY_VS_TIME: &str = "vae_quality_vs_time.png";

fn points(c: &deepemd_core::PointCloud) -> Vec<[f64; 3]> {
    c.points().map(|p| [p[0], p[1], p[2]]).collect()
}

/// Draws the three figures into `dir`.
pub fn draw(dir: &Path, r: &VaeResults) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    // (1) Reconstructions: a row per held-out shape, the input then each loss's output.
    let columns: Vec<String> = std::iter::once("input".to_string())
        .chain(r.rows.iter().map(|row| row.loss.to_string()))
        .collect();
    let half = r.figure_inputs.len() / 2;
    let row_names: Vec<String> = (0..r.figure_inputs.len())
        .map(|k| {
            if k < half {
                format!("held-out mesh {}", k + 1)
            } else {
                format!("held-out category {}", k - half + 1)
            }
        })
        .collect();
    let cells: Vec<Vec<Vec<[f64; 3]>>> = r
        .figure_inputs
        .iter()
        .enumerate()
        .map(|(k, input)| {
            std::iter::once(points(input))
                .chain(r.rows.iter().map(|row| points(&row.reconstructions[k])))
                .collect()
        })
        .collect();
    cloud_grid(&dir.join(RECONSTRUCTIONS), &columns, &row_names, &cells)?;
    // (2) Prior samples: a row per loss.
    let samples = r.rows.first().map_or(0, |row| row.samples.len());
    let columns: Vec<String> = (1..=samples).map(|k| format!("sample {k}")).collect();
    let row_names: Vec<String> = r.rows.iter().map(|row| row.loss.to_string()).collect();
    let cells: Vec<Vec<Vec<[f64; 3]>>> = r
        .rows
        .iter()
        .map(|row| row.samples.iter().map(points).collect())
        .collect();
    cloud_grid(&dir.join(SAMPLES), &columns, &row_names, &cells)?;
    // (3) Quality per second of training.
    let series: Vec<Series> = r
        .rows
        .iter()
        .zip(COLORS)
        .map(|(row, color)| Series {
            label: row.loss.to_string(),
            points: row.curve.clone(),
            color,
        })
        .collect();
    lines(
        &dir.join(QUALITY_VS_TIME),
        &format!(
            "held-out reconstruction (exact EMD) vs training time, n = {}",
            r.plan.points
        ),
        "seconds of training (2-core CPU)",
        "mean exact EMD to the input",
        &series,
    )?;
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn generation_cells(g: &GenerationMetrics) -> Vec<String> {
    vec![
        format!("{:.4}", g.mmd_emd),
        pct(g.cov_emd),
        pct(g.nna_emd),
        format!("{:.5}", g.mmd_cd),
        pct(g.cov_cd),
        pct(g.nna_cd),
    ]
}

/// The section's Markdown; `figure(name)` is a figure's link relative to the document.
pub fn section(
    r: &VaeResults,
    quick: bool,
    hardware: &str,
    figure: impl Fn(&str) -> String,
) -> String {
    let p = &r.plan;
    let mut md = format!(
        "## VAE: DeepEMD as a training loss (`cargo xtask reproduce-tables{}`)\n\n",
        if quick { " --quick" } else { " --vae-only" }
    );
    if quick {
        md.push_str(
            "**Shortened schedule (`--quick`)**: a smoke run of the experiment, not its result; \
             the full run's figures are those of `cargo xtask reproduce-tables --vae-only`.\n\n",
        );
    }
    let c = &r.config;
    let widths = |w: &[usize]| {
        w.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("-")
    };
    md.push_str(&format!(
        "Five VAEs (PointNet encoder {enc}, max-pool, latent {latent}; MLP decoder {dec} → {n} × 3) \
         trained with identical seed, data, schedule and batch, differing only in the \
         reconstruction loss: {steps} steps of {batch} clouds of n = {n} points, each drawn \
         afresh from the {meshes} training meshes (new surface sample, random rotation about the \
         vertical axis, per-axis scale {lo:.2}–{hi:.2}, normalized); AdamW, lr {lr:e} with \
         {warmup} warm-up steps and cosine decay, KL weight {kl:e} reached after {klw} steps. \
         `deepemd` is the shipped model with row argmax (the paper's loss), `deepemd-refined` the \
         same model with the bijective refined rounding, `sinkhorn` ⟨P, C⟩ with the project's \
         default ε = 3·10⁻³, ε-scaling, marginal tolerance 10⁻³. Each run alone: `deepemd vae \
         train --loss L` (its defaults are these settings{quick_flags}). Hardware: {hardware}; the \
         five trainings took {train:.0} s of training ({wall:.0} s of wall time with their \
         held-out evaluations), this report's evaluation {eval:.0} s.\n\n",
        enc = widths(&c.network.encoder),
        latent = c.network.latent,
        dec = widths(&c.network.decoder),
        n = p.points,
        steps = p.steps,
        batch = p.batch,
        meshes = r.train_meshes,
        lo = 1.0 - c.scale_jitter,
        hi = 1.0 + c.scale_jitter,
        lr = c.lr,
        warmup = c.warmup,
        kl = c.kl_weight,
        klw = c.kl_warmup,
        quick_flags = if quick {
            format!(" with `--steps {} --points {} --batch {}`", p.steps, p.points, p.batch)
        } else {
            String::new()
        },
        train = r.rows.iter().map(|row| row.train_seconds).sum::<f64>(),
        wall = r.rows.iter().map(|row| row.wall_seconds).sum::<f64>(),
        eval = r.eval_seconds,
    ));
    let clouds = r.rows.first().map_or(0, |row| row.generation.n_reference);
    md.push_str(&format!(
        "**Reconstruction** of {clouds} held-out clouds per split (mean latent), scored by the \
         exact EMD (mean distance over the optimal matching; lower is better) and Chamfer \
         (docs/math.md; a squared length), with the time per step (medians over the run; \
         \"loss\" is the loss's forward pass, where the EMD losses find their matching; \
         Chamfer's backward pass is not in it):\n\n"
    ));
    let mut t = Table::new(&[
        "loss",
        "EMD, held-out meshes",
        "CD, held-out meshes",
        "EMD, held-out categories",
        "CD, held-out categories",
        "s/step, loss",
        "s/step, whole step",
        "training time (s)",
    ]);
    for row in &r.rows {
        t.push(vec![
            format!("`{}`", row.loss),
            format!("{:.4}", row.test.emd),
            format!("{:.5}", row.test.chamfer),
            format!("{:.4}", row.heldout.emd),
            format!("{:.5}", row.heldout.chamfer),
            seconds(row.loss_seconds),
            seconds(row.step_seconds),
            format!("{:.0}", row.train_seconds),
        ]);
    }
    md.push_str(&t.to_markdown());
    md.push_str(&format!(
        "\n**Generation**: {clouds} clouds decoded from the prior N(0, I) against the {clouds} \
         held-out-mesh clouds, MMD / COV / 1-NNA (Yang et al. 2019, docs/math.md) with the exact \
         EMD and with Chamfer (`deepemd gen-metrics`). MMD: lower is better; COV: higher; 1-NNA: \
         closer to 50 % is better. The last row is another sample of the same held-out meshes \
         (what an ideal generator would score on this reference).\n\n"
    ));
    let mut t = Table::new(&[
        "loss",
        "MMD-EMD",
        "COV-EMD",
        "1-NNA-EMD",
        "MMD-CD",
        "COV-CD",
        "1-NNA-CD",
    ]);
    for row in &r.rows {
        let mut cells = vec![format!("`{}`", row.loss)];
        cells.extend(generation_cells(&row.generation));
        t.push(cells);
    }
    let mut cells = vec!["*data (resampled)*".to_string()];
    cells.extend(generation_cells(&r.data_baseline));
    t.push(cells);
    md.push_str(&t.to_markdown());
    md.push_str(&verdict(r));
    md.push_str(&format!(
        "\n![reconstructions]({})\n\n*Held-out shapes (two held-out meshes, two held-out \
         categories) and each loss's reconstruction, one oblique view, nearer points darker.*\n\n\
         ![prior samples]({})\n\n*Clouds decoded from the prior, per loss.*\n\n\
         ![quality vs time]({})\n\n*Held-out reconstruction EMD against seconds of training: \
         quality per second.*\n",
        figure(RECONSTRUCTIONS),
        figure(SAMPLES),
        figure(QUALITY_VS_TIME)
    ));
    md
}

/// The sentences comparing DeepEMD with Chamfer and with the exact EMD, from the numbers.
fn verdict(r: &VaeResults) -> String {
    let of = |k: LossKind| r.rows.iter().find(|row| row.loss == k);
    let (Some(c), Some(e), Some(d)) = (
        of(LossKind::Chamfer),
        of(LossKind::Exact),
        of(LossKind::DeepEmd),
    ) else {
        return String::new();
    };
    let rel = |a: f64, b: f64| 100.0 * (a - b) / b;
    format!(
        "\nIn this run: `deepemd` reconstructs held-out meshes at EMD {:.4}, {} Chamfer's {:.4} \
         ({:+.1} %) and {} exact's {:.4} ({:+.1} %); MMD-EMD of prior samples {:.4} vs {:.4} \
         (Chamfer) and {:.4} (exact). Per step its loss took {} s, exact's {} s.\n",
        d.test.emd,
        if d.test.emd < c.test.emd {
            "below"
        } else {
            "above"
        },
        c.test.emd,
        rel(d.test.emd, c.test.emd),
        if d.test.emd < e.test.emd {
            "below"
        } else {
            "above"
        },
        e.test.emd,
        rel(d.test.emd, e.test.emd),
        d.generation.mmd_emd,
        c.generation.mmd_emd,
        e.generation.mmd_emd,
        seconds(d.loss_seconds),
        seconds(e.loss_seconds),
    )
}

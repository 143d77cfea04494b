//! `deepemd gen-metrics`: MMD, COV and 1-NNA (with PointFlow's per-set splits and JSD) of a
//! generated set against a reference set, with the exact EMD and with Chamfer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, Result};
use clap::Args;
use deepemd_core::PointCloud;
use deepemd_data::sharding::Shard;
use deepemd_metrics::{
    GenerationMetrics, Search, WorkFolder, generation_metrics_with, pointflow_json, progress_steps,
};

use crate::output::print_line;
use crate::progress::{bar, warn_remade};

#[derive(Args, Debug)]
pub struct GenMetricsArgs {
    /// Reference clouds: an HDF5 file in the ModelNet40 layout (`data` [N, n, 3];
    /// `file.h5:dataset` for another dataset) or an (N, n, 3) .npy file (2-D sets work alike).
    #[arg(long)]
    reference: String,
    /// Generated clouds, in the same forms, with the same points per cloud and dimension.
    #[arg(long)]
    generated: String,
    /// Print one JSON object instead of a table (the same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// `table`, `json` (this project's keys, with `pairs` and `exact_solves`) or `pointflow`
    /// (one JSON object with PointFlow's keys: `lgan_mmd-EMD`, `1-NN-EMD-acc_t`, `jsd`, …).
    #[arg(long, default_value = "table")]
    format: OutputFormat,
    /// Solve every EMD the definitions involve instead of the pruned nearest-neighbour search
    /// (the same metrics, to the bit; for checking, and for timing the difference).
    #[arg(long)]
    brute_force: bool,
    /// Keep the work in this folder, unit by unit, each file with its `.receipt`: a rerun
    /// resumes (remaking any unit that does not verify), and `--shard` splits the work across
    /// jobs. The pruned search keeps its answers (`nearest.json`, then `nearest-UUUUU.json`,
    /// a block of nearest-neighbour queries each); with --brute-force, every distance
    /// (`distances.json`, then `distances-CCCCC.npy`, f64 [pairs, 2]: EMD, Chamfer). A folder
    /// that already holds one kind is completed as that kind.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With --out: compute only shard I of N (0 ≤ I < N) of the chunks, e.g.
    /// `--shard $SLURM_ARRAY_TASK_ID/8`. When all N are done, `deepemd merge-shards --shards N
    /// --out DIR F0 F1 …` joins their folders, and `gen-metrics --out DIR` prints the metrics
    /// (docs/scale.md).
    #[arg(long, value_name = "I/N", default_value = "0/1", requires = "out")]
    shard: Shard,
    /// With --out: what one unit file holds (the unit a rerun resumes from): nearest-neighbour
    /// queries (pruned), or cloud pairs (--brute-force) [default: the folder's, or 64 queries /
    /// 256 pairs for a new folder].
    #[arg(long, requires = "out")]
    chunk_size: Option<usize>,
}

/// How the metrics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Pointflow,
}

pub fn run(args: &GenMetricsArgs) -> Result<()> {
    let reference = deepemd_data::read_cloud_batch(&args.reference)?;
    let generated = deepemd_data::read_cloud_batch(&args.generated)?;
    let m = match &args.out {
        Some(out) => match in_folder(args, out, &reference, &generated)? {
            Some(m) => m,
            None => return Ok(()),
        },
        None => in_memory(args, &reference, &generated)?,
    };
    print_metrics(args, &m)
}

/// The metrics computed in memory, in one go.
fn in_memory(
    args: &GenMetricsArgs,
    reference: &[PointCloud],
    generated: &[PointCloud],
) -> Result<GenerationMetrics> {
    let search = if args.brute_force {
        Search::BruteForce
    } else {
        Search::Pruned
    };
    let total = progress_steps(reference.len(), generated.len(), search) as u64;
    let unit = match search {
        Search::Pruned => "Chamfer distances and EMD queries",
        Search::BruteForce => "distances",
    };
    let progress = bar(total, unit);
    progress.set_message("exact EMD and Chamfer");
    let done = AtomicU64::new(0);
    let tick = || {
        // Redrawing per distance would cost more than a small EMD; every 64th is enough.
        if done.fetch_add(1, Ordering::Relaxed) % 64 == 63 {
            progress.set_position(done.load(Ordering::Relaxed));
        }
    };
    let m = generation_metrics_with(
        reference,
        generated,
        (&args.reference, &args.generated),
        search,
        &tick,
    )?;
    progress.finish_and_clear();
    Ok(m)
}

/// The work computed (or completed) in `out`, this run's shard of it; the metrics when the run
/// is unsharded, `None` after a shard.
fn in_folder(
    args: &GenMetricsArgs,
    out: &std::path::Path,
    reference: &[PointCloud],
    generated: &[PointCloud],
) -> Result<Option<GenerationMetrics>> {
    let kind = WorkFolder::choose(out, args.brute_force)?;
    let (unit, item) = kind.unit_words();
    let unit_size = kind
        .unit_size(out, args.chunk_size)
        .context("--chunk-size")?;
    let names = (args.reference.as_str(), args.generated.as_str());
    let progress = bar(0, item);
    progress.set_message("exact EMD and Chamfer");
    let tick = |done: usize, total: usize| {
        // Redrawing per item would cost more than a small EMD; every 64th is enough.
        if done % 64 == 0 || done == total {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
        }
    };
    // Ctrl-C kills the command; the units written stand (each with its receipt).
    let never = AtomicBool::new(false);
    let run = kind
        .compute(
            reference, generated, names, out, args.shard, unit_size, &tick, &never,
        )
        .with_context(|| format!("computing in {}", out.display()))?;
    progress.finish_and_clear();
    warn_remade(unit, run.remade, run.first_remade.as_deref());
    let of_shard = if args.shard.is_whole() {
        String::new()
    } else {
        format!(" (shard {})", args.shard)
    };
    eprintln!(
        "{} {unit} files{of_shard} in {} ({} complete before this run); {} {item} in {:.1} s",
        run.units,
        out.display(),
        run.skipped,
        run.items_made,
        run.seconds
    );
    if !args.shard.is_whole() {
        eprintln!(
            "when all {n} shards are done: deepemd merge-shards --shards {n} --out MERGED \
             FOLDER0 … FOLDER{last}, then gen-metrics --out MERGED prints the metrics",
            n = args.shard.count(),
            last = args.shard.count() - 1
        );
        return Ok(None);
    }
    Ok(Some(kind.metrics(
        out,
        reference,
        generated,
        run.seconds,
    )?))
}

fn print_metrics(args: &GenMetricsArgs, m: &GenerationMetrics) -> Result<()> {
    let format = if args.json {
        OutputFormat::Json
    } else {
        args.format
    };
    match format {
        OutputFormat::Json => print_line(serde_json::to_string(m)?),
        OutputFormat::Pointflow => print_line(pointflow_json(m)),
        OutputFormat::Table => print_table(m),
    }
}

fn print_table(m: &GenerationMetrics) -> Result<()> {
    let pct = |x: f64| format!("{:.1} %", 100.0 * x);
    print_line(format_args!(
        "{} reference and {} generated clouds of {} points ({:.1} s)",
        m.n_reference, m.n_generated, m.points, m.seconds
    ))?;
    print_line(format_args!(
        "EMDs: {} pairs in the definitions, {} solved exactly ({:.2} %)",
        m.pairs,
        m.exact_solves,
        100.0 * m.exact_solves as f64 / m.pairs.max(1) as f64
    ))?;
    print_line("metric                 exact EMD   Chamfer")?;
    print_line(format_args!(
        "MMD                    {:<11.5} {:.6}",
        m.mmd_emd, m.mmd_cd
    ))?;
    print_line(format_args!(
        "MMD (generated side)   {:<11.5} {:.6}",
        m.mmd_smp_emd, m.mmd_smp_cd
    ))?;
    print_line(format_args!(
        "COV                    {:<11} {}",
        pct(m.cov_emd),
        pct(m.cov_cd)
    ))?;
    print_line(format_args!(
        "1-NNA                  {:<11} {}",
        pct(m.nna_emd),
        pct(m.nna_cd)
    ))?;
    print_line(format_args!(
        "1-NNA reference        {:<11} {}",
        pct(m.nna_emd_reference),
        pct(m.nna_cd_reference)
    ))?;
    print_line(format_args!(
        "1-NNA generated        {:<11} {}",
        pct(m.nna_emd_generated),
        pct(m.nna_cd_generated)
    ))?;
    match m.jsd {
        Some(j) => print_line(format_args!("JSD (28³ occupancy)    {j:.5}")),
        None => print_line("JSD (28³ occupancy)    – (3-D clouds only)"),
    }
}

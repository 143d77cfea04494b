//! `deepemd prepare-pairs`: training pairs with exact matchings, in resumable shards.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{PairMix, PairsConfig, prepare_pairs};
use deepemd_data::sharding::Shard;
use deepemd_solvers::Exact;

use crate::progress::{bar, warn_remade};

#[derive(Args, Debug)]
pub struct PreparePairsArgs {
    /// A dataset folder in the ModelNet40 layout (e.g. datasets/generated/cgal).
    #[arg(long, default_value = "datasets/generated/cgal")]
    dataset: PathBuf,
    /// Which split the shapes come from.
    #[arg(long, default_value = "train")]
    split: String,
    /// Points per cloud.
    #[arg(long, default_value_t = 128)]
    points: usize,
    /// Number of pairs.
    #[arg(long, default_value_t = 10_000)]
    pairs: usize,
    /// Pairs per shard file.
    #[arg(long, default_value_t = 1000)]
    shard_size: usize,
    /// Seed of the pair stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (resumed when it already holds shards made with the same settings).
    #[arg(long)]
    out: PathBuf,
    /// Make only shard I of N (0 ≤ I < N) of the set, e.g. `--shard $SLURM_ARRAY_TASK_ID/8`:
    /// the shard files k with k mod N = I. Copying the N output folders together gives the set
    /// one unsharded run makes; `deepemd merge-shards` checks and does that (docs/scale.md).
    #[arg(long, value_name = "I/N", default_value = "0/1")]
    shard: Shard,
}

pub fn run(args: &PreparePairsArgs) -> Result<()> {
    let split = load_modelnet40(&args.dataset, &args.split)?;
    // The shapes are identified by their hash, so shards may read them from different paths;
    // `source` only records the folder's name and the split.
    let folder = args.dataset.file_name().unwrap_or(args.dataset.as_os_str());
    let config = PairsConfig {
        source: format!("{}:{}", folder.to_string_lossy(), args.split),
        shapes_sha256: split.shapes.fingerprint(),
        points: args.points,
        pairs: args.pairs,
        shard_size: args.shard_size,
        seed: args.seed,
        mix: PairMix::default(),
    };
    let progress = bar(0, "pairs");
    progress.set_message("exact matchings");
    let solver = Exact::default();
    let report = prepare_pairs(
        &split.shapes,
        &config,
        &args.out,
        &solver,
        args.shard,
        &|done, total| {
            progress.set_length(total as u64);
            progress.set_position(done as u64)
        },
    )
    .with_context(|| format!("preparing pairs in {}", args.out.display()))?;
    progress.finish_and_clear();
    warn_remade("shard", report.remade, report.first_remade.as_deref());
    let rate = report.pairs_made as f64 / report.seconds.max(1e-9);
    let of_shard = if args.shard.is_whole() {
        String::new()
    } else {
        format!(" (shard {} of the set's {})", args.shard, config.shards())
    };
    eprintln!(
        "{} shards{of_shard} in {} ({} complete before this run); {} pairs made in {:.1} s ({rate:.1} pairs/s at n = {})",
        report.shards,
        args.out.display(),
        report.skipped,
        report.pairs_made,
        report.seconds,
        args.points
    );
    Ok(())
}

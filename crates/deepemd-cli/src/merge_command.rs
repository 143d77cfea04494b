//! `deepemd merge-shards`: checks that the folders of a sharded run hold one complete job, then
//! copies them into one folder.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use deepemd_data::pairs::PairSetOutput;
use deepemd_data::sharding::{ShardedOutput, merge_shards};
use deepemd_metrics::{DistanceSetOutput, NearestSetOutput};

#[derive(Args, Debug)]
pub struct MergeShardsArgs {
    /// The output folders of the shards (of `prepare-pairs --shard` or `gen-metrics --shard`),
    /// one per shard, in any order.
    #[arg(required = true, value_name = "FOLDER")]
    folders: Vec<PathBuf>,
    /// N, the number of shards the job was split into (the N of `--shard I/N`).
    #[arg(long, value_name = "N")]
    shards: usize,
    /// Copy the merged job into this folder (it may be one of the shard folders). Without it,
    /// only check.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: &MergeShardsArgs) -> Result<()> {
    let kinds: [&dyn ShardedOutput; 3] = [&PairSetOutput, &DistanceSetOutput, &NearestSetOutput];
    let report = merge_shards(&kinds, &args.folders, args.shards, args.out.as_deref())?;
    let done = match &args.out {
        Some(out) => format!("; {} files copied into {}", report.copied, out.display()),
        None => String::new(),
    };
    for line in &report.ignored {
        eprintln!("warning: {line}; a verified copy of the same unit was used instead");
    }
    eprintln!(
        "{} shards of {} ({} files): complete, every file verified against its receipt{done}",
        report.shards, report.manifest, report.units
    );
    Ok(())
}

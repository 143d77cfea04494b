//! `deepemd`: Earth Mover's Distance between point clouds, exact or estimated.

#[cfg(feature = "hdf5")]
mod datasets_command;
mod emd_batch_command;
mod emd_command;
#[cfg(feature = "hdf5")]
mod gen_metrics_command;
mod input;
#[cfg(feature = "hdf5")]
mod merge_command;
mod method_args;
mod output;
#[cfg(feature = "hdf5")]
mod pairs_command;
mod progress;
#[cfg(feature = "hdf5")]
mod train_command;
#[cfg(feature = "hdf5")]
mod vae_command;

use std::process::ExitCode;

// Training and inference allocate and free large tensors every op; mimalloc keeps the memory
// instead of returning it to the kernel each time (measured: a training step 1.8 s → 0.9 s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "deepemd",
    version,
    about = "Earth Mover's Distance between point clouds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The EMD between two clouds (.ply, .off, .xyz/.txt/.csv, .npy, .pcd, file.npy#K or
    /// file.h5#K; a mesh is read as its vertices unless --sample N samples its surface).
    Emd(emd_command::EmdArgs),
    /// Many EMDs, one JSON line per pair: two batches ((B, n, 3) .npy files or HDF5 datasets)
    /// or a list file of path pairs; pairs in parallel, progress on stderr. Every input is read
    /// and every pair checked (dimensions, convention, size limits) before any is solved, and
    /// the bad pairs named; they get error lines, the others are solved, and the exit status
    /// is 1 when any failed (--fail-fast: solve nothing then).
    EmdBatch(emd_batch_command::EmdBatchArgs),
    /// Build the datasets (real meshes, synthetic sets, ModelNet40/ShapeNet copies) in the
    /// ModelNet40 HDF5 layout.
    #[cfg(feature = "hdf5")]
    PrepareDatasets(datasets_command::PrepareDatasetsArgs),
    /// Make training pairs with exact matchings, in resumable shards.
    #[cfg(feature = "hdf5")]
    PreparePairs(pairs_command::PreparePairsArgs),
    /// Train the DeepEMD model (resumable; Ctrl-C writes a checkpoint).
    #[cfg(feature = "hdf5")]
    Train(Box<train_command::TrainArgs>),
    /// The point-cloud VAE of the generative experiment: `vae train --loss L --run DIR`,
    /// `vae sample --run DIR --out G.h5`.
    #[cfg(feature = "hdf5")]
    Vae(vae_command::VaeArgs),
    /// Generation metrics (MMD, COV, 1-NNA) of a generated set against a reference set, with
    /// the exact EMD and with Chamfer.
    #[cfg(feature = "hdf5")]
    GenMetrics(gen_metrics_command::GenMetricsArgs),
    /// Check that the output folders of a sharded run (`--shard I/N` of prepare-pairs or
    /// gen-metrics) hold every unit once, and copy them into one folder.
    #[cfg(feature = "hdf5")]
    MergeShards(merge_command::MergeShardsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Emd(args) => emd_command::run(&args),
        Command::EmdBatch(args) => emd_batch_command::run(&args),
        #[cfg(feature = "hdf5")]
        Command::PrepareDatasets(args) => datasets_command::run(&args),
        #[cfg(feature = "hdf5")]
        Command::PreparePairs(args) => pairs_command::run(&args),
        #[cfg(feature = "hdf5")]
        Command::Train(args) => train_command::run(&args),
        #[cfg(feature = "hdf5")]
        Command::Vae(args) => vae_command::run(&args),
        #[cfg(feature = "hdf5")]
        Command::GenMetrics(args) => gen_metrics_command::run(&args),
        #[cfg(feature = "hdf5")]
        Command::MergeShards(args) => merge_command::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<output::ClosedPipe>().is_some() => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the whole cause chain, no backtrace: user errors are not crashes.
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", one_line(&dedup_chain(&chain)));
            ExitCode::FAILURE
        }
    }
}

/// The message on one line: libraries (HDF5 above all) put newlines in their messages, and a
/// fuzzed file can put any control byte into a quoted token.
fn one_line(message: &str) -> String {
    message
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Joins an error chain with ": ", dropping a cause whose text its parent already contains.
fn dedup_chain(chain: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for msg in chain {
        if !out.last().is_some_and(|prev| prev.contains(msg.as_str())) {
            out.push(msg);
        }
    }
    out.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_printed_on_one_line() {
        let msg = "file.h5: HDF5 error\n  #000: H5F.c line 1\r\n\tmajor: bad\u{1b}[31m";
        let line = one_line(msg);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert_eq!(
            line,
            "file.h5: HDF5 error #000: H5F.c line 1 major: bad [31m"
        );
    }
}

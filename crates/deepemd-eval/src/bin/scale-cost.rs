//! `cargo xtask scale-cost`: the cost model of docs/scale.md, measured on this machine — wall
//! seconds and bytes per unit of the two jobs that get sharded across machines:
//!
//! - `prepare-pairs`: one training pair with its exact matching (the pair drawn, solved by
//!   `exact`, written to a shard file);
//! - `gen-metrics --out`: one cloud pair of the all-pairs matrix (its exact EMD and its Chamfer
//!   distance, written to a chunk file).
//!
//! Both run through the library functions the commands call, pairs in parallel on every core,
//! into a temporary folder; the section `cost-model` of the output file is rewritten.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use deepemd_core::PointCloud;
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{PairMix, PairsConfig, prepare_pairs};
use deepemd_data::sharding::Shard;
use deepemd_eval::report::{Table, seconds, update_section};
use deepemd_metrics::{DistanceSetConfig, compute_distance_set};
use deepemd_solvers::Exact;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// Dataset in the ModelNet40 layout: `train` gives the training pairs, `test` the clouds of
    /// the all-pairs matrix.
    #[arg(long, default_value = "datasets/generated/cgal")]
    dataset: PathBuf,
    /// Points per cloud.
    #[arg(long, value_delimiter = ',', default_values_t = [128, 512, 1024, 2048])]
    sizes: Vec<usize>,
    /// Multiplies the work measured per size (1: about 10 s per size and job on 2 cores).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// The Markdown file whose `cost-model` section is rewritten.
    #[arg(long, default_value = "docs/scale.md")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let train = load_modelnet40(&args.dataset, "train")?.shapes;
    let test = load_modelnet40(&args.dataset, "test")?;
    let threads = rayon::current_num_threads();
    let mut table = Table::new(&[
        "n",
        "training pairs measured",
        "s per training pair",
        "bytes per training pair",
        "cloud pairs measured",
        "s per cloud pair (EMD + Chamfer)",
        "bytes per cloud pair",
    ]);
    for &n in &args.sizes {
        let most = train.n_points.min(test.shapes.n_points);
        if n == 0 || n > most {
            anyhow::bail!(
                "size {n}: the clouds of {} have {most} points; choose sizes from 1 to {most}",
                args.dataset.display()
            );
        }
        // Sized from times measured here so that each job and size takes about 10 s on 2 cores.
        let shrink = |power: f64| args.scale * (128.0 / n as f64).powf(power);
        let pairs = ((12_000.0 * shrink(1.5)) as usize).max(8);
        let (pair_s, pair_bytes) = time_pairs(&train, n, pairs)?;
        let clouds = ((70.0 * shrink(0.95)) as usize)
            .max(4)
            .min(test.shapes.n_items / 2);
        let (cloud_pairs, dist_s, dist_bytes) = time_distances(&test.shapes, n, clouds)?;
        eprintln!(
            "n = {n}: {pairs} training pairs {pair_s:.4} s each; {cloud_pairs} cloud pairs {dist_s:.4} s each"
        );
        table.push(vec![
            n.to_string(),
            pairs.to_string(),
            seconds(pair_s),
            format!("{pair_bytes:.0}"),
            cloud_pairs.to_string(),
            seconds(dist_s),
            format!("{dist_bytes:.1}"),
        ]);
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let body = format!(
        "Measured by `cargo xtask scale-cost` on {cpu}, {threads} threads (wall seconds per \
         unit with every core busy; a machine with c cores does about c/{threads} times as many \
         per second).\n\n{}",
        table.to_markdown()
    );
    println!("{body}");
    update_section(&args.out, "cost-model", &body)?;
    eprintln!("wrote the cost-model section of {}", args.out.display());
    Ok(())
}

/// Wall seconds and bytes on disk per training pair at `n` points, over `pairs` pairs.
fn time_pairs(pool: &deepemd_data::hdf5::ShapeFile, n: usize, pairs: usize) -> Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let config = PairsConfig {
        source: "scale-cost".into(),
        shapes_sha256: pool.fingerprint(),
        points: n,
        pairs,
        shard_size: pairs.div_ceil(4),
        seed: 1,
        mix: PairMix::default(),
    };
    let start = Instant::now();
    prepare_pairs(
        pool,
        &config,
        dir.path(),
        &Exact::default(),
        Shard::WHOLE,
        &|_, _| {},
    )
    .with_context(|| format!("pairs at n = {n}"))?;
    let wall = start.elapsed().as_secs_f64();
    Ok((
        wall / pairs as f64,
        folder_bytes(dir.path())? / pairs as f64,
    ))
}

/// Cloud pairs, wall seconds and bytes on disk per cloud pair of the all-pairs matrix of two
/// sets of `clouds` clouds of `n` points (the first `n` points of consecutive test shapes).
fn time_distances(
    pool: &deepemd_data::hdf5::ShapeFile,
    n: usize,
    clouds: usize,
) -> Result<(usize, f64, f64)> {
    let cloud = |k: usize| -> Result<PointCloud> {
        let s = pool.n_points * pool.dim;
        let flat = &pool.data[k * s..k * s + n * pool.dim];
        Ok(PointCloud::from_flat_f32(pool.dim, flat)?)
    };
    let reference = (0..clouds).map(cloud).collect::<Result<Vec<_>>>()?;
    let generated = (clouds..2 * clouds)
        .map(cloud)
        .collect::<Result<Vec<_>>>()?;
    let config = DistanceSetConfig::new(&reference, &generated, ("reference", "generated"), 256)?;
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    compute_distance_set(
        &reference,
        &generated,
        &config,
        dir.path(),
        Shard::WHOLE,
        &|_, _| {},
        &std::sync::atomic::AtomicBool::new(false),
    )?;
    let wall = start.elapsed().as_secs_f64();
    let jobs = config.jobs();
    Ok((
        jobs,
        wall / jobs as f64,
        folder_bytes(dir.path())? / jobs as f64,
    ))
}

/// Total size of the files in `dir`.
fn folder_bytes(dir: &Path) -> Result<f64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    Ok(total as f64)
}

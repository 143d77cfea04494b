//! `deepemd emd-batch A B` and `deepemd emd-batch --list FILE`: many EMDs, one JSON line each,
//! the pairs solved in parallel, progress on stderr.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use deepemd_core::{EmdRequest, PointCloud};

use crate::input::{MeshOptions, read_input};
use crate::method_args::MethodArgs;
use crate::output::print_line;
use crate::progress::bar;

#[derive(Args, Debug)]
pub struct EmdBatchArgs {
    /// First batch: a `(B, n, 2|3)` `.npy` file, or an HDF5 dataset of clouds (`file.h5` for
    /// its `data` dataset, `file.h5:dataset` for another); pair k is item k of A and of B.
    #[arg(required_unless_present = "list")]
    a: Option<String>,
    /// Second batch, of the same number of clouds.
    #[arg(required_unless_present = "list")]
    b: Option<String>,
    /// Instead of A and B: a text file with one pair of clouds per line (separated by a tab, or
    /// by spaces when there is no tab; `file.h5#K` selectors work); lines starting with `#` are
    /// comments.
    #[arg(long, conflicts_with_all = ["a", "b"])]
    list: Option<PathBuf>,
    #[command(flatten)]
    method: MethodArgs,
    #[command(flatten)]
    meshes: MeshOptions,
    /// Pairs solved per parallel step (and per progress update).
    #[arg(long, default_value_t = 64)]
    chunk: usize,
}

/// One pair to solve, with the names its JSON line gives it.
struct Job {
    a_name: String,
    b_name: String,
    a: PointCloud,
    b: PointCloud,
}

pub fn run(args: &EmdBatchArgs) -> Result<()> {
    if args.chunk == 0 {
        bail!("--chunk must be at least 1");
    }
    let jobs = match (&args.list, &args.a, &args.b) {
        (Some(list), _, _) => jobs_from_list(list, args.meshes)?,
        (None, Some(a), Some(b)) => jobs_from_batches(a, b)?,
        _ => bail!("give two batch files A B, or --list FILE"),
    };
    let estimator = args.method.estimator()?;
    let request = EmdRequest::new(args.method.cost);
    let progress = bar(jobs.len() as u64, "pairs");
    progress.set_message(estimator.name().to_string());
    for (start, chunk) in (0..).step_by(args.chunk).zip(jobs.chunks(args.chunk)) {
        let pairs: Vec<(PointCloud, PointCloud)> =
            chunk.iter().map(|j| (j.a.clone(), j.b.clone())).collect();
        let results = estimator.estimate_batch(&pairs, request);
        for (k, (job, emd)) in chunk.iter().zip(results).enumerate() {
            let emd = emd.with_context(|| {
                format!(
                    "pair {}: the EMD of {} and {}",
                    start + k,
                    job.a_name,
                    job.b_name
                )
            })?;
            let mut obj = serde_json::json!({
                "pair": start + k,
                "a": job.a_name,
                "b": job.b_name,
                "method": estimator.name(),
                "cost": args.method.cost.name(),
                "distance": emd.distance,
                "n_a": job.a.len(),
                "n_b": job.b.len(),
            });
            if let Some(t) = &emd.transport {
                obj["transport_cost"] = serde_json::json!(t.value);
            }
            progress.suspend(|| print_line(obj))?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(())
}

/// Pair k of two batch files: item k of each.
fn jobs_from_batches(a: &str, b: &str) -> Result<Vec<Job>> {
    let (xs, ys) = (
        deepemd_data::read_cloud_batch(a)?,
        deepemd_data::read_cloud_batch(b)?,
    );
    if xs.len() != ys.len() {
        bail!(
            "{a} holds {} clouds and {b} holds {}: pair k is item k of each, so they need as many",
            xs.len(),
            ys.len()
        );
    }
    Ok(xs
        .into_iter()
        .zip(ys)
        .enumerate()
        .map(|(k, (x, y))| Job {
            a_name: format!("{a}#{k}"),
            b_name: format!("{b}#{k}"),
            a: x,
            b: y,
        })
        .collect())
}

/// The pairs of a list file, each cloud read as `deepemd emd` reads it.
fn jobs_from_list(list: &Path, meshes: MeshOptions) -> Result<Vec<Job>> {
    let text = std::fs::read_to_string(list)
        .with_context(|| format!("{}: cannot read the list", list.display()))?;
    let mut jobs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        } else {
            line.split_whitespace().collect()
        };
        let [a, b] = fields[..] else {
            bail!(
                "{} line {}: expected two cloud files, found {}",
                list.display(),
                number + 1,
                fields.len()
            );
        };
        // Relative paths are relative to the list file.
        let resolve = |p: &str| -> String {
            let path = Path::new(p);
            match list.parent() {
                Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => {
                    dir.join(path).display().to_string()
                }
                _ => p.to_string(),
            }
        };
        let (a, b) = (resolve(a), resolve(b));
        jobs.push(Job {
            a: read_input(&a, meshes)?,
            b: read_input(&b, meshes)?,
            a_name: a,
            b_name: b,
        });
    }
    if jobs.is_empty() {
        bail!("{}: no pairs listed", list.display());
    }
    Ok(jobs)
}

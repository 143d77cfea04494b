//! `deepemd emd-batch A B` and `deepemd emd-batch --list FILE`: many EMDs, one JSON line each,
//! the pairs solved in parallel, progress on stderr.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use deepemd_core::PointCloud;

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

/// The pairs to solve, and the names their JSON lines give them.
#[derive(Default)]
struct Jobs {
    names: Vec<(String, String)>,
    pairs: Vec<(PointCloud, PointCloud)>,
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
    let request = args.method.request();
    let progress = bar(jobs.pairs.len() as u64, "pairs");
    progress.set_message(estimator.name().to_string());
    let chunks = jobs
        .pairs
        .chunks(args.chunk)
        .zip(jobs.names.chunks(args.chunk));
    for (start, (pairs, names)) in (0..).step_by(args.chunk).zip(chunks) {
        let results = estimator.estimate_batch(pairs, request);
        for (k, (((a, b), (a_name, b_name)), emd)) in
            pairs.iter().zip(names).zip(results).enumerate()
        {
            let emd = emd
                .with_context(|| format!("pair {}: the EMD of {a_name} and {b_name}", start + k))?;
            let mut obj = serde_json::json!({
                "pair": start + k,
                "a": a_name,
                "b": b_name,
                "method": estimator.name(),
                "cost": args.method.cost.name(),
                "distance": emd.distance,
                "n_a": a.len(),
                "n_b": b.len(),
            });
            if a.len() != b.len() {
                obj["unequal"] = serde_json::json!(args.method.unequal.name());
            }
            if let Some(t) = &emd.transport {
                obj["transport_cost"] = serde_json::json!(t.value);
            }
            progress.suspend(|| print_line(obj))?;
        }
        progress.inc(pairs.len() as u64);
    }
    progress.finish_and_clear();
    Ok(())
}

/// Pair k of two batch files: item k of each.
fn jobs_from_batches(a: &str, b: &str) -> Result<Jobs> {
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
    Ok(Jobs {
        names: (0..xs.len())
            .map(|k| (format!("{a}#{k}"), format!("{b}#{k}")))
            .collect(),
        pairs: xs.into_iter().zip(ys).collect(),
    })
}

/// The pairs of a list file, each cloud read as `deepemd emd` reads it.
fn jobs_from_list(list: &Path, meshes: MeshOptions) -> Result<Jobs> {
    let text = std::fs::read_to_string(list)
        .with_context(|| format!("{}: cannot read the list", list.display()))?;
    let mut jobs = Jobs::default();
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
        jobs.pairs
            .push((read_input(&a, meshes)?, read_input(&b, meshes)?));
        jobs.names.push((a, b));
    }
    if jobs.pairs.is_empty() {
        bail!("{}: no pairs listed", list.display());
    }
    Ok(jobs)
}

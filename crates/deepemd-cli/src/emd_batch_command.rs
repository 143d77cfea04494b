//! `deepemd emd-batch A B` and `deepemd emd-batch --list FILE`: many EMDs, one JSON line each,
//! the pairs solved in parallel, progress on stderr.
//!
//! Every input is read, and every pair checked by the method (dimensions, the convention for
//! unequal sizes, size limits), before any pair is solved: a bad pair anywhere in the list stops
//! the run before it costs any work. A solve that fails later (rare: the checks cover what can
//! be known without solving) stops the run with an error naming the pair; the lines printed for
//! the pairs before it stand, the pairs after it are not solved.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use deepemd_core::PointCloud;
use deepemd_methods::EmdRecord;

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
    /// comments. A file named on several lines is read once.
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
        (None, Some(a), Some(b)) => {
            if args.meshes.sample.is_some() {
                bail!(
                    "--sample samples the meshes of a --list; {a} and {b} are batches of clouds, \
                     read as they are"
                );
            }
            jobs_from_batches(a, b)?
        }
        _ => bail!("give two batch files A B, or --list FILE"),
    };
    let spec = args.method.spec()?;
    let estimator = args.method.estimator()?;
    let request = args.method.request();
    check_every_pair(&jobs, estimator.as_ref(), request)?;
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
            let record = EmdRecord::new(spec, request, (a.len(), b.len()), &emd).in_batch(
                start + k,
                a_name,
                b_name,
            );
            progress.suspend(|| print_line(record.to_json()))?;
        }
        progress.inc(pairs.len() as u64);
    }
    progress.finish_and_clear();
    Ok(())
}

/// Every pair as the method checks it before solving; the error names up to five bad pairs
/// and how many there are.
fn check_every_pair(
    jobs: &Jobs,
    estimator: &dyn deepemd_core::EmdEstimator,
    request: deepemd_core::EmdRequest,
) -> Result<()> {
    let bad: Vec<String> = jobs
        .pairs
        .iter()
        .zip(&jobs.names)
        .enumerate()
        .filter_map(|(k, ((a, b), (a_name, b_name)))| {
            let e = estimator.check_pair(a, b, request).err()?;
            Some(format!("pair {k} ({a_name}, {b_name}): {e}"))
        })
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let more = match bad.len() {
        0..=5 => String::new(),
        n => format!("; and {} more", n - 5),
    };
    bail!(
        "{} of the {} pairs cannot be solved by {}, so none was: {}{more}",
        bad.len(),
        jobs.pairs.len(),
        estimator.name(),
        bad[..bad.len().min(5)].join("; ")
    )
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
    let mut jobs = Jobs::default();
    // Each file is read (and warned about) once, however many lines name it.
    let mut read: HashMap<String, PointCloud> = HashMap::new();
    let mut cloud = |spec: &str| -> Result<PointCloud> {
        if let Some(c) = read.get(spec) {
            return Ok(c.clone());
        }
        let c = read_input(spec, meshes)?;
        read.insert(spec.to_string(), c.clone());
        Ok(c)
    };
    for (line, a, b) in deepemd_data::read_pair_list(list)? {
        let at = || format!("{} line {line}", list.display());
        let pair = (cloud(&a).with_context(at)?, cloud(&b).with_context(at)?);
        jobs.pairs.push(pair);
        jobs.names.push((a, b));
    }
    Ok(jobs)
}

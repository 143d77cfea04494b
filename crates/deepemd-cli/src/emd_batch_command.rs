//! `deepemd emd-batch A B` and `deepemd emd-batch --list FILE`: many EMDs, one JSON line each,
//! the pairs solved in parallel, progress on stderr.
//!
//! Every input is read, and every pair checked by the method (dimensions, the convention for
//! unequal sizes, size limits), before any pair is solved: the bad pairs are reported on stderr
//! at once, then the good ones are solved. Every pair gets its line, in order: a bad pair's
//! line carries an `"error"` instead of a distance, and the command exits with status 1 after
//! the last pair, naming the first failures. `--fail-fast` stops before solving anything when a
//! pair is bad (a list worth fixing first).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use deepemd_core::{Emd, EmdEstimator, EmdRequest, Method, PointCloud};
use deepemd_methods::{EmdRecord, MethodSpec};
use rayon::prelude::*;

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
    /// by spaces when there is no tab; `file.h5#K` and `file.npy#K` selectors work); lines
    /// starting with `#` are comments. A file named on several lines is read once. A file that
    /// cannot be read fails its pairs only (their lines carry an `"error"`).
    #[arg(long, conflicts_with_all = ["a", "b"])]
    list: Option<PathBuf>,
    #[command(flatten)]
    method: MethodArgs,
    #[command(flatten)]
    meshes: MeshOptions,
    /// Pairs solved per parallel step (and per progress update).
    #[arg(long, default_value_t = 64)]
    chunk: usize,
    /// Solve nothing if any pair cannot be solved (an unreadable file, a pair the method
    /// refuses): the error lists them. Without it the good pairs are solved and the bad ones
    /// get error lines.
    #[arg(long)]
    fail_fast: bool,
}

/// The pairs to solve (or why one cannot be), and the names their JSON lines give them.
#[derive(Default)]
struct Jobs {
    names: Vec<(String, String)>,
    pairs: Vec<Result<(PointCloud, PointCloud), String>>,
}

pub fn run(args: &EmdBatchArgs) -> Result<()> {
    if args.chunk == 0 {
        bail!("--chunk must be at least 1");
    }
    let mut jobs = match (&args.list, &args.a, &args.b) {
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
    check_every_pair(&mut jobs, estimator.as_ref(), request, args.fail_fast)?;
    let progress = bar(jobs.pairs.len() as u64, "pairs");
    progress.set_message(estimator.name().to_string());
    let mut failed: Vec<String> = Vec::new();
    let chunks = jobs
        .pairs
        .chunks(args.chunk)
        .zip(jobs.names.chunks(args.chunk));
    for (start, (pairs, names)) in (0..).step_by(args.chunk).zip(chunks) {
        let good: Vec<(PointCloud, PointCloud)> = pairs
            .iter()
            .filter_map(|p| p.as_ref().ok().cloned())
            .collect();
        let mut solved = solve_timed(spec, estimator.as_ref(), &good, request).into_iter();
        for (k, (pair, (a_name, b_name))) in pairs.iter().zip(names).enumerate() {
            let k = start + k;
            let outcome = match pair {
                Ok((a, b)) => {
                    let (emd, seconds) = solved.next().expect("one result per good pair");
                    emd.map(|emd| {
                        EmdRecord::new(spec, request, (a.len(), b.len()), &emd)
                            .in_batch(k, a_name, b_name)
                            .with_seconds(seconds)
                            .to_json()
                    })
                    .map_err(|e| e.to_string())
                }
                Err(why) => Err(why.clone()),
            };
            let line = outcome.unwrap_or_else(|why| {
                failed.push(format!("pair {k} ({a_name}, {b_name}): {why}"));
                error_line(k, a_name, b_name, spec, &why)
            });
            progress.suspend(|| print_line(line))?;
        }
        progress.inc(pairs.len() as u64);
    }
    progress.finish_and_clear();
    if !failed.is_empty() {
        bail!(
            "{} of the {} pairs failed (their lines carry an \"error\"): {}",
            failed.len(),
            jobs.pairs.len(),
            first_five(&failed)
        );
    }
    Ok(())
}

/// The pairs solved, each with its wall time. The solvers take one pair at a time, in
/// parallel, timed alone; the model runs consecutive pairs of one size through the network
/// together, so each pair is given its share of the step's time.
fn solve_timed(
    spec: MethodSpec,
    estimator: &dyn EmdEstimator,
    pairs: &[(PointCloud, PointCloud)],
    request: EmdRequest,
) -> Vec<(deepemd_core::Result<Emd>, f64)> {
    if spec.method() == Method::Model {
        let clock = Instant::now();
        let solved = estimator.estimate_batch(pairs, request);
        let share = clock.elapsed().as_secs_f64() / pairs.len().max(1) as f64;
        return solved.into_iter().map(|e| (e, share)).collect();
    }
    pairs
        .par_iter()
        .map(|(a, b)| {
            let clock = Instant::now();
            let emd = estimator.estimate(a, b, request);
            (emd, clock.elapsed().as_secs_f64())
        })
        .collect()
}

/// The line of a pair that could not be solved.
fn error_line(k: usize, a: &str, b: &str, spec: MethodSpec, why: &str) -> String {
    serde_json::json!({"pair": k, "a": a, "b": b, "method": spec.to_string(), "error": why})
        .to_string()
}

fn first_five(items: &[String]) -> String {
    let more = match items.len() {
        0..=5 => String::new(),
        n => format!("; and {} more", n - 5),
    };
    format!("{}{more}", items[..items.len().min(5)].join("; "))
}

/// Every readable pair as the method checks it before solving; a refused pair becomes an error
/// in its place. The bad pairs are named on stderr before any pair is solved (or, with
/// `fail_fast`, are the error).
fn check_every_pair(
    jobs: &mut Jobs,
    estimator: &dyn EmdEstimator,
    request: EmdRequest,
    fail_fast: bool,
) -> Result<()> {
    let mut bad = Vec::new();
    for (k, (pair, (a_name, b_name))) in jobs.pairs.iter_mut().zip(&jobs.names).enumerate() {
        if let Ok((a, b)) = pair
            && let Err(e) = estimator.check_pair(a, b, request)
        {
            *pair = Err(e.to_string());
        }
        if let Err(why) = pair {
            bad.push(format!("pair {k} ({a_name}, {b_name}): {why}"));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    let (count, total) = (bad.len(), jobs.pairs.len());
    if fail_fast {
        bail!(
            "{count} of the {total} pairs cannot be solved by {}, so none was (--fail-fast): {}",
            estimator.name(),
            first_five(&bad)
        );
    }
    eprintln!(
        "warning: {count} of the {total} pairs cannot be solved by {}; their lines will carry \
         an \"error\", the others are solved: {}",
        estimator.name(),
        first_five(&bad)
    );
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
        pairs: xs.into_iter().zip(ys).map(Ok).collect(),
    })
}

/// The pairs of a list file, each cloud read as `deepemd emd` reads it; a cloud that cannot
/// be read fails the pairs that name it.
fn jobs_from_list(list: &Path, meshes: MeshOptions) -> Result<Jobs> {
    let mut jobs = Jobs::default();
    // Each file is read (and warned about, or failed) once, however many lines name it.
    let mut read: HashMap<String, Result<PointCloud, String>> = HashMap::new();
    let mut cloud = |spec: &str| -> Result<PointCloud, String> {
        read.entry(spec.to_string())
            .or_insert_with(|| read_input(spec, meshes).map_err(|e| format!("{e:#}")))
            .clone()
    };
    for (line, a, b) in deepemd_data::read_pair_list(list)? {
        let at = |e: String| format!("{} line {line}: {e}", list.display());
        let pair = cloud(&a).and_then(|x| Ok((x, cloud(&b)?))).map_err(at);
        jobs.pairs.push(pair);
        jobs.names.push((a, b));
    }
    Ok(jobs)
}

//! `deepemd emd A B`: one distance, as a human line or one JSON object.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use deepemd_core::Method;
use deepemd_methods::{EmdRecord, matching_value};

use crate::input::{MeshOptions, read_input};
use crate::method_args::MethodArgs;
use crate::output::print_line;

#[derive(Args, Debug)]
pub struct EmdArgs {
    /// First cloud: a file (.xyz/.txt/.csv rows of more than three numbers are read as their
    /// first three columns), `file.npy#K` for cloud K of a (B, n, d) batch, or `file.h5#K` for
    /// item K of an HDF5 dataset.
    a: String,
    /// Second cloud.
    b: String,
    #[command(flatten)]
    method: MethodArgs,
    #[command(flatten)]
    meshes: MeshOptions,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Include the matching: for equal sizes the target in B of every point of A; for
    /// unequal sizes the list of matched pairs [i, j] (`--unequal uniform`: the transport
    /// plan as [i, j, mass] entries, masses summing to 1).
    #[arg(long)]
    matching: bool,
}

pub fn run(args: &EmdArgs) -> Result<()> {
    let a = read_input(&args.a, args.meshes)?;
    let b = read_input(&args.b, args.meshes)?;
    if a.dim() != b.dim() {
        bail!(
            "{} holds {}-D points and {} holds {}-D points",
            args.a,
            a.dim(),
            args.b,
            b.dim()
        );
    }
    let spec = args.method.spec()?;
    let estimator = args.method.estimator()?;
    let cost = args.method.cost;
    let unequal = (a.len() != b.len()).then_some(args.method.unequal);
    let start = Instant::now();
    let long = expect_long_solve(spec.method(), a.len(), b.len());
    if long {
        eprintln!(
            "{}: {} points against {}{}; a pair this large takes a while ...",
            estimator.name(),
            a.len(),
            b.len(),
            unequal.map_or(String::new(), |u| format!(" ({u} convention)"))
        );
    }
    let emd = estimator
        .estimate(&a, &b, args.method.request())
        .with_context(|| format!("the EMD of {} and {}", args.a, args.b))?;
    if long {
        eprintln!(
            "{}: done in {:.1} s",
            estimator.name(),
            start.elapsed().as_secs_f64()
        );
    }
    if !emd.distance.is_finite() {
        // Every estimator already refuses to return one; a last guard, since a JSON `null` or
        // "EMD = inf" with exit code 0 is the one output a script cannot catch.
        bail!(
            "the EMD of {} and {} came out as {} ({})",
            args.a,
            args.b,
            emd.distance,
            estimator.name()
        );
    }
    let seconds = start.elapsed().as_secs_f64();
    if args.json {
        let mut record = EmdRecord::new(spec, args.method.request(), (a.len(), b.len()), &emd)
            .with_seconds(seconds);
        if args.matching {
            record = record.with_matching(&emd);
        }
        print_line(record.to_json())?;
    } else {
        print_line(format_args!(
            "EMD = {:.10} ({}, {} cost{}) between {} ({} points) and {} ({} points), {:.3} s",
            emd.distance,
            estimator.name(),
            cost,
            unequal.map_or(String::new(), |u| format!(
                ", {u} convention for unequal sizes"
            )),
            args.a,
            a.len(),
            args.b,
            b.len(),
            seconds
        ))?;
        if let Some(t) = &emd.transport {
            print_line(format_args!(
                "transport cost ⟨P, C⟩ of the entropic plan = {:.10} (the EMD above is the cost \
                 of its rounding to a matching or plan)",
                t.value
            ))?;
        }
        if args.matching {
            print_line(format_args!(
                "matching: {}",
                matching_value(&emd.pairing, a.len() != b.len())
            ))?;
        }
    }
    Ok(())
}

/// Whether a solve may run long enough that silence would look like a hang (a few seconds or
/// more on this kind of machine): exact at 16 384 points in all, the O(n³) or O(n·m) methods
/// at 2048².
fn expect_long_solve(method: Method, n: usize, m: usize) -> bool {
    match method {
        Method::Exact => n + m >= 16_384,
        Method::Hungarian | Method::Sinkhorn => n * m >= 2048 * 2048,
        Method::Model => n * m >= 8192 * 8192,
    }
}

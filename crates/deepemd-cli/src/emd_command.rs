//! `deepemd emd A B`: one distance, as a human line or one JSON object.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Pairing};
use deepemd_data::read_cloud_spec;

#[derive(Args, Debug)]
pub struct EmdArgs {
    /// First cloud: a file, or `file.h5#K` for item K of an HDF5 dataset.
    a: String,
    /// Second cloud.
    b: String,
    /// Method: `exact` is the fastest exact solver; `hungarian` the reference (scipy's
    /// algorithm); `sinkhorn` the entropic approximation.
    #[arg(long, value_enum, default_value_t = Method::Exact)]
    method: Method,
    /// Ground cost: `euclidean` (mean distance, the default) or `sqeuclidean`.
    #[arg(long, value_enum, default_value_t = CostArg::Euclidean)]
    cost: CostArg,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Include the matching: for equal sizes the target in B of every point of A; for
    /// unequal sizes the list of matched pairs [i, j].
    #[arg(long)]
    matching: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Method {
    Exact,
    Hungarian,
    Sinkhorn,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Hungarian => "hungarian",
            Method::Sinkhorn => "sinkhorn",
        }
    }

    fn estimator(self) -> Result<Box<dyn EmdEstimator>> {
        deepemd_solvers::by_name(self.name())
            .with_context(|| format!("no estimator named {}", self.name()))
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CostArg {
    Euclidean,
    Sqeuclidean,
}

impl From<CostArg> for Cost {
    fn from(c: CostArg) -> Self {
        match c {
            CostArg::Euclidean => Cost::Euclidean,
            CostArg::Sqeuclidean => Cost::SqEuclidean,
        }
    }
}

pub fn run(args: &EmdArgs) -> Result<()> {
    let a = read_cloud_spec(&args.a)?;
    let b = read_cloud_spec(&args.b)?;
    if a.dim() != b.dim() {
        bail!(
            "{} holds {}-D points and {} holds {}-D points",
            args.a,
            a.dim(),
            args.b,
            b.dim()
        );
    }
    let estimator = args.method.estimator()?;
    let cost = Cost::from(args.cost);
    let start = Instant::now();
    let emd = estimator.estimate(&a, &b, EmdRequest::new(cost))?;
    let seconds = start.elapsed().as_secs_f64();
    if args.json {
        let mut obj = serde_json::json!({
            "method": estimator.name(),
            "cost": cost.name(),
            "distance": emd.distance,
            "n_a": a.len(),
            "n_b": b.len(),
            "seconds": seconds,
        });
        if args.matching {
            obj["matching"] = matching_json(&emd.pairing);
        }
        println!("{obj}");
    } else {
        println!(
            "EMD = {:.10} ({}, {} cost) between {} ({} points) and {} ({} points), {:.3} s",
            emd.distance,
            estimator.name(),
            cost,
            args.a,
            a.len(),
            args.b,
            b.len(),
            seconds
        );
        if args.matching {
            println!("matching: {}", matching_json(&emd.pairing));
        }
    }
    Ok(())
}

fn matching_json(pairing: &Pairing) -> serde_json::Value {
    match pairing {
        Pairing::Bijection(m) => serde_json::json!(m.targets()),
        Pairing::Map(m) => serde_json::json!(m.targets()),
        Pairing::Partial(p) => serde_json::json!(p.pairs()),
    }
}

//! `deepemd emd A B`: one distance, as a human line or one JSON object.

use std::time::Instant;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Pairing};
use deepemd_data::read_cloud_spec;
use deepemd_model::{DeepEmd, DeepEmdModel, Rounding, default_model, device_from_name};

#[derive(Args, Debug)]
pub struct EmdArgs {
    /// First cloud: a file, or `file.h5#K` for item K of an HDF5 dataset.
    a: String,
    /// Second cloud.
    b: String,
    /// Method: `exact` is the certified fast exact solver; `hungarian` the reference (scipy's
    /// algorithm); `sinkhorn` the entropic approximation; `model` the DeepEMD network.
    #[arg(long, value_enum, default_value_t = Method::Exact)]
    method: Method,
    /// With `--method model`: a model folder (config.json, model.safetensors) instead of the
    /// default model built into this binary.
    #[arg(long)]
    model: Option<PathBuf>,
    /// With `--method model`: how the network's scores become a matching. `argmax` is the
    /// paper's row argmax (not a bijection; can fall below the EMD); `greedy` and `sinkhorn`
    /// round to a bijection (never below the EMD); `refined` adds 2-opt on the true costs.
    #[arg(long, value_enum, default_value_t = RoundingArg::Argmax)]
    rounding: RoundingArg,
    /// With `--method model`: `cpu` or `cuda` (a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Method {
    Exact,
    Hungarian,
    Sinkhorn,
    Model,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoundingArg {
    Argmax,
    Greedy,
    Sinkhorn,
    Refined,
}

impl From<RoundingArg> for Rounding {
    fn from(r: RoundingArg) -> Self {
        match r {
            RoundingArg::Argmax => Rounding::RowArgmax,
            RoundingArg::Greedy => Rounding::Greedy,
            RoundingArg::Sinkhorn => Rounding::SinkhornGreedy { iterations: 10 },
            RoundingArg::Refined => Rounding::REFINED,
        }
    }
}

impl EmdArgs {
    fn estimator(&self) -> Result<Box<dyn EmdEstimator>> {
        let name = match self.method {
            Method::Exact => "exact",
            Method::Hungarian => "hungarian",
            Method::Sinkhorn => "sinkhorn",
            Method::Model => {
                let device = device_from_name(&self.device)?;
                let model = match &self.model {
                    Some(dir) => DeepEmdModel::load(dir, &device)?,
                    None => default_model(&device).context("loading the built-in default model")?,
                };
                return Ok(Box::new(
                    DeepEmd::new(model, device).with_rounding(self.rounding.into()),
                ));
            }
        };
        deepemd_solvers::by_name(name).with_context(|| format!("no estimator named {name}"))
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
    if args.method != Method::Model && args.model.is_some() {
        bail!("--model needs --method model");
    }
    let estimator = args.estimator()?;
    let cost = Cost::from(args.cost);
    let start = Instant::now();
    let emd = estimator
        .estimate(&a, &b, EmdRequest::new(cost))
        .with_context(|| format!("the EMD of {} and {}", args.a, args.b))?;
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
        let mut obj = serde_json::json!({
            "method": estimator.name(),
            "cost": cost.name(),
            "distance": emd.distance,
            "n_a": a.len(),
            "n_b": b.len(),
            "seconds": seconds,
        });
        if args.method == Method::Model {
            obj["rounding"] = serde_json::json!(Rounding::from(args.rounding).name());
            if let Pairing::Map(m) = &emd.pairing {
                obj["targets_hit_more_than_once"] =
                    serde_json::json!(m.targets_hit_more_than_once());
            }
        }
        if let Some(t) = &emd.transport {
            // Sinkhorn: `distance` is its rounded matching's cost, this its plan's ⟨P, C⟩.
            obj["transport_cost"] = serde_json::json!(t.value);
        }
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
        if let Some(t) = &emd.transport {
            println!(
                "transport cost ⟨P, C⟩ of the entropic plan = {:.10} (the EMD above is the cost \
                 of its rounding to a matching)",
                t.value
            );
        }
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

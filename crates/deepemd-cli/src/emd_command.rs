//! `deepemd emd A B`: one distance, as a human line or one JSON object.

use std::time::Instant;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Method, Pairing};
use deepemd_methods::{MethodSpec, ModelSource};

use crate::input::{MeshOptions, read_input};
use crate::output::print_line;
use deepemd_model::{Rounding, device_from_name};

#[derive(Args, Debug)]
pub struct EmdArgs {
    /// First cloud: a file, or `file.h5#K` for item K of an HDF5 dataset.
    a: String,
    /// Second cloud.
    b: String,
    /// Method: `exact` is the certified fast exact solver; `hungarian` the reference (scipy's
    /// algorithm); `sinkhorn` the entropic approximation; `model` the DeepEMD network.
    #[arg(long, default_value = "exact", value_parser = parse_method)]
    method: Method,
    /// With `--method model`: a model folder (config.json, model.safetensors) instead of the
    /// default model built into this binary.
    #[arg(long)]
    model: Option<PathBuf>,
    /// With `--method model`: how the network's scores become a matching. `argmax` (the
    /// default) is the paper's row argmax (not a bijection; can fall below the EMD); `greedy`
    /// and `sinkhorn-greedy` round to a bijection (never below the EMD); `refined` adds 2-opt
    /// on the true costs.
    #[arg(long, value_parser = parse_rounding)]
    rounding: Option<Rounding>,
    /// With `--method model`: `cpu` or `cuda` (a build with `--features cuda`).
    #[arg(long)]
    device: Option<String>,
    /// Ground cost: `euclidean` (mean distance, the default) or `sqeuclidean`.
    #[arg(long, default_value = "euclidean", value_parser = parse_cost)]
    cost: Cost,
    /// Sample N points uniformly (by area) on the surface of each `.off` / `.ply` mesh input.
    /// Without it a mesh is read as its bare vertices (with a warning): meshes' vertices are
    /// usually many and unevenly spread, a poor sample of the shape.
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// Seed of `--sample`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Include the matching: for equal sizes the target in B of every point of A; for
    /// unequal sizes the list of matched pairs [i, j].
    #[arg(long)]
    matching: bool,
}

fn parse_method(s: &str) -> Result<Method, String> {
    s.parse().map_err(|e: deepemd_core::Error| e.to_string())
}

fn parse_rounding(s: &str) -> Result<Rounding, String> {
    s.parse().map_err(|e: deepemd_core::Error| e.to_string())
}

impl EmdArgs {
    /// The method, its rounding and the model's source; options that do not apply to the
    /// method are errors, not silently ignored.
    fn estimator(&self) -> Result<Box<dyn EmdEstimator>> {
        let spec = MethodSpec::with_rounding(self.method, self.rounding)?;
        if self.method != Method::Model {
            for (given, option) in [
                (self.model.is_some(), "--model"),
                (self.device.is_some(), "--device"),
            ] {
                if given {
                    bail!(
                        "{option} applies only to --method model, not to {}",
                        self.method
                    );
                }
            }
        }
        let device = device_from_name(self.device.as_deref().unwrap_or("cpu"))?;
        let source = ModelSource::new(self.model.clone(), device);
        spec.estimator(&source).context("loading the model")
    }
}

fn parse_cost(s: &str) -> Result<Cost, String> {
    s.parse().map_err(|e: deepemd_core::Error| e.to_string())
}

pub fn run(args: &EmdArgs) -> Result<()> {
    let meshes = MeshOptions {
        sample: args.sample,
        seed: args.seed,
    };
    let a = read_input(&args.a, meshes)?;
    let b = read_input(&args.b, meshes)?;
    if a.dim() != b.dim() {
        bail!(
            "{} holds {}-D points and {} holds {}-D points",
            args.a,
            a.dim(),
            args.b,
            b.dim()
        );
    }
    let estimator = args.estimator()?;
    let cost = args.cost;
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
            let rounding = args.rounding.unwrap_or(Rounding::RowArgmax);
            obj["rounding"] = serde_json::json!(rounding.to_string());
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
        print_line(obj)?;
    } else {
        print_line(format_args!(
            "EMD = {:.10} ({}, {} cost) between {} ({} points) and {} ({} points), {:.3} s",
            emd.distance,
            estimator.name(),
            cost,
            args.a,
            a.len(),
            args.b,
            b.len(),
            seconds
        ))?;
        if let Some(t) = &emd.transport {
            print_line(format_args!(
                "transport cost ⟨P, C⟩ of the entropic plan = {:.10} (the EMD above is the cost \
                 of its rounding to a matching)",
                t.value
            ))?;
        }
        if args.matching {
            print_line(format_args!("matching: {}", matching_json(&emd.pairing)))?;
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

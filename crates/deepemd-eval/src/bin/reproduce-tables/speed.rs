//! The speed table: per-pair time and peak memory of each method, each measured in a fresh
//! child process (`reproduce-tables measure ...`), and the model's batched throughput.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Method, PointCloud};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::speed::{Measurement, measure_in_child, peak_rss_mib};
use deepemd_eval::timing::median_seconds;
use deepemd_methods::{MethodSpec, ModelSource};
use deepemd_model::{DeepEmd, MAX_BATCH, Rounding, device_from_name};

use crate::{RunArgs, bar};

/// The methods of the speed table, in column order.
pub fn speed_methods() -> Vec<MethodSpec> {
    vec![
        MethodSpec::new(Method::Hungarian),
        MethodSpec::new(Method::Exact),
        MethodSpec::new(Method::Sinkhorn),
        MethodSpec::model(Rounding::RowArgmax),
        MethodSpec::model(Rounding::SinkhornGreedy { iterations: 10 }),
        MethodSpec::model(Rounding::REFINED),
    ]
}

/// The child mode: one method, one size, printed as one JSON line.
#[derive(Args, Debug, Clone)]
pub struct MeasureArgs {
    #[arg(long)]
    pub method: MethodSpec,
    #[arg(long)]
    pub n: usize,
    #[arg(long)]
    pub seed: u64,
    #[arg(long)]
    pub repeats: usize,
    #[arg(long)]
    pub meshes: Option<PathBuf>,
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl MeasureArgs {
    /// The command line that parses back into `self`.
    fn to_args(&self) -> Vec<String> {
        let mut out = vec![
            "--method".to_string(),
            self.method.to_string(),
            "--n".into(),
            self.n.to_string(),
            "--seed".into(),
            self.seed.to_string(),
            "--repeats".into(),
            self.repeats.to_string(),
            "--device".into(),
            self.device.clone(),
        ];
        for (flag, path) in [("--meshes", &self.meshes), ("--model", &self.model)] {
            if let Some(p) = path {
                out.extend([flag.to_string(), p.display().to_string()]);
            }
        }
        out
    }
}

/// The cloud set of the speed table (real shapes when the meshes are there) and its pair.
pub fn speed_pair(
    meshes: &Option<PathBuf>,
    n: usize,
    seed: u64,
) -> Result<(CloudSet, PointCloud, PointCloud)> {
    let set = CloudSet::all(meshes.as_deref())
        .pop()
        .expect("at least the synthetic sets");
    let (a, b) = set.pair(n, seed)?;
    Ok((set, a, b))
}

/// Runs in the child: times one method at one size.
pub fn measure(args: MeasureArgs) -> Result<()> {
    let device = device_from_name(&args.device)?;
    let (_, a, b) = speed_pair(&args.meshes, args.n, args.seed)?;
    let request = EmdRequest::new(Cost::Euclidean);
    let estimator = args
        .method
        .estimator(&ModelSource::new(args.model.clone(), device))?;
    let (secs, result) = median_seconds(args.repeats, || estimator.estimate(&a, &b, request));
    result?;
    let m = Measurement {
        seconds: secs,
        peak_mib: peak_rss_mib(),
    };
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}

/// One size's measurements, each with its method.
pub struct SpeedRow {
    pub n: usize,
    pub results: Vec<(MethodSpec, Option<Measurement>)>,
}

impl SpeedRow {
    /// The measurement of `method`, if it was run at this size.
    pub fn of(&self, method: MethodSpec) -> Option<Measurement> {
        self.results
            .iter()
            .find(|(m, _)| *m == method)
            .and_then(|(_, x)| *x)
    }
}

/// Measures every method at every size, each in its own child process.
pub fn speed(args: &RunArgs, sizes: &[usize], sinkhorn_max: usize) -> Result<Vec<SpeedRow>> {
    let exe = std::env::current_exe()?;
    let methods = speed_methods();
    let mut rows = Vec::new();
    let b = bar(sizes.len() * methods.len(), "speed table");
    for &n in sizes {
        let mut results = Vec::new();
        for &method in &methods {
            b.set_message(format!("speed: {method} n = {n}"));
            if method.method() == Method::Sinkhorn && n > sinkhorn_max {
                results.push((method, None));
                b.inc(1);
                continue;
            }
            let child = MeasureArgs {
                method,
                n,
                seed: args.seed,
                repeats: if n <= 1024 { 3 } else { 1 },
                meshes: args.meshes.clone(),
                model: args.model.clone(),
                device: args.device.clone(),
            };
            results.push((method, Some(measure_in_child(&exe, &child.to_args())?)));
            b.inc(1);
        }
        rows.push(SpeedRow { n, results });
    }
    b.finish_and_clear();
    Ok(rows)
}

/// Pairs per second of the model's forward pass and row argmax, one full batch of
/// [`MAX_BATCH`] pairs.
pub fn batched_throughput(model: &DeepEmd, args: &RunArgs, n: usize) -> Result<f64> {
    let pairs: Vec<(PointCloud, PointCloud)> = (0..MAX_BATCH as u64)
        .map(|k| speed_pair(&args.meshes, n, args.seed + k).map(|(_, a, b)| (a, b)))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    for r in model.estimate_batch(&pairs, EmdRequest::new(Cost::Euclidean)) {
        r?;
    }
    Ok(pairs.len() as f64 / start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: MeasureArgs,
    }

    #[test]
    fn every_speed_method_has_an_estimator_and_its_child_command_parses_back() {
        for method in speed_methods() {
            let est = method.estimator(&ModelSource::Default).unwrap();
            assert_eq!(est.name(), method.to_string());
            let args = MeasureArgs {
                method,
                n: 256,
                seed: 3,
                repeats: 1,
                meshes: Some("m".into()),
                model: None,
                device: "cpu".into(),
            };
            let line = std::iter::once("x".to_string()).chain(args.to_args());
            let back = Wrapper::parse_from(line).args;
            assert_eq!(back.method, method);
            assert_eq!((back.n, back.seed, back.meshes), (256, 3, Some("m".into())));
        }
    }
}

//! `cargo xtask compare-models NAME=DIR ...`: several models on the same held-out pairs, one
//! markdown row per model and pair set, for ablations (same data, same budget, one change):
//! the row-argmax estimate's bias and |error|, τ, the smallest within-kind ρ, row accuracy, the
//! share of targets hit twice, the gradient cosine to the exact gradient, and seconds per pair.
//! The exact values come from the certified `exact` solver (partial matchings for n ≠ m).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use clap::Parser;
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{LabeledPair, PairMix, generate_labeled_pairs};
use deepemd_eval::methods::model_estimates;
use deepemd_eval::report::Table;
use deepemd_eval::stats::method_stats;
use deepemd_model::{DeepEmd, DeepEmdModel, Rounding, default_model};
use deepemd_solvers::Exact;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// Models as `NAME=DIR` (a model folder) or `NAME=default` (the built-in model).
    #[arg(required = true)]
    models: Vec<String>,
    /// Dataset (ModelNet40 layout) whose `test` (held-out meshes) and `heldout` (held-out
    /// categories) splits give the pairs.
    #[arg(long, default_value = "datasets/generated/cgal")]
    dataset: PathBuf,
    /// Pair sets as `SPLIT:N_AxN_B:PAIRS`.
    #[arg(
        long,
        value_delimiter = ',',
        default_values_t = [
            "test:128x128:96".to_string(),
            "heldout:128x128:96".to_string(),
            "test:1024x1024:16".to_string(),
            "test:2048x2048:8".to_string(),
            "test:128x512:48".to_string(),
            "test:512x128:48".to_string(),
        ]
    )]
    sets: Vec<String>,
    /// Seed of the pairs.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Write the table here too (markdown).
    #[arg(long)]
    out: Option<PathBuf>,
}

struct PairSet {
    split: String,
    sizes: (usize, usize),
    count: usize,
}

fn parse_set(s: &str) -> Result<PairSet> {
    let bad = || format!("pair set '{s}' is not SPLIT:N_AxN_B:PAIRS (e.g. test:128x512:48)");
    let [split, sizes, count] = s.split(':').collect::<Vec<_>>()[..] else {
        bail!(bad());
    };
    let (a, b) = sizes.split_once('x').with_context(bad)?;
    let set = PairSet {
        split: split.into(),
        sizes: (a.parse().with_context(bad)?, b.parse().with_context(bad)?),
        count: count.parse().with_context(bad)?,
    };
    if set.count == 0 || set.sizes.0 == 0 || set.sizes.1 == 0 {
        bail!("pair set '{s}': sizes and the pair count must be positive");
    }
    Ok(set)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = Device::Cpu;
    let models = args
        .models
        .iter()
        .map(|spec| {
            let (name, dir) = spec
                .split_once('=')
                .with_context(|| format!("model '{spec}' is not NAME=DIR"))?;
            let model = match dir {
                "default" => default_model(&device)?,
                dir => DeepEmdModel::load(dir.as_ref(), &device)
                    .with_context(|| format!("loading {dir}"))?,
            };
            Ok((name.to_string(), DeepEmd::new(model, device.clone())))
        })
        .collect::<Result<Vec<_>>>()?;
    let sets = args
        .sets
        .iter()
        .map(|s| parse_set(s))
        .collect::<Result<Vec<_>>>()?;
    let mut table = Table::new(&[
        "pairs",
        "model",
        "mean rel err",
        "mean |rel err|",
        "τ",
        "min ρ in a kind",
        "row acc",
        "hit twice",
        "grad cos median / p10",
        "s / pair",
    ]);
    for (k, set) in sets.iter().enumerate() {
        let pool = load_modelnet40(&args.dataset, &set.split)?.shapes;
        let pairs: Vec<LabeledPair> = generate_labeled_pairs(
            &pool,
            set.sizes,
            PairMix::default(),
            args.seed,
            7000 + k as u64,
            set.count,
            &Exact::default(),
        )?;
        let label = format!(
            "{} {}×{} ({})",
            set.split, set.sizes.0, set.sizes.1, set.count
        );
        for (name, model) in &models {
            let start = Instant::now();
            let est = model_estimates(model, &pairs, &[Rounding::RowArgmax], &|_| {})?;
            let seconds = start.elapsed().as_secs_f64() / pairs.len() as f64;
            let s = method_stats(&pairs, &est[0]);
            // NaN (a kind with too few pairs) propagates: the cell then says so.
            let min_rho = s.rho_by_kind.iter().copied().fold(f64::INFINITY, |m, x| {
                if x.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.min(x)
                }
            });
            table.push(vec![
                label.clone(),
                name.clone(),
                format!("{:+.2}%", 100.0 * s.mean_rel),
                format!("{:.2}%", 100.0 * s.mean_abs_rel),
                format!("{:.4}", s.kendall),
                if min_rho.is_nan() {
                    "– (a kind with < 2 pairs)".into()
                } else {
                    format!("{min_rho:.4}")
                },
                s.row_accuracy.map_or("–".into(), |x| format!("{x:.3}")),
                s.hit_twice
                    .map_or("–".into(), |x| format!("{:.1}%", 100.0 * x)),
                s.grad_cosine
                    .map_or("–".into(), |(m, p)| format!("{m:.3} / {p:.3}")),
                format!("{seconds:.4}"),
            ]);
            eprintln!("{label}: {name} done");
        }
    }
    let md = table.to_markdown();
    println!("{md}");
    if let Some(out) = &args.out {
        deepemd_data::write_atomic(out, md.as_bytes())?;
    }
    Ok(())
}

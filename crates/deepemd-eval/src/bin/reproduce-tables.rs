//! `cargo xtask reproduce-tables [--quick]`: the paper's tables and figures on our data and
//! hardware, written into docs/results.md (section "reproduce-tables") and docs/figures/.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use clap::Parser;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
use deepemd_data::datasets::{MeshDatasetOptions, read_manifest, sample_split};
use deepemd_data::hdf5::{ShapeFile, load_modelnet40};
use deepemd_data::pairs::{LabeledPair, PairMix, generate_labeled_pairs};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::methods::{Estimate, chamfer_estimates, model_estimates, sinkhorn_estimates};
use deepemd_eval::plot::{COLORS, Series, cdf, loglog, register_font, scatter_vs_exact};
use deepemd_eval::report::{Table, seconds, update_section};
use deepemd_eval::speed::{Measurement, measure_in_child, peak_rss_mib};
use deepemd_eval::stats::{KINDS, MethodStats, f4, method_stats, opt, pct};
use deepemd_eval::timing::{hardware_line, median_seconds};
use deepemd_model::{DeepEmd, DeepEmdModel, Rounding, default_model, device_from_name};
use indicatif::{ProgressBar, ProgressStyle};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// Small pair counts and sizes up to 2048 (≤ 15 minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Prepared datasets (cgal, synthetic2d, synthetic3d, and modelnet40/shapenet if present).
    #[arg(long, default_value = "datasets/generated")]
    data: PathBuf,
    /// CGAL's meshes folder: real shapes for the speed table and sizes beyond 2048 points.
    #[arg(long)]
    meshes: Option<PathBuf>,
    /// The mesh manifest.
    #[arg(long, default_value = "datasets/cgal/manifest.tsv")]
    manifest: PathBuf,
    /// A model folder; the built-in default model otherwise.
    #[arg(long)]
    model: Option<PathBuf>,
    /// `cpu` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed of every pair.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The results document.
    #[arg(long, default_value = "docs/results.md")]
    out: PathBuf,
    /// Folder of the figures (linked from the document relative to it).
    #[arg(long, default_value = "docs/figures")]
    figures: PathBuf,
}

/// The hidden child mode: one method, one size, printed as one JSON line.
#[derive(Parser, Debug)]
struct MeasureArgs {
    #[arg(long)]
    method: String,
    #[arg(long)]
    n: usize,
    #[arg(long)]
    seed: u64,
    #[arg(long)]
    repeats: usize,
    #[arg(long)]
    meshes: Option<PathBuf>,
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// The training size of the default model; Table 2 is relative to it.
const TRAIN_POINTS: usize = 128;

fn load_model(dir: &Option<PathBuf>, device: &Device) -> Result<DeepEmdModel> {
    Ok(match dir {
        Some(d) => DeepEmdModel::load(d, device)?,
        None => default_model(device)?,
    })
}

fn speed_pair(
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

/// The estimator behind each name of the speed table.
fn speed_estimator(
    method: &str,
    model: &Option<PathBuf>,
    device: Device,
) -> Result<Box<dyn EmdEstimator>> {
    let with = |rounding: Rounding| -> Result<Box<dyn EmdEstimator>> {
        let weights = load_model(model, &device)?;
        Ok(Box::new(
            DeepEmd::new(weights, device.clone()).with_rounding(rounding),
        ))
    };
    match method {
        "model" => with(Rounding::RowArgmax),
        "model-sinkhorn" => with(Rounding::SinkhornGreedy { iterations: 10 }),
        "model-refined" => with(Rounding::REFINED),
        other => deepemd_solvers::by_name(other).with_context(|| format!("unknown method {other}")),
    }
}

fn measure(args: MeasureArgs) -> Result<()> {
    let device = device_from_name(&args.device)?;
    let (_, a, b) = speed_pair(&args.meshes, args.n, args.seed)?;
    let request = EmdRequest::new(Cost::Euclidean);
    let estimator = speed_estimator(&args.method, &args.model, device)?;
    let (secs, result) = median_seconds(args.repeats, || estimator.estimate(&a, &b, request));
    result?;
    let m = Measurement {
        seconds: secs,
        peak_mib: peak_rss_mib(),
    };
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}

fn bar(len: usize, msg: &str) -> ProgressBar {
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} ({elapsed}, ETA {eta})")
            .expect("valid")
            .progress_chars("=> "),
    );
    b.set_message(msg.to_string());
    b
}

/// One split of Table 1.
struct SplitSpec {
    name: String,
    dir: PathBuf,
    split: String,
}

fn splits(data: &Path) -> (Vec<SplitSpec>, Option<String>) {
    let mut note = None;
    let cgal = if data.join("cgal/test_files.txt").exists() {
        data.join("cgal")
    } else {
        note = Some(format!(
            "{} was not prepared; the real-shape splits use the committed fixture datasets/fixtures/cgal-mini (one 1024-point sample per mesh)",
            data.join("cgal").display()
        ));
        PathBuf::from("datasets/fixtures/cgal-mini")
    };
    let mut out = vec![
        SplitSpec {
            name: "held-out meshes".into(),
            dir: cgal.clone(),
            split: "test".into(),
        },
        SplitSpec {
            name: "held-out categories".into(),
            dir: cgal,
            split: "heldout".into(),
        },
    ];
    for (name, sub) in [
        ("synthetic 2-D", "synthetic2d"),
        ("synthetic 3-D", "synthetic3d"),
        ("ModelNet40", "modelnet40"),
        ("ShapeNet part", "shapenet"),
    ] {
        if data.join(sub).join("test_files.txt").exists() {
            out.push(SplitSpec {
                name: name.into(),
                dir: data.join(sub),
                split: "test".into(),
            });
        }
    }
    (out, note)
}

/// Mixed pair kinds as in training, so every kind is represented.
fn mix() -> PairMix {
    PairMix::default()
}

struct Table1Row {
    split: String,
    method: String,
    stats: MethodStats,
}

const TABLE1_ROUNDINGS: [Rounding; 3] = [
    Rounding::RowArgmax,
    Rounding::SinkhornGreedy { iterations: 10 },
    Rounding::REFINED,
];

/// The first split's pairs and every method's estimates on them (the figures are drawn from it).
type MainSplit = (Vec<LabeledPair>, Vec<Vec<Estimate>>);

fn table1(
    args: &Args,
    model: &DeepEmd,
    specs: &[SplitSpec],
    count: usize,
) -> Result<(Vec<Table1Row>, MainSplit)> {
    let mut rows = Vec::new();
    let mut main: Option<MainSplit> = None;
    for (k, spec) in specs.iter().enumerate() {
        let pool = load_modelnet40(&spec.dir, &spec.split)?.shapes;
        let b = bar(count * 2, &format!("Table 1: {}", spec.name));
        let pairs = generate_labeled_pairs(
            &pool,
            TRAIN_POINTS,
            mix(),
            args.seed,
            1000 + k as u64,
            count,
        )?;
        b.inc(count as u64 / 2);
        let mut all = model_estimates(model, &pairs, &TABLE1_ROUNDINGS, &|_| {})?;
        b.inc(count as u64 / 2);
        all.push(sinkhorn_estimates(&pairs, &|d| b.inc(d as u64))?);
        all.push(chamfer_estimates(&pairs));
        b.finish_and_clear();
        let names = [
            "model (row argmax)",
            "model (sinkhorn10+greedy)",
            "model (refined)",
            "Sinkhorn ⟨P,C⟩",
            "Chamfer (scaled)",
        ];
        for (name, est) in names.iter().zip(&all) {
            rows.push(Table1Row {
                split: spec.name.clone(),
                method: name.to_string(),
                stats: method_stats(&pairs, est),
            });
        }
        eprintln!("Table 1: {} done ({} pairs)", spec.name, pairs.len());
        if main.is_none() {
            main = Some((pairs, all));
        }
    }
    Ok((rows, main.expect("at least one split")))
}

struct Table2Row {
    n: usize,
    pairs: usize,
    argmax: MethodStats,
    refined: MethodStats,
}

fn table2(
    args: &Args,
    model: &DeepEmd,
    cgal: &Path,
    sizes: &[(usize, usize)],
    note: &mut Vec<String>,
) -> Result<Vec<Table2Row>> {
    let stored = load_modelnet40(cgal, "test")?.shapes;
    let mut rows = Vec::new();
    for &(n, count) in sizes {
        let pool: ShapeFile = if n <= stored.n_points {
            stored.clone()
        } else if let Some(meshes) = &args.meshes {
            let manifest = read_manifest(&args.manifest)?;
            let options = MeshDatasetOptions {
                points: n,
                samples_train: 1,
                samples_eval: 2,
                seed: args.seed,
            };
            sample_split(meshes, &manifest, "test", options)?
        } else {
            note.push(format!(
                "n = {n} skipped: the prepared shapes have {} points and no --meshes was given",
                stored.n_points
            ));
            continue;
        };
        let b = bar(count, &format!("Table 2: n = {n}"));
        let pairs = generate_labeled_pairs(&pool, n, mix(), args.seed, 2000 + n as u64, count)?;
        let est = model_estimates(
            model,
            &pairs,
            &[Rounding::RowArgmax, Rounding::REFINED],
            &|d| b.inc(d as u64),
        )?;
        b.finish_and_clear();
        eprintln!("Table 2: n = {n} done");
        rows.push(Table2Row {
            n,
            pairs: pairs.len(),
            argmax: method_stats(&pairs, &est[0]),
            refined: method_stats(&pairs, &est[1]),
        });
    }
    Ok(rows)
}

struct SpeedRow {
    n: usize,
    results: Vec<Option<Measurement>>,
}

const SPEED_METHODS: [&str; 6] = [
    "hungarian",
    "exact",
    "sinkhorn",
    "model",
    "model-sinkhorn",
    "model-refined",
];

fn speed(args: &Args, sizes: &[usize], sinkhorn_max: usize) -> Result<Vec<SpeedRow>> {
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    let b = bar(sizes.len() * SPEED_METHODS.len(), "speed table");
    for &n in sizes {
        let mut results = Vec::new();
        for method in SPEED_METHODS {
            b.set_message(format!("speed: {method} n = {n}"));
            if method == "sinkhorn" && n > sinkhorn_max {
                results.push(None);
                b.inc(1);
                continue;
            }
            let repeats = if n <= 1024 { 3 } else { 1 };
            let mut child = vec![
                "--method".to_string(),
                method.to_string(),
                "--n".into(),
                n.to_string(),
                "--seed".into(),
                args.seed.to_string(),
                "--repeats".into(),
                repeats.to_string(),
                "--device".into(),
                args.device.clone(),
            ];
            if let Some(m) = &args.meshes {
                child.extend(["--meshes".to_string(), m.display().to_string()]);
            }
            if let Some(m) = &args.model {
                child.extend(["--model".to_string(), m.display().to_string()]);
            }
            results.push(Some(measure_in_child(&exe, &child)?));
            b.inc(1);
        }
        rows.push(SpeedRow { n, results });
    }
    b.finish_and_clear();
    Ok(rows)
}

/// Pairs per second of the model's forward pass and row argmax with batches of 16.
fn batched_throughput(model: &DeepEmd, args: &Args, n: usize) -> Result<f64> {
    let pairs: Vec<(PointCloud, PointCloud)> = (0..16)
        .map(|k| speed_pair(&args.meshes, n, args.seed + k).map(|(_, a, b)| (a, b)))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    for r in model.estimate_batch(&pairs, EmdRequest::new(Cost::Euclidean)) {
        r?;
    }
    Ok(pairs.len() as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some("measure") {
        let rest = std::iter::once(raw[0].clone()).chain(raw[2..].iter().cloned());
        return measure(MeasureArgs::parse_from(rest));
    }
    let args = Args::parse();
    register_font()?;
    let started = Instant::now();
    let device = device_from_name(&args.device)?;
    let model = DeepEmd::new(load_model(&args.model, &device)?, device);
    let (specs, fixture_note) = splits(&args.data);
    let mut notes: Vec<String> = fixture_note.into_iter().collect();
    let (t1_pairs, t2_sizes, speed_sizes, sinkhorn_max): (
        usize,
        Vec<(usize, usize)>,
        Vec<usize>,
        usize,
    ) = if args.quick {
        (
            96,
            vec![
                (64, 64),
                (128, 64),
                (256, 48),
                (512, 32),
                (1024, 16),
                (2048, 8),
            ],
            vec![256, 512, 1024, 2048],
            2048,
        )
    } else {
        (
            400,
            vec![
                (64, 200),
                (128, 200),
                (256, 150),
                (512, 100),
                (1024, 60),
                (2048, 30),
                (4096, 12),
                (8192, 6),
            ],
            vec![256, 512, 1024, 2048, 4096, 8192],
            4096,
        )
    };
    let (t1, (main_pairs, main_est)) = table1(&args, &model, &specs, t1_pairs)?;
    let t2 = table2(&args, &model, &specs[0].dir, &t2_sizes, &mut notes)?;
    let sp = speed(&args, &speed_sizes, sinkhorn_max)?;
    let throughput = batched_throughput(&model, &args, 1024)?;

    // Figures.
    std::fs::create_dir_all(&args.figures)?;
    let scatter: Vec<Series> = [
        (0, "model (row argmax)"),
        (2, "model (refined)"),
        (3, "Sinkhorn ⟨P,C⟩"),
    ]
    .iter()
    .enumerate()
    .map(|(c, &(k, label))| Series {
        label: label.into(),
        points: main_pairs
            .iter()
            .zip(&main_est[k])
            .map(|(p, e)| (p.emd, e.value))
            .collect(),
        color: COLORS[c],
    })
    .collect();
    scatter_vs_exact(
        &args.figures.join("scatter.png"),
        &format!(
            "{}: estimate vs exact EMD (n = {TRAIN_POINTS})",
            specs[0].name
        ),
        &scatter,
    )?;
    let grads: Vec<Series> = [
        (0, "model (row argmax)"),
        (1, "model (sinkhorn10+greedy)"),
        (2, "model (refined)"),
        (3, "Sinkhorn plan"),
    ]
    .iter()
    .enumerate()
    .map(|(c, &(k, label))| Series {
        label: label.into(),
        points: main_est[k]
            .iter()
            .filter_map(|e| e.grad_cosine)
            .map(|x| (x, 0.0))
            .collect(),
        color: COLORS[c],
    })
    .collect();
    cdf(
        &args.figures.join("gradient_cosine_cdf.png"),
        "cosine(estimated gradient, exact gradient)",
        "cosine similarity",
        &grads,
        (-0.2, 1.0),
    )?;
    let times: Vec<Series> = SPEED_METHODS
        .iter()
        .enumerate()
        .map(|(c, m)| Series {
            label: m.to_string(),
            points: sp
                .iter()
                .filter_map(|r| r.results[c].map(|x| (r.n as f64, x.seconds)))
                .collect(),
            color: COLORS[c],
        })
        .collect();
    loglog(
        &args.figures.join("time_vs_n.png"),
        "time per pair",
        "points per cloud",
        "seconds",
        &times,
    )?;

    // The document.
    let mode = if args.quick { "--quick" } else { "full" };
    let model_name = args.model.as_ref().map_or(
        "the built-in default model (models/default)".to_string(),
        |m| m.display().to_string(),
    );
    let mut md = format!(
        "## DeepEMD tables (`cargo xtask reproduce-tables{}`)\n\nMode {mode}; seed {}; model: {model_name} (trained at n = {TRAIN_POINTS}); hardware: {}; wall time {:.0} s.\n\
         Pairs are drawn as in training (different shapes, same shape resampled, perturbed copies, a few random clouds), normalized jointly, and solved exactly by `exact`.\n",
        if args.quick { " --quick" } else { "" },
        args.seed,
        hardware_line(),
        started.elapsed().as_secs_f64()
    );
    for n in &notes {
        md.push_str(&format!("\nNote: {n}.\n"));
    }
    let kinds: Vec<String> = KINDS.iter().map(|k| format!("ρ {}", k.name())).collect();
    let mut h1 = vec![
        "split",
        "method",
        "r",
        "ρ",
        "τ",
        "mean rel err",
        "mean abs rel err",
        "median rel err",
    ];
    h1.extend(kinds.iter().map(String::as_str));
    h1.extend([
        "row acc",
        "targets hit twice",
        "grad cos median",
        "grad cos p10",
    ]);
    let mut table = Table::new(&h1);
    for r in &t1 {
        let s = &r.stats;
        let mut row = vec![
            r.split.clone(),
            r.method.clone(),
            f4(s.pearson),
            f4(s.spearman),
            f4(s.kendall),
            pct(s.mean_rel),
            pct(s.mean_abs_rel),
            pct(s.median_rel),
        ];
        row.extend(s.rho_by_kind.iter().map(|&x| f4(x)));
        row.push(opt(s.row_accuracy, |x| format!("{x:.3}")));
        row.push(opt(s.hit_twice, |x| format!("{:.1}%", 100.0 * x)));
        row.push(opt(s.grad_cosine.map(|g| g.0), f4));
        row.push(opt(s.grad_cosine.map(|g| g.1), f4));
        table.push(row);
    }
    md.push_str(&format!(
        "\n### Table 1 — accuracy at the training size (n = {TRAIN_POINTS}, {t1_pairs} pairs per split)\n\n{}\nρ per pair type is the Spearman correlation within that type only (pooled correlations are inflated when types of very different EMD scale are mixed). Chamfer is scaled by the median EMD/Chamfer ratio of the same pairs. Bias per pair type, row argmax:\n\n",
        table.to_markdown()
    ));
    let mut hb = Table::new(&[
        "split",
        "method",
        "bias different shapes",
        "bias same shape resampled",
        "bias perturbed copy",
    ]);
    for r in t1.iter().filter(|r| r.method.starts_with("model")) {
        let mut row = vec![r.split.clone(), r.method.clone()];
        row.extend(r.stats.bias_by_kind.iter().map(|&x| pct(x)));
        hb.push(row);
    }
    md.push_str(&hb.to_markdown());
    let mut t2t = Table::new(&[
        "n",
        "× training size",
        "pairs",
        "r (argmax)",
        "ρ (argmax)",
        "mean rel err (argmax)",
        "row acc (argmax)",
        "targets hit twice",
        "mean rel err (refined)",
        "row acc (refined)",
        "grad cos median / p10 (argmax)",
        "grad cos median / p10 (refined)",
    ]);
    for r in &t2 {
        let g = |s: &MethodStats| {
            s.grad_cosine
                .map_or("–".into(), |(m, p)| format!("{m:.3} / {p:.3}"))
        };
        t2t.push(vec![
            r.n.to_string(),
            format!("{:.1}", r.n as f64 / TRAIN_POINTS as f64),
            r.pairs.to_string(),
            f4(r.argmax.pearson),
            f4(r.argmax.spearman),
            pct(r.argmax.mean_rel),
            opt(r.argmax.row_accuracy, |x| format!("{x:.3}")),
            opt(r.argmax.hit_twice, |x| format!("{:.1}%", 100.0 * x)),
            pct(r.refined.mean_rel),
            opt(r.refined.row_accuracy, |x| format!("{x:.3}")),
            g(&r.argmax),
            g(&r.refined),
        ]);
    }
    md.push_str(&format!("\n### Table 2 — generalization over sizes (held-out meshes; model trained at n = {TRAIN_POINTS})\n\n{}", t2t.to_markdown()));
    let set_name = speed_pair(&args.meshes, 8, args.seed)?.0.name();
    let mut h3 = vec!["n".to_string()];
    for m in SPEED_METHODS {
        h3.push(format!("{m} s"));
    }
    for m in &SPEED_METHODS[1..] {
        h3.push(format!("hungarian / {m}"));
    }
    for m in SPEED_METHODS {
        h3.push(format!("{m} peak MiB"));
    }
    let h3r: Vec<&str> = h3.iter().map(String::as_str).collect();
    let mut t3 = Table::new(&h3r);
    for r in &sp {
        let mut row = vec![r.n.to_string()];
        row.extend(
            r.results
                .iter()
                .map(|x| x.map_or("–".into(), |m| seconds(m.seconds))),
        );
        let hung = r.results[0].map(|m| m.seconds);
        row.extend(r.results[1..].iter().map(|x| match (hung, x) {
            (Some(h), Some(m)) => format!("{:.2}×", h / m.seconds),
            _ => "–".into(),
        }));
        row.extend(
            r.results
                .iter()
                .map(|x| x.map_or("–".into(), |m| format!("{:.0}", m.peak_mib))),
        );
        t3.push(row);
    }
    md.push_str(&format!(
        "\n### Speed — per pair, {set_name}, one run\n\nEach cell is a fresh process (median of 3 runs at n ≤ 1024, 1 run above); peak MiB is that process's peak resident memory, its baseline (~the binary and, for the model, its weights) included. Ratios above 1 mean faster than `hungarian` (scipy's algorithm). Model batched throughput at n = 1024 (16 pairs per forward pass, row argmax): {throughput:.2} pairs/s.\n\n{}",
        t3.to_markdown()
    ));
    let rel = |name: &str| -> String {
        let from = args.out.parent().unwrap_or(Path::new("."));
        let p = args.figures.join(name);
        p.strip_prefix(from)
            .map_or(p.display().to_string(), |r| r.display().to_string())
    };
    md.push_str(&format!(
        "\n### Figures\n\n![estimate vs exact]({})\n\n![gradient cosine CDF]({})\n\n![time vs n]({})\n",
        rel("scatter.png"),
        rel("gradient_cosine_cdf.png"),
        rel("time_vs_n.png")
    ));
    update_section(&args.out, "reproduce-tables", &md)?;
    eprintln!(
        "wrote {} and {} in {:.0} s",
        args.out.display(),
        args.figures.display(),
        started.elapsed().as_secs_f64()
    );
    if started.elapsed().as_secs() > 15 * 60 && args.quick {
        eprintln!("warning: the quick mode took over 15 minutes on this machine");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_speed_method_has_an_estimator() {
        for method in SPEED_METHODS {
            assert!(
                speed_estimator(method, &None, Device::Cpu).is_ok(),
                "{method}"
            );
        }
        assert!(speed_estimator("nonsense", &None, Device::Cpu).is_err());
    }
}

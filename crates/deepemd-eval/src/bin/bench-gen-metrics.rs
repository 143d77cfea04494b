//! `cargo xtask bench-gen-metrics`: the generation metrics at the size of PointFlow's protocol.
//!
//! Two sets of clouds from CGAL's real meshes: the reference set from half of the meshes of
//! the manifest, the generated set from the other half (different shapes, not noisy copies),
//! each cloud a fresh surface sample of its mesh, turned about the vertical axis by a random
//! angle, scaled by a random factor per axis and normalized into the ball of radius 1/2
//! (PointFlow's cube, where its JSD grid sits). The pruned and the brute-force searches run on
//! a subset both can finish and must agree to the bit; then the pruned search runs on the whole
//! protocol. The section `bench-gen-metrics` of the output file is rewritten.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use deepemd_core::PointCloud;
use deepemd_data::Mesh;
use deepemd_data::datasets::read_manifest;
use deepemd_eval::report::{Table, seconds, update_section};
use deepemd_eval::speed::peak_rss_mib;
use deepemd_eval::timing::hardware_line;
use deepemd_metrics::{GenerationMetrics, Search, generation_metrics_with};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// CGAL's meshes folder (`cargo xtask prepare-datasets` unpacks it).
    #[arg(long, default_value = "datasets/cache/cgal/data/data/meshes")]
    meshes: PathBuf,
    /// The mesh manifest.
    #[arg(long, default_value = "datasets/cgal/manifest.tsv")]
    manifest: PathBuf,
    /// Clouds per set (PointFlow's protocol: ~405).
    #[arg(long, default_value_t = 400)]
    clouds: usize,
    /// Points per cloud.
    #[arg(long, default_value_t = 2048)]
    points: usize,
    /// Clouds per set of the subset that the brute force also runs (0: none).
    #[arg(long, default_value_t = 40)]
    subset: usize,
    /// Seed of every sample and pose.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The Markdown file whose `bench-gen-metrics` section is rewritten.
    #[arg(long, default_value = "docs/results.md")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.subset <= args.clouds,
        "--subset {} is larger than --clouds {}",
        args.subset,
        args.clouds
    );
    let started = Instant::now();
    let (reference, generated) = protocol_sets(&args)?;
    eprintln!(
        "sampled {} + {} clouds of {} points in {:.0} s",
        reference.len(),
        generated.len(),
        args.points,
        started.elapsed().as_secs_f64()
    );
    let mut table = Table::new(&[
        "sets",
        "search",
        "wall s",
        "pairs",
        "exact solves",
        "share solved",
        "MMD-EMD",
        "COV-EMD",
        "1-NNA-EMD",
        "MMD-CD",
        "JSD",
    ]);
    let mut row = |sets: &str, search: &str, m: &GenerationMetrics| {
        table.push(vec![
            sets.to_string(),
            search.to_string(),
            seconds(m.seconds),
            m.pairs.to_string(),
            m.exact_solves.to_string(),
            format!("{:.2} %", 100.0 * m.exact_solves as f64 / m.pairs as f64),
            format!("{:.5}", m.mmd_emd),
            format!("{:.4}", m.cov_emd),
            format!("{:.4}", m.nna_emd),
            format!("{:.6}", m.mmd_cd),
            m.jsd.map_or("–".into(), |j| format!("{j:.5}")),
        ]);
    };
    let mut brute_per_pair = None;
    if args.subset > 0 {
        let (r, g) = (&reference[..args.subset], &generated[..args.subset]);
        let pruned = run(r, g, Search::Pruned, "subset, pruned")?;
        let brute = run(r, g, Search::BruteForce, "subset, brute force")?;
        let strip = |m: &GenerationMetrics| GenerationMetrics {
            exact_solves: 0,
            dual_bounds: 0,
            seconds: 0.0,
            ..m.clone()
        };
        ensure!(
            strip(&pruned) == strip(&brute),
            "the pruned search disagrees with the brute force:\n{pruned:?}\n{brute:?}"
        );
        let sets = format!("{0} + {0}", args.subset);
        row(&sets, "brute force", &brute);
        row(&sets, "pruned (identical metrics)", &pruned);
        brute_per_pair = Some(brute.seconds / brute.pairs as f64);
    }
    let whole = run(
        &reference,
        &generated,
        Search::Pruned,
        "whole protocol, pruned",
    )?;
    row(&format!("{0} + {0}", args.clouds), "pruned", &whole);
    let peak = peak_rss_mib();
    let estimate = brute_per_pair.map_or(String::new(), |s| {
        format!(
            " The brute force on the whole protocol, at the subset's time per pair, would take \
             ~{:.1} hours ({:.1}× the pruned search).",
            s * whole.pairs as f64 / 3600.0,
            s * whole.pairs as f64 / whole.seconds
        )
    });
    let md = format!(
        "## Generation metrics at protocol scale (`cargo xtask bench-gen-metrics`)\n\n\
         Two sets of {c} clouds of {p} points from CGAL's real meshes: the reference set from \
         half of the meshes of datasets/cgal/manifest.tsv, the generated set from the other \
         half (different shapes), each cloud a fresh surface sample turned about the vertical \
         axis by a random angle, scaled per axis by 0.8–1.2 and normalized into the ball of \
         radius 1/2; seed {seed}. Every metric (MMD, COV, 1-NNA with the exact EMD and Chamfer, \
         PointFlow's per-set splits, JSD); *pairs* are the EMDs the definitions involve, \
         *exact solves* those the search solved. The brute force and the pruned search ran on \
         the subset, whose metrics were checked equal to the bit before the whole protocol \
         ran.{estimate} Peak resident memory of the whole run: {peak:.0} MiB. Total wall time \
         {total:.0} s. Hardware: {hw}.\n\n{table}",
        c = args.clouds,
        p = args.points,
        seed = args.seed,
        total = started.elapsed().as_secs_f64(),
        hw = hardware_line(),
        table = table.to_markdown(),
    );
    update_section(&args.out, "bench-gen-metrics", &md)?;
    eprintln!("{md}");
    Ok(())
}

/// One run of the metrics, with its progress on stderr.
fn run(
    reference: &[PointCloud],
    generated: &[PointCloud],
    search: Search,
    what: &str,
) -> Result<GenerationMetrics> {
    eprintln!("{what}: {} + {} clouds", reference.len(), generated.len());
    let m = generation_metrics_with(
        reference,
        generated,
        ("reference", "generated"),
        search,
        &|| {},
    )?;
    eprintln!(
        "{what}: {:.0} s, {} exact solves and {} dual bounds of {} pairs",
        m.seconds, m.exact_solves, m.dual_bounds, m.pairs
    );
    Ok(m)
}

/// The reference and generated sets: even-numbered meshes of the manifest give the reference
/// set, odd-numbered ones the generated set, clouds dealt round-robin over each set's meshes.
fn protocol_sets(args: &Args) -> Result<(Vec<PointCloud>, Vec<PointCloud>)> {
    let manifest = read_manifest(&args.manifest)?;
    let meshes: Vec<Mesh> = manifest
        .iter()
        .map(|e| Mesh::read(&args.meshes.join(&e.file)))
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "reading the meshes of {} (cargo xtask prepare-datasets unpacks them)",
                args.manifest.display()
            )
        })?;
    let set = |parity: usize, stream: u64| -> Result<Vec<PointCloud>> {
        let own: Vec<&Mesh> = meshes.iter().skip(parity).step_by(2).collect();
        (0..args.clouds)
            .map(|k| {
                let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
                rng.set_stream(stream * 1_000_000 + k as u64);
                let cloud = own[k % own.len()].sample_surface(args.points, &mut rng)?;
                let angle = rng.random_range(0.0..std::f64::consts::TAU);
                let scales = [0; 3].map(|_| rng.random_range(0.8..1.2));
                let unit = deepemd_vae::augment(&cloud, angle, scales)?;
                let half: Vec<f64> = unit.as_flat().iter().map(|x| 0.5 * x).collect();
                Ok(PointCloud::from_flat(3, half)?)
            })
            .collect()
    };
    Ok((set(0, 1)?, set(1, 2)?))
}

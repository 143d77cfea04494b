//! The exact solver alone at sizes where scipy would take many minutes (the issue's "16384
//! points in under a minute within 2 GiB"): time, certificate and this process's peak memory.
//!
//! `cargo run --release -p deepemd-eval --example exact_large -- <set> <n> [meshes dir]`, with
//! `<set>` one of `cube`, `sphere`, `real` (bunny vs armadillo; needs `prepare-datasets`' meshes).
//! One set per process, so the peak is that set's.
use anyhow::{Context, Result, bail};
use deepemd_core::{Cost, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::speed::peak_rss_mib;
use deepemd_solvers::Exact;
use std::path::PathBuf;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [set, n, rest @ ..] = args.as_slice() else {
        bail!("usage: exact_large <cube|sphere|real> <n> [meshes dir]");
    };
    let n: usize = n
        .parse()
        .with_context(|| format!("n = {n:?} is not a size"))?;
    let cloud_set = match set.as_str() {
        "cube" => CloudSet::UniformCube,
        "sphere" => CloudSet::SphereVsNoisySphere,
        "real" => CloudSet::RealShapes {
            meshes: rest
                .first()
                .map(PathBuf::from)
                .unwrap_or_else(|| "datasets/cache/cgal/data/data/meshes".into()),
        },
        other => bail!("unknown set {other:?} (cube, sphere or real)"),
    };
    let (a, b) = cloud_set.pair(n, 2026)?;
    let start = std::time::Instant::now();
    let solved = Exact::default().solve(&a, &b, EmdRequest::new(Cost::Euclidean))?;
    println!(
        "{} n = {n}: EMD {:.6} in {:.2} s (certified), peak RSS {:.0} MiB; {:?}",
        cloud_set.name(),
        solved.emd.distance,
        start.elapsed().as_secs_f64(),
        peak_rss_mib(),
        solved.stats
    );
    Ok(())
}

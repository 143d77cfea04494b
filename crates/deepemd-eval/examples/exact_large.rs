//! The exact solver alone at sizes where scipy would take many minutes (the issue's "16384
//! points in under a minute within 2 GiB"): time, certificate and this process's peak memory.
//!
//! `cargo run --release -p deepemd-eval --example exact_large -- <set> <n>[x<m>] [uniform]
//! [meshes dir]`, with `<set>` one of `cube`, `sphere`, `real` (bunny vs armadillo; needs
//! `prepare-datasets`' meshes); `2048x4096` gives clouds of different sizes, solved under the
//! partial convention unless `uniform` follows. One set per process, so the peak is that set's.
use anyhow::{Context, Result, bail};
use deepemd_core::{Cost, EmdRequest, Unequal};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::speed::peak_rss_mib;
use deepemd_solvers::Exact;
use std::path::PathBuf;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (set, sizes, mut rest) = match args.as_slice() {
        [set, sizes, rest @ ..] => (set, sizes, rest),
        _ => bail!("usage: exact_large <cube|sphere|real> <n>[x<m>] [uniform] [meshes dir]"),
    };
    let size =
        |s: &str| -> Result<usize> { s.parse().with_context(|| format!("{s:?} is not a size")) };
    let (n, m) = match sizes.split_once('x') {
        Some((n, m)) => (size(n)?, size(m)?),
        None => (size(sizes)?, size(sizes)?),
    };
    let unequal = match rest.first().map(String::as_str) {
        Some("uniform") => {
            rest = &rest[1..];
            Unequal::Uniform
        }
        Some("partial") => {
            rest = &rest[1..];
            Unequal::Partial
        }
        _ => Unequal::Partial,
    };
    let meshes = rest
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| "datasets/cache/cgal/data/data/meshes".into());
    let cloud_set = CloudSet::from_key(set, Some(meshes)).map_err(anyhow::Error::msg)?;
    let (a, b) = cloud_set.pair_sized(n, m, 2026)?;
    let start = std::time::Instant::now();
    let request = EmdRequest::new(Cost::Euclidean).with_unequal(unequal);
    let solved = Exact::default().solve(&a, &b, request)?;
    println!(
        "{} {n} vs {m} ({unequal}): EMD {:.6} in {:.2} s (certified), peak RSS {:.0} MiB; {:?}",
        cloud_set.name(),
        solved.emd.distance,
        start.elapsed().as_secs_f64(),
        peak_rss_mib(),
        solved.stats
    );
    Ok(())
}

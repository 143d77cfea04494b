//! `cargo xtask prepare-datasets`: obtains the meshes of Debian's `libcgal-demo` package
//! (`apt-get download` needs no root), then runs `deepemd prepare-datasets` on them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::system::{is_root, run, run_release, workspace_root};

/// Where an installed libcgal-demo puts the archive of its data folder.
const INSTALLED: &str = "/usr/share/doc/libcgal-dev/data.tar.gz";

/// The CGAL meshes folder, downloading and unpacking the package into `datasets/cache/cgal`
/// when it is not there yet.
pub fn cgal_meshes() -> Result<PathBuf> {
    let cache = workspace_root().join("datasets/cache/cgal");
    let meshes = cache.join("data/data/meshes");
    if meshes.join("bunny00.off").exists() {
        return Ok(meshes);
    }
    std::fs::create_dir_all(&cache)?;
    let archive = if Path::new(INSTALLED).exists() {
        PathBuf::from(INSTALLED)
    } else {
        download_archive(&cache)?
    };
    eprintln!("xtask: unpacking the meshes of {}", archive.display());
    std::fs::create_dir_all(cache.join("data"))?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(cache.join("data"))
        .arg("data/meshes"))?;
    Ok(meshes)
}

fn download_archive(cache: &Path) -> Result<PathBuf> {
    let archive = cache.join("deb/usr/share/doc/libcgal-dev/data.tar.gz");
    if archive.exists() {
        return Ok(archive);
    }
    eprintln!(
        "xtask: downloading Debian's libcgal-demo package (meshes; ~24 MB) into {}",
        cache.display()
    );
    let download = || {
        Command::new("apt-get")
            .args(["download", "libcgal-demo"])
            .current_dir(cache)
            .status()
    };
    if !download().map(|s| s.success()).unwrap_or(false) {
        if !is_root() {
            bail!("apt-get download libcgal-demo failed; run `sudo apt-get update` and retry");
        }
        run(Command::new("apt-get").args(["update", "-q"]))?;
        if !download().map(|s| s.success()).unwrap_or(false) {
            bail!(
                "apt-get download libcgal-demo failed (is this a Debian/Ubuntu machine with network?)"
            );
        }
    }
    let deb = std::fs::read_dir(cache)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb file")?;
    run(Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(cache.join("deb")))?;
    if !archive.exists() {
        bail!("{} holds no data.tar.gz", deb.display());
    }
    Ok(archive)
}

/// Runs the workspace's `deepemd` binary in release mode with `args`.
pub fn deepemd(args: &[&str]) -> Result<()> {
    run_release("deepemd-cli", None, &[], args)
}

/// `cargo xtask prepare-datasets [--modelnet40 DIR] [--shapenet DIR] [deepemd options]`.
pub fn prepare_datasets(rest: &[String]) -> Result<()> {
    let meshes = cgal_meshes()?;
    let meshes = meshes.to_string_lossy().into_owned();
    let manifest = workspace_root().join("datasets/cgal/manifest.tsv");
    let manifest = manifest.to_string_lossy().into_owned();
    let out = workspace_root().join("datasets/generated");
    let out = out.to_string_lossy().into_owned();
    let mut args = vec![
        "prepare-datasets",
        "--meshes",
        &meshes,
        "--manifest",
        &manifest,
        "--out",
        &out,
    ];
    args.extend(rest.iter().map(String::as_str));
    deepemd(&args)
}

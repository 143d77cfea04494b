//! What a fresh machine needs: the system HDF5 library for the build, a Python virtual
//! environment for the peer solvers. Each check says what it does before doing it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Runs `cargo` with `args` in the workspace root, failing if it fails.
pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).current_dir(workspace_root()))
}

/// `cargo run --release` of a workspace binary: `bin` of `package` (its only binary when
/// `None`), built with `features`, given `args`.
pub fn run_release(
    package: &str,
    bin: Option<&str>,
    features: &[&str],
    args: &[&str],
) -> Result<()> {
    let mut all = vec!["run", "--release", "--quiet", "--package", package];
    if let Some(b) = bin {
        all.extend(["--bin", b]);
    }
    let features = features.join(",");
    if !features.is_empty() {
        all.extend(["--features", features.as_str()]);
    }
    all.push("--");
    all.extend_from_slice(args);
    cargo(&all)
}

/// Runs a command, inheriting stdio, and fails with the command line if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

fn hdf5_present() -> bool {
    // Debian/Ubuntu put the serial headers under include/hdf5/serial; others in include/.
    let headers = [
        "/usr/include/hdf5/serial/hdf5.h",
        "/usr/include/hdf5.h",
        "/usr/local/include/hdf5.h",
        "/opt/homebrew/include/hdf5.h",
    ];
    std::env::var_os("HDF5_DIR").is_some() || headers.iter().any(|h| Path::new(h).exists())
}

/// Makes sure the system HDF5 library (with headers) is installed: on Debian/Ubuntu it installs
/// `libhdf5-dev` after saying so; elsewhere it prints the install command and stops.
pub fn ensure_build_dependencies() -> Result<()> {
    if hdf5_present() {
        return Ok(());
    }
    let debian = Path::new("/etc/debian_version").exists();
    if !debian {
        bail!(
            "the HDF5 library is missing. Install it, then rerun:\n  \
             Fedora: sudo dnf install hdf5-devel\n  macOS: brew install hdf5\n  \
             or set HDF5_DIR to an HDF5 installation"
        );
    }
    eprintln!("xtask: the HDF5 library is missing; installing libhdf5-dev with apt-get");
    let root = is_root();
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    if apt(&["install", "-y", "-q", "libhdf5-dev", "pkg-config"]).is_err() {
        apt(&["update", "-q"])?;
        apt(&["install", "-y", "-q", "libhdf5-dev", "pkg-config"])
            .context("could not install libhdf5-dev; run: sudo apt-get install -y libhdf5-dev")?;
    }
    if !hdf5_present() {
        bail!("libhdf5-dev is installed but hdf5.h was not found");
    }
    Ok(())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A virtual environment in `target/python` with `packages` installed; returns its python.
pub fn ensure_python_venv(packages: &[&str]) -> Result<PathBuf> {
    let venv = workspace_root().join("target/python");
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!(
            "xtask: creating a Python virtual environment in {}",
            venv.display()
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("python3 -m venv failed (is python3-venv installed?)")?;
    }
    let imports: Vec<&str> = packages
        .iter()
        .map(|p| if *p == "pot" { "ot" } else { p })
        .collect();
    let check = format!("import {}", imports.join(", "));
    let present = Command::new(&python)
        .args(["-c", &check])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !present {
        eprintln!(
            "xtask: installing {} into {}",
            packages.join(", "),
            venv.display()
        );
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(packages))?;
    }
    Ok(python)
}

/// Makes sure a TrueType font for the figures exists: on Debian/Ubuntu installs
/// `fonts-dejavu-core` after saying so; elsewhere prints the install command and stops.
pub fn ensure_font() -> Result<()> {
    const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    if Path::new(FONT).exists() || Path::new("/usr/share/fonts/TTF/DejaVuSans.ttf").exists() {
        return Ok(());
    }
    if !Path::new("/etc/debian_version").exists() {
        bail!("the figures need the DejaVu Sans font; install it (e.g. fonts-dejavu) and rerun");
    }
    eprintln!("xtask: the figures need a font; installing fonts-dejavu-core with apt-get");
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(["install", "-y", "-q", "fonts-dejavu-core"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut cmd).context(
        "could not install fonts-dejavu-core; run: sudo apt-get install -y fonts-dejavu-core",
    )
}

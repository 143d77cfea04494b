//! The Python module (`crates/deepemd-py`): built as a wheel (`maturin build`), checked in a
//! fresh virtual environment (the wheel and its declared dependencies only), then installed into
//! the xtask's test environment and tested with pytest. Timings install it as a user does
//! from source (`pip install ./crates/deepemd-py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::system::{ensure_python_venv, run, workspace_root};

/// What the Python tests need: the build backend, the test runner, the references, and torch
/// for the `deepemd.torch` gradcheck (PyPI's build: ~1.5 min and 5.4 GB measured here, once).
const TEST_PACKAGES: &[&str] = &["numpy", "scipy", "pytest", "maturin", "torch"];

/// `pip install ./crates/deepemd-py` into `python`'s environment, as a user installs it (a
/// release build; maturin from the environment, so no download per install): for timings
/// (`bench-peers --tables python`).
pub fn install_module(python: &Path) -> Result<()> {
    let root = workspace_root();
    let bin = python.parent().expect("the venv's bin folder");
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    eprintln!("xtask: pip install ./crates/deepemd-py (a release build of the extension)");
    run(Command::new(python)
        .current_dir(&root)
        .env("PATH", path)
        .args(["-m", "pip", "install", "--quiet", "--no-build-isolation"])
        .arg("./crates/deepemd-py"))
}

/// Builds the wheel a user would install (`maturin build`, in the test profile) into
/// `target/wheels/ci`, replacing any earlier one; returns its path.
pub fn build_wheel(python: &Path) -> Result<PathBuf> {
    let root = workspace_root();
    let out = root.join("target/wheels/ci");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    eprintln!("xtask: maturin build (the wheel, in the test profile)");
    let bin = python.parent().expect("the venv's bin folder");
    run(Command::new(bin.join("maturin"))
        .current_dir(root.join("crates/deepemd-py"))
        // A wheel for this system: it links the system's libhdf5 (a manylinux wheel would
        // bundle it and its ~30 dependencies with patchelf: `maturin build --release` with
        // patchelf installed).
        .args([
            "build",
            "--quiet",
            "--profile",
            "dev",
            "--compatibility",
            "linux",
        ])
        .args(["--auditwheel", "skip", "--out"])
        .arg(&out))?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    match &wheels[..] {
        [wheel] => Ok(wheel.clone()),
        other => anyhow::bail!(
            "maturin build left {} wheels in {}",
            other.len(),
            out.display()
        ),
    }
}

/// The wheel installed into a new virtual environment with nothing but its declared
/// dependencies, then imported and its documentation's examples run from a folder outside the
/// repository: what `pip install deepemd-…whl` gives a user, without the test environment's
/// packages or the source tree to hide a missing file or dependency.
pub fn check_wheel_in_fresh_venv(wheel: &Path) -> Result<()> {
    let root = workspace_root();
    let venv = root.join("target/wheel-venv");
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    eprintln!("xtask: a fresh venv, pip install {}", wheel.display());
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    let python = venv.join("bin/python");
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet"])
        .arg(wheel))?;
    let outside = tempfile_dir()?;
    run(Command::new(&python)
        .current_dir(&outside)
        .arg(root.join("crates/deepemd-py/tests/run_docstring_examples.py")))?;
    std::fs::remove_dir_all(&outside)?;
    Ok(())
}

/// An empty folder outside the repository.
fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("deepemd-wheel-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Builds the wheel, checks it in a fresh venv, installs it into the test environment and runs
/// the pytest suite there (torch required, not skipped).
pub fn test_module() -> Result<PathBuf> {
    let python = ensure_python_venv(TEST_PACKAGES)?;
    let wheel = build_wheel(&python)?;
    check_wheel_in_fresh_venv(&wheel)?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(&wheel))?;
    run(Command::new(&python)
        .current_dir(workspace_root())
        .env("DEEPEMD_REQUIRE_TORCH", "1")
        .args(["-m", "pytest", "-q", "crates/deepemd-py/tests"]))?;
    Ok(python)
}

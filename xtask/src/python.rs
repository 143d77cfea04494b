//! The Python module (`crates/deepemd-py`): built and installed into the xtask's virtual
//! environment exactly as a user installs it (`pip install ./crates/deepemd-py`), then tested
//! with pytest.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::system::{ensure_python_venv, run, workspace_root};

/// What the Python tests need: the build backend, the test runner, the references, and torch
/// for the `deepemd.torch` gradcheck (PyPI's build: ~1.5 min and 5.4 GB measured here, once).
const TEST_PACKAGES: &[&str] = &["numpy", "scipy", "pytest", "maturin", "torch"];

/// Which cargo profile the extension is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// What a user's `pip install` builds: for timings (`bench-peers --tables python`).
    Release,
    /// The test profile (`dev`, dependencies at opt-level 3): it reuses what `cargo test` built
    /// in `target/debug` instead of compiling candle and the rest a second time in release
    /// (measured: 3 min 50 s for the extension against a release build from scratch).
    Test,
}

/// `pip install ./crates/deepemd-py` into `python`'s environment (maturin from the
/// environment, so no download per install), built with `build`'s profile.
pub fn install_module(python: &Path, build: Build) -> Result<()> {
    let root = workspace_root();
    let bin = python.parent().expect("the venv's bin folder");
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    let mut pip = Command::new(python);
    pip.current_dir(&root).env("PATH", path).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-build-isolation",
    ]);
    match build {
        Build::Release => {
            eprintln!("xtask: pip install ./crates/deepemd-py (a release build of the extension)")
        }
        Build::Test => {
            eprintln!("xtask: pip install ./crates/deepemd-py (the extension in the test profile)");
            pip.arg("--config-settings=build-args=--profile dev");
        }
    }
    run(pip.arg("./crates/deepemd-py"))
}

/// Installs the module and runs its pytest suite (torch required, not skipped).
pub fn test_module() -> Result<PathBuf> {
    let python = ensure_python_venv(TEST_PACKAGES)?;
    install_module(&python, Build::Test)?;
    run(Command::new(&python)
        .current_dir(workspace_root())
        .env("DEEPEMD_REQUIRE_TORCH", "1")
        .args(["-m", "pytest", "-q", "crates/deepemd-py/tests"]))?;
    Ok(python)
}

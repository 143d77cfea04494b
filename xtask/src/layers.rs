//! `cargo xtask check-layers`: the dependency invariants of docs/architecture.md, checked with
//! `cargo tree` on the normal (non-dev) dependency graph.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::system::workspace_root;

/// (crate, forbidden dependency prefixes).
const RULES: &[(&str, &[&str])] = &[
    ("deepemd-core", &["candle", "hdf5", "rayon", "deepemd-"]),
    (
        "deepemd-solvers",
        &["candle", "hdf5", "deepemd-data", "deepemd-model", "pyo3"],
    ),
    (
        "deepemd-data",
        &["candle", "deepemd-model", "deepemd-solvers", "pyo3"],
    ),
    (
        "deepemd-model",
        &["hdf5", "deepemd-data", "deepemd-solvers", "pyo3"],
    ),
    (
        "deepemd-methods",
        &["hdf5", "deepemd-data", "deepemd-train", "deepemd-eval"],
    ),
    (
        "deepemd-vae",
        &["deepemd-eval", "deepemd-cli", "plotters", "pyo3"],
    ),
    // The generation metrics work on clouds: no network, no training, no experiments.
    (
        "deepemd-metrics",
        &[
            "candle",
            "deepemd-model",
            "deepemd-train",
            "deepemd-vae",
            "deepemd-loss",
            "deepemd-eval",
            "pyo3",
        ],
    ),
    // The Python module wraps the libraries a user calls; no experiments, no training, no CLI,
    // no anyhow.
    (
        "deepemd-py",
        &[
            "deepemd-eval",
            "deepemd-cli",
            "deepemd-vae",
            "deepemd-train",
            "plotters",
            "anyhow",
            "clap",
        ],
    ),
    (
        "deepemd-train",
        &["deepemd-vae", "deepemd-loss", "deepemd-eval"],
    ),
    (
        "deepemd-fuzz",
        &["candle", "deepemd-model", "deepemd-train", "deepemd-eval"],
    ),
    // The loss is a library on the methods: no files, no training, no experiments.
    (
        "deepemd-loss",
        &[
            "hdf5",
            "deepemd-data",
            "deepemd-train",
            "deepemd-vae",
            "deepemd-metrics",
            "deepemd-eval",
            "deepemd-cli",
            "pyo3",
        ],
    ),
    // The command line calls the libraries, never the experiments or the Python module.
    ("deepemd-cli", &["deepemd-eval", "plotters", "pyo3"]),
    // The experiments run the libraries and the CLI's binary as a process, never its code.
    ("deepemd-eval", &["deepemd-cli", "deepemd-py", "pyo3"]),
    ("deepemd-benches", &["deepemd-cli", "deepemd-eval", "pyo3"]),
    // xtask builds before anything else (and before HDF5 exists): no workspace crate.
    ("xtask", &["deepemd-", "candle", "hdf5"]),
];

pub fn check_layers() -> Result<()> {
    let mut violations = Vec::new();
    for (krate, forbidden) in RULES {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "tree",
                "--quiet",
                "-e",
                "normal",
                "--prefix",
                "none",
                "--package",
                krate,
            ])
            .current_dir(workspace_root())
            .output()
            .context("could not run cargo tree")?;
        if !out.status.success() {
            bail!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        let before = violations.len();
        for dep in tree
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
        {
            if forbidden.iter().any(|f| dep.starts_with(f)) {
                violations.push(format!("{krate} depends on {dep}"));
            }
        }
        if violations.len() == before {
            println!("check-layers: {krate}: ok");
        } else {
            println!("check-layers: {krate}: VIOLATED");
        }
    }
    violations.sort();
    violations.dedup();
    if !violations.is_empty() {
        bail!(
            "layering violated (see docs/architecture.md):\n  {}",
            violations.join("\n  ")
        );
    }
    Ok(())
}

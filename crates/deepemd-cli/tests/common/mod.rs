//! What the CLI tests share: the binary, the fixtures and scipy's values for them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A file of `tests/fixtures` (made by `make_formats.py` there).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `deepemd` with `args` and collects its output.
pub fn deepemd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deepemd"))
        .args(args)
        .output()
        .expect("the deepemd binary runs")
}

/// scipy's EMD of a fixture pair under `cost` (`expected.json`).
pub fn expected(pair: &str, cost: &str) -> f64 {
    let v: Value = serde_json::from_str(include_str!("../fixtures/expected.json")).unwrap();
    v[pair][cost].as_f64().unwrap()
}

//! What the CLI tests share: the binary, the fixtures and scipy's values for them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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

/// Writes `items` clouds of `points` 3-D points (f32, flat) as a `(items, points, 3)` `.npy`.
pub fn write_npy(path: &Path, values: &[f32], (items, points): (usize, usize)) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({items}, {points}, 3), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// Starts `cmd` and kills it as soon as `file` exists (a run stopped mid-way, as a scheduler's
/// preemption or Ctrl-C would); fails after two minutes without `file`.
pub fn kill_once_exists(mut cmd: Command, file: &Path) {
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while !file.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{} did not appear",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

//! The committed regression inputs no longer break anything, and a run is deterministic for
//! its seed.

use std::path::Path;
use std::process::{Command, Output};

fn fuzz(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deepemd-fuzz"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn every_saved_regression_input_replays_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = fuzz(&["replay"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let saved = std::fs::read_dir(regressions)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "README.md")
        .count();
    assert!(
        stderr.contains(&format!("fuzz: {saved} inputs")),
        "{stderr}"
    );
}

#[test]
fn a_run_is_deterministic_for_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    // The per-target lines of the summary (not the timing line).
    let tally = |out: Output| -> String {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  ")).collect();
        lines.join("\n")
    };
    let args = ["--inputs", "280", "--seed", "5"];
    let first = tally(fuzz(&args, &dir.path().join("a")));
    let second = tally(fuzz(&args, &dir.path().join("b")));
    assert_eq!(first, second);
    assert_eq!(first.lines().count(), 23, "{first}");
}

//! `deepemd prepare-pairs` killed mid-run and rerun gives the same pair set as one clean run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::kill_once_exists;
use deepemd_data::pairs::read_pair_set;

fn dataset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cgal-mini")
}

fn prepare(out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deepemd"));
    cmd.args([
        "prepare-pairs",
        "--points",
        "200",
        "--pairs",
        "1200",
        "--shard-size",
        "30",
        "--seed",
        "3",
    ])
    .arg("--dataset")
    .arg(dataset())
    .arg("--out")
    .arg(out);
    cmd
}

#[test]
fn killed_and_rerun_equals_uninterrupted() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    assert!(prepare(&clean).status().unwrap().success());

    let resumed = dir.path().join("resumed");
    let first = resumed.join("pairs-00000.h5");
    let last = resumed.join("pairs-00039.h5");
    kill_once_exists(prepare(&resumed), &first);
    assert!(!last.exists(), "the run finished before it could be killed");
    let complete = std::fs::read_dir(&resumed).unwrap().filter(|e| {
        let name = e
            .as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .into_owned();
        name.starts_with("pairs-") && name.ends_with(".h5")
    });
    assert!(complete.count() < 40);

    let out = prepare(&resumed).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("complete before this run"), "{log}");
    assert_eq!(
        read_pair_set(&resumed).unwrap(),
        read_pair_set(&clean).unwrap()
    );
}

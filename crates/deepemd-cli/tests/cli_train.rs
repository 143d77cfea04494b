//! `deepemd train` killed (SIGKILL) mid-run and resumed gives the loss curve of a clean run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::kill_once_exists;
use deepemd_train::read_state;

fn dataset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cgal-mini")
}

fn train(run: &Path, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deepemd"));
    cmd.arg("train").arg("--run").arg(run).arg("--quiet");
    if resume {
        cmd.arg("--resume");
    } else {
        cmd.arg("--dataset").arg(dataset());
        cmd.args([
            "--steps",
            "300",
            "--points",
            "16",
            "--batch",
            "4",
            "--d-model",
            "16",
            "--layers",
            "1",
        ]);
        cmd.args([
            "--heads",
            "2",
            "--ffn",
            "32",
            "--warmup",
            "5",
            "--eval-every",
            "0",
            "--eval-pairs",
            "8",
        ]);
        cmd.args(["--checkpoint-every", "20"]);
    }
    cmd
}

#[test]
fn killed_training_resumes_with_the_same_loss_curve() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    let out = train(&clean, false).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = read_state(&clean.join("checkpoint")).unwrap();
    assert_eq!(full.step, 300);

    let killed = dir.path().join("killed");
    kill_once_exists(train(&killed, false), &killed.join("checkpoint/state.json"));
    let partial = read_state(&killed.join("checkpoint")).unwrap();
    assert!(
        partial.step < 300,
        "the run finished before it could be killed"
    );

    let out = train(&killed, true).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = read_state(&killed.join("checkpoint")).unwrap();
    assert_eq!(resumed.history, full.history);

    // Changing a setting on resume is refused with both settings shown.
    let mut cmd = train(&killed, true);
    cmd.args(["--lr", "0.1"]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("other settings"),
        "{err}"
    );
}

//! What a newcomer meets: meshes sampled on their surface (or a warning that they are read as
//! vertices), and a closed output pipe that ends the job quietly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{deepemd, fixture};

use serde_json::Value;

/// A cube of side `side` as an OFF mesh (8 vertices, 6 quads).
fn cube(dir: &Path, name: &str, side: f64) -> PathBuf {
    let mut text = String::from("OFF\n8 6 0\n");
    for k in 0..8 {
        let (x, y, z) = (
            side * (k & 1) as f64,
            side * ((k >> 1) & 1) as f64,
            side * (k >> 2) as f64,
        );
        text.push_str(&format!("{x} {y} {z}\n"));
    }
    for face in [
        "0 1 3 2", "4 6 7 5", "0 4 5 1", "2 3 7 6", "0 2 6 4", "1 5 7 3",
    ] {
        text.push_str(&format!("4 {face}\n"));
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn meshes_are_sampled_on_request_and_flagged_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let a = cube(dir.path(), "a.off", 1.0);
    let b = cube(dir.path(), "b.off", 1.5);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    let sampled = deepemd(&["emd", a, b, "--sample", "400", "--json"]);
    let v = json(&sampled);
    assert_eq!(
        (v["n_a"].as_u64(), v["n_b"].as_u64()),
        (Some(400), Some(400))
    );
    assert!(
        sampled.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&sampled.stderr)
    );
    // The surfaces of two cubes sharing a corner, of sides 1 and 1.5.
    let d = v["distance"].as_f64().unwrap();
    assert!(d > 0.1 && d < 1.0, "{d}");
    // Seeded: the same seed gives the same samples, another seed others.
    let again = json(&deepemd(&["emd", a, b, "--sample", "400", "--json"]));
    assert_eq!(again["distance"], v["distance"]);
    let other = json(&deepemd(&[
        "emd", a, b, "--sample", "400", "--seed", "7", "--json",
    ]));
    assert_ne!(other["distance"], v["distance"]);

    // Without --sample: the 8 vertices, and a warning that says how to sample.
    let bare = deepemd(&["emd", a, b, "--json"]);
    assert_eq!(json(&bare)["n_a"].as_u64(), Some(8));
    let warning = String::from_utf8_lossy(&bare.stderr);
    assert!(
        warning.contains("a.off")
            && warning.contains("12 triangles")
            && warning.contains("--sample"),
        "{warning}"
    );

    // --sample on a file that is not a mesh is an error, not ignored.
    let xyz = dir.path().join("c.xyz");
    std::fs::write(&xyz, "0 0 0\n1 1 1\n").unwrap();
    let out = deepemd(&[
        "emd",
        xyz.to_str().unwrap(),
        xyz.to_str().unwrap(),
        "--sample",
        "10",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--sample applies to .off and .ply"),
        "{err}"
    );
}

#[test]
fn a_closed_output_pipe_ends_the_job_quietly() {
    for extra in [&["--matching"][..], &["--json", "--matching"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deepemd"))
            .args(["emd"])
            .arg(fixture("a.xyz"))
            .arg(fixture("b.xyz"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command prints anything (as `| head -0` would).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

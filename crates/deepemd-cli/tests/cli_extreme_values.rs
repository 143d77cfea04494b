//! `deepemd emd` on finite but extreme coordinates: the right answer, or one error line naming
//! both files, for every method — never a panic, `null`, `inf` or a silent 0.

mod common;

use std::path::{Path, PathBuf};

use common::deepemd;

use serde_json::Value;

/// Two 2-point clouds: a unit square's bottom and top edges, scaled by `s`. EMD = s (s² for
/// the squared cost).
fn square_edges(dir: &Path, s: f64) -> (PathBuf, PathBuf) {
    let a = dir.join(format!("bottom_{s:e}.xyz"));
    let b = dir.join(format!("top_{s:e}.xyz"));
    std::fs::write(&a, format!("0 0 0\n{s:e} 0 0\n")).unwrap();
    std::fs::write(&b, format!("0 {s:e} 0\n{s:e} {s:e} 0\n")).unwrap();
    (a, b)
}

const METHODS: [&str; 4] = ["exact", "hungarian", "sinkhorn", "model"];

#[test]
fn every_method_gives_the_value_or_an_error_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    for s in [1e-200, 1e-150, 1e-8, 1e150, 1e200, 1e300] {
        let (a, b) = square_edges(dir.path(), s);
        let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
        for method in METHODS {
            for (cost, expected) in [("euclidean", s), ("sqeuclidean", s * s)] {
                let out = deepemd(&[
                    "emd", a_s, b_s, "--method", method, "--cost", cost, "--json",
                ]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    !stderr.contains("panicked"),
                    "{method} {cost} s = {s:e}: {stderr}"
                );
                let representable = expected.is_finite() && expected >= f64::MIN_POSITIVE;
                if out.status.success() {
                    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                    let d = v["distance"].as_f64().unwrap_or_else(|| {
                        panic!("{method} {cost} s = {s:e}: distance is {}", v["distance"])
                    });
                    assert!(representable, "{method} {cost} s = {s:e}: accepted {d:e}");
                    // The model is an estimate; on this symmetric pair it is exact or close.
                    let tol = if method == "exact" || method == "hungarian" {
                        1e-12
                    } else {
                        0.5
                    };
                    assert!(
                        ((d - expected) / expected).abs() <= tol,
                        "{method} {cost} s = {s:e}: {d:e} vs {expected:e}"
                    );
                } else {
                    assert!(
                        !representable || method == "model",
                        "{method} {cost} s = {s:e} refused a representable EMD: {stderr}"
                    );
                    assert_eq!(stderr.lines().count(), 1, "{stderr}");
                    assert!(
                        stderr.contains(a_s) && stderr.contains(b_s),
                        "the error names no file: {stderr}"
                    );
                }
            }
        }
    }
}

#[test]
fn one_huge_coordinate_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.xyz");
    let b = dir.path().join("b.xyz");
    std::fs::write(&a, "0 0 0\n1 0 0\n0 1 0\n").unwrap();
    for big in ["1.4e154", "1e200", "1e308"] {
        std::fs::write(&b, format!("0 0 1\n1 0 1\n{big} 1 1\n")).unwrap();
        for method in ["exact", "hungarian"] {
            let out = deepemd(&[
                "emd",
                a.to_str().unwrap(),
                b.to_str().unwrap(),
                "--method",
                method,
                "--json",
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{method} {big}: {stderr}");
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let d = v["distance"].as_f64().unwrap();
            let expected = big.parse::<f64>().unwrap() / 3.0;
            assert!(
                ((d - expected) / expected).abs() < 1e-9,
                "{method} {big}: {d:e}"
            );
        }
    }
}

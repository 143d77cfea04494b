//! `deepemd emd` end to end: every format gives scipy's value, bad input gives one clear line.

mod common;

use std::path::{Path, PathBuf};

use common::{deepemd, expected, fixture};

use deepemd_core::tolerance::BELOW_OPTIMUM_REL;
use deepemd_core::tolerance::EXACT_VALUE_REL;
use serde_json::Value;

/// `deepemd emd A B EXTRA…`, whatever its outcome.
fn run_emd(a: &Path, b: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["emd", a.to_str().unwrap(), b.to_str().unwrap()];
    args.extend_from_slice(extra);
    deepemd(&args)
}

fn emd_json(a: &Path, b: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = run_emd(a, b, &args);
    assert!(
        out.status.success(),
        "deepemd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn assert_close(got: f64, want: f64, what: &str) {
    let rel = (got - want).abs() / want;
    assert!(
        rel <= EXACT_VALUE_REL,
        "{what}: {got} vs scipy {want} (rel {rel:e})"
    );
}

const FORMATS: [&str; 9] = [
    "{}.xyz",
    "{}.csv",
    "{}.txt",
    "{}_f32.npy",
    "{}_f64.npy",
    "{}_ascii.ply",
    "{}_binary.ply",
    "{}.off",
    "{}.pcd",
];

#[test]
fn every_format_gives_scipys_value() {
    for cost in ["euclidean", "sqeuclidean"] {
        for (k, pattern) in FORMATS.iter().enumerate() {
            // Pair each format of A with a different format of B, so every reader is used
            // on both sides.
            let a = fixture(&pattern.replace("{}", "a"));
            let b = fixture(&FORMATS[(k + 4) % FORMATS.len()].replace("{}", "b"));
            let v = emd_json(&a, &b, &["--cost", cost]);
            assert_eq!(v["method"], "exact");
            assert_eq!(v["cost"], cost);
            assert_eq!(v["n_a"], 200);
            assert_eq!(v["n_b"], 200);
            assert!(v["seconds"].as_f64().unwrap() >= 0.0);
            assert!(v.get("matching").is_none());
            assert_close(
                v["distance"].as_f64().unwrap(),
                expected("a_b", cost),
                pattern,
            );
        }
    }
}

#[test]
fn hdf5_items_give_scipys_value() {
    let h5 = fixture("ab.h5");
    let a = format!("{}#0", h5.display());
    let b = format!("{}:data#1", h5.display());
    for cost in ["euclidean", "sqeuclidean"] {
        let out = deepemd(&["emd", &a, &b, "--json", "--cost", cost]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_close(
            v["distance"].as_f64().unwrap(),
            expected("a_b", cost),
            "ab.h5",
        );
    }
    let out = deepemd(&["emd", &format!("{}#7", h5.display()), &a]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && err.contains("ab.h5: dataset 'data' has 2 items"),
        "{err}"
    );
}

#[test]
fn two_dimensional_and_rectangular_inputs() {
    for cost in ["euclidean", "sqeuclidean"] {
        let v = emd_json(&fixture("a2.xyz"), &fixture("b2.npy"), &["--cost", cost]);
        assert_close(
            v["distance"].as_f64().unwrap(),
            expected("a2_b2", cost),
            "2-D",
        );
        let v = emd_json(
            &fixture("a.xyz"),
            &fixture("b150.xyz"),
            &[
                "--cost",
                cost,
                "--matching",
                "--method",
                "hungarian",
                "--unequal",
                "partial",
            ],
        );
        assert_close(
            v["distance"].as_f64().unwrap(),
            expected("a_b150", cost),
            "200 vs 150",
        );
        let pairs = v["matching"].as_array().unwrap();
        assert_eq!(pairs.len(), 150);
        assert_eq!(pairs[0].as_array().unwrap().len(), 2);
    }
}

#[test]
fn matching_and_methods() {
    let (a, b) = (fixture("a.xyz"), fixture("b.xyz"));
    let v = emd_json(&a, &b, &["--matching"]);
    let targets: Vec<u64> = v["matching"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let mut sorted = targets.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..200).collect::<Vec<u64>>(), "a permutation");
    let exact = expected("a_b", "euclidean");
    let hungarian = emd_json(&a, &b, &["--method", "hungarian"]);
    assert_close(hungarian["distance"].as_f64().unwrap(), exact, "hungarian");
    let sinkhorn = emd_json(&a, &b, &["--method", "sinkhorn"]);
    // Its plan's cost ⟨P, C⟩ and, as `distance`, the cost of the plan's rounding to a matching.
    let plan = sinkhorn["transport_cost"].as_f64().unwrap();
    assert!(
        plan >= exact * (1.0 - 1e-3) && plan <= exact * 1.05,
        "sinkhorn {plan} vs {exact}"
    );
    let rounded = sinkhorn["distance"].as_f64().unwrap();
    assert!(
        rounded >= exact * (1.0 - BELOW_OPTIMUM_REL),
        "{rounded} < {exact}"
    );

    let out = deepemd(&["emd", a.to_str().unwrap(), b.to_str().unwrap()]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("EMD = 0.44326"), "{line}");
}

/// Runs `deepemd emd` on a bad file and returns its one-line error.
fn error_line(a: &Path, b: &Path) -> String {
    let out = deepemd(&["emd", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!out.status.success(), "accepted {}", a.display());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn bad_input_is_one_line_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("b.xyz");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let ascii_ply = std::fs::read_to_string(fixture("a_ascii.ply")).unwrap();
    let mut lines: Vec<&str> = ascii_ply.lines().collect();
    let first_vertex = lines.iter().position(|l| *l == "end_header").unwrap() + 1;
    lines[first_vertex + 17] = "nan 0.5 0.5 255";
    let nan_ply = write("b.ply", (lines.join("\n") + "\n").as_bytes());
    let binary = std::fs::read(fixture("a_binary.ply")).unwrap();

    let cases: Vec<(PathBuf, &str)> = vec![
        (nan_ply, "b.ply: vertex 17 has a NaN coordinate"),
        (
            write("inf.xyz", b"0 0 0\n1 inf 0\n"),
            "inf.xyz: line 2 has an infinite coordinate",
        ),
        (
            write("empty.xyz", b""),
            "empty.xyz: the file holds no points",
        ),
        (
            write("ragged.xyz", b"0 0 0 1 0 0\n1 1\n"),
            "ragged.xyz: line 2 has 2 values",
        ),
        (
            write("word.csv", b"x,y,z\n0,0,zero\n"),
            "word.csv: line 2: 'zero' is not a number",
        ),
        (write("one.xyz", b"0\n"), "one.xyz: line 1 has 1 values"),
        (
            write("cut.ply", &binary[..binary.len() - 7]),
            "cut.ply: the file ends inside vertex 199",
        ),
        (
            write("notnpy.npy", b"hello"),
            "notnpy.npy: not a NumPy .npy file",
        ),
        (
            write("noheader.ply", b"ply\nformat ascii 1.0\n"),
            "noheader.ply: no 'end_header' line",
        ),
        (
            write("short.off", b"OFF\n3 1 0\n0 0 0\n1 1 1\n"),
            "short.off: the header promises 3 vertices",
        ),
        (
            write("bin.pcd", b"FIELDS x y z\nPOINTS 1\nDATA binary\n"),
            "bin.pcd: DATA binary: only ASCII PCD is supported",
        ),
        (
            write("cloud.obj", b"v 0 0 0\n"),
            "cloud.obj: unknown extension 'obj'",
        ),
        (dir.path().join("missing.xyz"), "missing.xyz: No such file"),
    ];
    for (path, want) in &cases {
        let err = error_line(path, &good);
        assert!(
            err.contains(want),
            "for {}: got '{}', want '{want}'",
            path.display(),
            err.trim()
        );
    }
    // The file named second is named too.
    let err = error_line(&good, &cases[0].0);
    assert!(
        err.contains("b.ply: vertex 17 has a NaN coordinate"),
        "{err}"
    );
    // Mismatched dimensions name both files.
    let err = error_line(&fixture("a.xyz"), &fixture("a2.xyz"));
    assert!(
        err.contains("3-D") && err.contains("a2.xyz holds 2-D points"),
        "{err}"
    );
}

#[test]
fn wrong_npy_shape_and_dtype_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let npy = |descr: &str, shape: &str| {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0u8; 64]);
        let p = dir
            .path()
            .join(format!("x{}.npy", descr.len() + shape.len()));
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let good = fixture("b.xyz");
    let err = error_line(&npy("<f8", "(2, 4)"), &good);
    assert!(err.contains("expected (n, 2) or (n, 3)"), "{err}");
    let err = error_line(&npy("<i8", "(2, 3)"), &good);
    assert!(err.contains("dtype '<i8'"), "{err}");
    let err = error_line(&npy("<f8", "(20, 3)"), &good);
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn the_built_in_model_estimates_with_every_rounding() {
    let (a, b) = (fixture("a_binary.ply"), fixture("b.xyz"));
    let exact = expected("a_b", "euclidean");
    for rounding in ["argmax", "greedy", "sinkhorn-greedy", "refined"] {
        let v = emd_json(&a, &b, &["--method", "model", "--rounding", rounding]);
        let d = v["distance"].as_f64().unwrap();
        assert!(d.is_finite() && d > 0.0, "{rounding}: {d}");
        assert_eq!(v["rounding"].as_str().unwrap(), rounding, "{v}");
        assert_eq!(
            v["method"].as_str().unwrap(),
            format!("model/{rounding}"),
            "{v}"
        );
        if rounding == "argmax" {
            assert!(v["targets_hit_more_than_once"].as_u64().is_some());
        } else {
            // A bijection never costs less than the optimum.
            assert!(
                d >= exact * (1.0 - BELOW_OPTIMUM_REL),
                "{rounding}: {d} < {exact}"
            );
        }
    }
    // Model options given to another method are errors, not silently ignored.
    for extra in [
        ["--rounding", "refined"],
        ["--device", "cpu"],
        ["--model", "models/default"],
    ] {
        let mut args = vec![
            "emd",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--method",
            "exact",
        ];
        args.extend(extra);
        let out = deepemd(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("only to"),
            "{extra:?}: {err}"
        );
    }
    // 2-D clouds go through the 3-D model in the z = 0 plane.
    let v = emd_json(
        &fixture("a2.xyz"),
        &fixture("b2.npy"),
        &["--method", "model", "--rounding", "greedy"],
    );
    assert!(
        v["distance"].as_f64().unwrap()
            >= expected("a2_b2", "euclidean") * (1.0 - BELOW_OPTIMUM_REL)
    );
    // Unequal sizes, both orders: the smaller cloud is matched into the larger (the partial
    // convention), the bijective rounding costing at least the exact partial EMD.
    let b150 = fixture("b150.xyz");
    for (x, y) in [(&a, &b150), (&b150, &a)] {
        let partial = ["--unequal", "partial"];
        let exact = emd_json(x, y, &[&partial[..], &["--method", "exact"]].concat())["distance"]
            .as_f64()
            .unwrap();
        let refined = emd_json(
            x,
            y,
            &[
                &partial[..],
                &["--method", "model", "--rounding", "refined", "--matching"],
            ]
            .concat(),
        );
        let argmax = emd_json(
            x,
            y,
            &[&partial[..], &["--method", "model", "--matching"]].concat(),
        );
        let (n_a, n_b) = (
            refined["n_a"].as_u64().unwrap(),
            refined["n_b"].as_u64().unwrap(),
        );
        assert_ne!(n_a, n_b);
        for v in [&refined, &argmax] {
            let pairs = v["matching"].as_array().unwrap();
            assert_eq!(pairs.len() as u64, n_a.min(n_b));
            // Always pairs [i, j] for unequal sizes, whichever cloud is the smaller.
            assert!(pairs.iter().all(|p| {
                let p = p.as_array().unwrap();
                p.len() == 2 && p[0].as_u64().unwrap() < n_a && p[1].as_u64().unwrap() < n_b
            }));
        }
        assert!(refined["distance"].as_f64().unwrap() >= exact * (1.0 - BELOW_OPTIMUM_REL));
        assert!(argmax["targets_hit_more_than_once"].is_u64());
    }
    let out = deepemd(&[
        "emd",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--method",
        "model",
        "--device",
        "cuda",
    ]);
    if !cfg!(feature = "cuda") {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("--features cuda"),
            "{err}"
        );
    }
}

#[test]
fn unequal_sizes_under_both_conventions_say_which() {
    let (a, b) = (fixture("a.xyz"), fixture("b150.xyz"));
    // partial is scipy's rectangular assignment.
    let partial = emd_json(&a, &b, &["--unequal", "partial"]);
    assert_eq!(partial["unequal"], "partial");
    assert_close(
        partial["distance"].as_f64().unwrap(),
        expected("a_b150", "euclidean"),
        "partial",
    );
    // uniform: exact and the Hungarian reference (200 vs 150: the expanded 600 × 600
    // assignment) agree; the plan's masses sum to 1 and it has at most n + m − 1 entries.
    let exact = emd_json(&a, &b, &["--unequal", "uniform", "--matching"]);
    // uniform is the default, as in POT and the literature.
    let default = emd_json(&a, &b, &[]);
    assert_eq!(default["unequal"], "uniform");
    assert_eq!(default["distance"], exact["distance"]);
    let hungarian = emd_json(&a, &b, &["--unequal", "uniform", "--method", "hungarian"]);
    assert_eq!(exact["unequal"], "uniform");
    let value = exact["distance"].as_f64().unwrap();
    assert_close(value, hungarian["distance"].as_f64().unwrap(), "uniform");
    assert!(value > partial["distance"].as_f64().unwrap());
    let plan = exact["matching"].as_array().unwrap();
    assert!(plan.len() < 350);
    let mass: f64 = plan.iter().map(|e| e[2].as_f64().unwrap()).sum();
    assert!((mass - 1.0).abs() < 1e-12, "{mass}");
    // Sinkhorn computes both; its plan's cost is within its entropic bias.
    let sinkhorn = emd_json(&a, &b, &["--unequal", "uniform", "--method", "sinkhorn"]);
    let t = sinkhorn["transport_cost"].as_f64().unwrap();
    assert!(
        t >= value * (1.0 - 1e-3) && t <= value * 1.05,
        "{t} vs {value}"
    );
    // Equal sizes: no convention to report.
    let equal = emd_json(&a, &fixture("b.xyz"), &["--unequal", "uniform"]);
    assert!(equal.get("unequal").is_none());
    // The text line names the convention.
    let out = run_emd(&a, &b, &["--unequal", "uniform"]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.contains("uniform convention"), "{line}");
    // The model answers the partial question only, and says so, with the way to ask it.
    for extra in [&["--unequal", "uniform"][..], &[]] {
        let out = run_emd(&a, &b, &[&["--method", "model"], extra].concat());
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("partial convention")
                && err.contains("exact or sinkhorn")
                && err.contains("--unequal partial"),
            "{err}"
        );
    }
    // A misspelt convention is refused with the two names.
    let out = run_emd(&a, &b, &["--unequal", "balanced"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("partial or uniform")
    );
}

#[test]
fn the_method_a_result_prints_is_accepted_back_as_method() {
    let (a, b) = (fixture("a_binary.ply"), fixture("b.xyz"));
    for spec in [
        "exact",
        "hungarian",
        "sinkhorn",
        "model",
        "model/argmax",
        "model/greedy",
        "model/sinkhorn-greedy",
        "model/refined",
    ] {
        let v = emd_json(&a, &b, &["--method", spec]);
        let printed = v["method"].as_str().unwrap().to_string();
        let again = emd_json(&a, &b, &["--method", &printed]);
        assert_eq!(again["method"], v["method"], "{spec}");
        assert_eq!(again["distance"], v["distance"], "{spec}");
        assert_eq!(v["certificate_gap"].is_number(), spec == "exact", "{v}");
    }
    // The rounding given apart is the same spec; given twice, or to another method, an error.
    let apart = emd_json(&a, &b, &["--method", "model", "--rounding", "greedy"]);
    assert_eq!(apart["method"], "model/greedy");
    for (method, says) in [
        ("model/refined", "given twice"),
        ("exact", "only to the model"),
    ] {
        let out = run_emd(&a, &b, &["--method", method, "--rounding", "greedy"]);
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && e.contains(says), "{e}");
    }
}

//! `deepemd emd-batch`: two batches ((B, n, 3) .npy in C or Fortran order, HDF5 datasets) or a
//! list of path pairs → one JSON line per pair, each the value `deepemd emd` gives that pair.

mod common;

use std::path::Path;
use std::process::Output;

use common::{deepemd, expected, fixture};

use deepemd_core::tolerance::EXACT_VALUE_REL;
use serde_json::Value;

fn lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    any_lines(out)
}

/// The JSON lines of a run, whatever its exit status.
fn any_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_xyz(path: &Path) -> Vec<[f64; 3]> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

/// A little-endian f8 `.npy` of shape `(B, n, 3)`, in C or Fortran order.
fn write_batch(path: &Path, clouds: &[Vec<[f64; 3]>], fortran: bool) {
    let (b, n) = (clouds.len(), clouds[0].len());
    let at = |k: usize, i: usize, d: usize| clouds[k][i][d];
    let mut values = Vec::with_capacity(b * n * 3);
    if fortran {
        for d in 0..3 {
            for i in 0..n {
                for k in 0..b {
                    values.push(at(k, i, d));
                }
            }
        }
    } else {
        for k in 0..b {
            for i in 0..n {
                for d in 0..3 {
                    values.push(at(k, i, d));
                }
            }
        }
    }
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': {order}, 'shape': ({b}, {n}, 3), }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn batches_give_one_line_per_pair_with_each_pairs_value() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (read_xyz(&fixture("a.xyz")), read_xyz(&fixture("b.xyz")));
    let (xs, ys) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    write_batch(&xs, &[a.clone(), b.clone(), a.clone()], false);
    write_batch(&ys, &[b.clone(), a.clone(), a], true);
    let out = deepemd(&["emd-batch", xs.to_str().unwrap(), ys.to_str().unwrap()]);
    let v = lines(&out);
    assert_eq!(v.len(), 3);
    let want = expected("a_b", "euclidean");
    for (k, line) in v.iter().enumerate() {
        assert_eq!(line["pair"].as_u64(), Some(k as u64));
        assert!(line["a"].as_str().unwrap().ends_with(&format!("x.npy#{k}")));
        let d = line["distance"].as_f64().unwrap();
        let target = if k == 2 { 0.0 } else { want };
        assert!(
            (d - target).abs() <= EXACT_VALUE_REL * want,
            "pair {k}: {d} vs {target}"
        );
    }
    // HDF5 datasets: every item of `data`.
    let h5 = fixture("ab.h5");
    let v = lines(&deepemd(&[
        "emd-batch",
        h5.to_str().unwrap(),
        h5.to_str().unwrap(),
        "--method",
        "hungarian",
    ]));
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|l| l["distance"].as_f64() == Some(0.0)));
    assert!(v.iter().all(|l| l["method"] == "hungarian"));
}

#[test]
fn a_list_file_pairs_any_clouds() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.xyz", "b.xyz", "b_binary.ply", "ab.h5"] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    let list = dir.path().join("pairs.txt");
    std::fs::write(
        &list,
        "# pairs, relative to this file\na.xyz b.xyz\n\na.xyz\tb_binary.ply\nab.h5#0 ab.h5#1\n",
    )
    .unwrap();
    let v = lines(&deepemd(&["emd-batch", "--list", list.to_str().unwrap()]));
    assert_eq!(v.len(), 3);
    let want = expected("a_b", "euclidean");
    for line in &v[..2] {
        let d = line["distance"].as_f64().unwrap();
        assert!((d - want).abs() <= EXACT_VALUE_REL * want, "{line}");
    }
    // The HDF5 copy is float32: within its rounding.
    let d = v[2]["distance"].as_f64().unwrap();
    assert!((d - want).abs() < 1e-5, "{d}");

    // A malformed line names the file and line; mismatched batches say how many each has.
    std::fs::write(&list, "a.xyz b.xyz extra.xyz\n").unwrap();
    let out = deepemd(&["emd-batch", "--list", list.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("pairs.txt: line 1: expected two cloud files, found 3"),
        "{err}"
    );
    let h5 = fixture("ab.h5");
    let xs = dir.path().join("one.npy");
    write_batch(&xs, &[read_xyz(&fixture("a.xyz"))], false);
    let out = deepemd(&["emd-batch", xs.to_str().unwrap(), h5.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("holds 1 clouds"),
        "{err}"
    );
}

#[test]
fn bad_pairs_are_named_first_and_get_error_lines_while_the_good_ones_are_solved() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.xyz"), "0 0 0\n1 0 0\n0 1 0\n").unwrap();
    std::fs::write(d.join("b.xyz"), "0 0 1\n1 0 1\n0 1 1\n").unwrap();
    std::fs::write(d.join("c.xyz"), "0 0 1\n1 0 1\n0 1 1\n2 2 2\n").unwrap();
    std::fs::write(d.join("flat.xyz"), "0 0\n1 0\n0 1\n").unwrap();
    let list = d.join("pairs.txt");
    let run = |text: &str, extra: &[&str]| {
        std::fs::write(&list, text).unwrap();
        let mut args = vec!["emd-batch", "--list", list.to_str().unwrap()];
        args.extend(extra);
        deepemd(&args)
    };
    // A 3-D cloud against a 2-D one on the last line: with --fail-fast, refused before the
    // first pair is solved.
    let text = "a.xyz b.xyz\na.xyz b.xyz\nb.xyz flat.xyz\n";
    let out = run(text, &["--fail-fast"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{e}");
    assert!(
        e.contains("1 of the 3 pairs cannot be solved by exact, so none was (--fail-fast): pair 2"),
        "{e}"
    );
    assert!(e.contains("flat.xyz"), "{e}");
    // Without it: named on stderr first, the good pairs solved (with their times), the bad one
    // given an error line in its place, and the exit status says so.
    let out = run(text, &[]);
    let e = String::from_utf8_lossy(&out.stderr);
    let v = any_lines(&out);
    assert!(!out.status.success() && v.len() == 3, "{e}");
    assert!(
        v[..2]
            .iter()
            .all(|l| l["distance"].is_number() && l["seconds"].is_number())
    );
    assert!(
        v[2]["error"]
            .as_str()
            .unwrap()
            .contains("different dimensions")
            && v[2]["distance"].is_null(),
        "{}",
        v[2]
    );
    let warned = e
        .find("warning: 1 of the 3 pairs cannot be solved by exact")
        .unwrap();
    let failed = e.find("1 of the 3 pairs failed").unwrap();
    assert!(warned < failed, "{e}");
    // A missing file fails the pairs that name it, and only those.
    let out = run("a.xyz b.xyz\nmissing.xyz b.xyz\nb.xyz a.xyz\n", &[]);
    let v = any_lines(&out);
    assert!(!out.status.success() && v.len() == 3);
    assert!(v[0]["distance"].is_number() && v[2]["distance"].is_number());
    let why = v[1]["error"].as_str().unwrap();
    assert!(
        why.contains("missing.xyz") && why.contains("line 2"),
        "{why}"
    );
    // A convention the method does not compute for unequal sizes, likewise.
    let out = run(
        "a.xyz b.xyz\na.xyz c.xyz\n",
        &["--method", "model", "--unequal", "uniform", "--fail-fast"],
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{e}");
    assert!(
        e.contains("pair 1") && e.contains("partial convention"),
        "{e}"
    );
    // --sample on two batches is refused rather than ignored.
    let batch = d.join("batch.npy");
    write_batch(&batch, &[read_xyz(&d.join("a.xyz"))], false);
    let out = deepemd(&[
        "emd-batch",
        batch.to_str().unwrap(),
        batch.to_str().unwrap(),
        "--sample",
        "10",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("--sample samples the meshes of a --list"),
        "{e}"
    );
    // A mesh named on many lines is read, and warned about, once.
    let mesh = d.join("tetra.off");
    std::fs::write(
        &mesh,
        "OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n",
    )
    .unwrap();
    let out = run(&"tetra.off tetra.off\n".repeat(50), &[]);
    assert_eq!(lines(&out).len(), 50);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(e.matches("warning:").count(), 1, "{e}");
    // Sample counts outside the bound are an error naming it.
    let out = run("tetra.off tetra.off\n", &["--sample", "100000000"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("1 to 16777216"), "{e}");
}

//! `deepemd gen-metrics` against scipy's values through files, its bad inputs, and
//! `deepemd vae train | sample` end to end on the tiny mesh set of deepemd-vae's tests.

mod common;

use std::path::{Path, PathBuf};

use common::{deepemd, write_npy};
use deepemd_data::hdf5::{ShapeFile, WriteOptions};
use serde_json::Value;

/// The tests of this file run one at a time: HDF5 opens files without close-on-exec and locks
/// them, so a `deepemd` child spawned by one test while another test is writing an HDF5 file
/// inherits that file's lock and the reader of the finished file is refused ("unable to lock
/// file", seen in CI-like runs).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn fixture() -> Value {
    serde_json::from_str(include_str!(
        "../../deepemd-metrics/tests/fixtures/gen_metrics.json"
    ))
    .unwrap()
}

/// Writes clouds (`[[x, y, z], ...]` per cloud) as a ModelNet40-layout HDF5 file.
fn write_set(path: &Path, clouds: &[Vec<f32>], points: usize) {
    ShapeFile {
        data: clouds.concat(),
        n_items: clouds.len(),
        n_points: points,
        dim: 3,
        labels: vec![0; clouds.len()],
        pid: None,
        mesh_id: None,
    }
    .write(path, WriteOptions::default())
    .unwrap();
}

fn flat(v: &Value) -> (Vec<Vec<f32>>, usize) {
    let clouds: Vec<Vec<f32>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_array()
                .unwrap()
                .iter()
                .flat_map(|p| {
                    p.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap() as f32)
                })
                .collect()
        })
        .collect();
    let points = clouds[0].len() / 3;
    (clouds, points)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn gen_metrics_pruned_brute_force_and_pointflow_formats_agree() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let case = fixture["cases"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let (reference, points) = flat(&case["reference"]);
    let (generated, _) = flat(&case["generated"]);
    let (r, g) = (dir.path().join("r.h5"), dir.path().join("g.h5"));
    write_set(&r, &reference, points);
    write_set(&g, &generated, points);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "gen-metrics",
            "--reference",
            r.to_str().unwrap(),
            "--generated",
            g.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = deepemd(&args);
        assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let json = |extra: &[&str]| -> Value { serde_json::from_str(&run(extra)).unwrap() };
    let (pruned, brute) = (
        json(&["--json"]),
        json(&["--brute-force", "--format", "json"]),
    );
    let (nr, ng) = (reference.len(), generated.len());
    let pairs = nr * ng + nr * (nr - 1) / 2 + ng * (ng - 1) / 2;
    assert_eq!(pruned["pairs"].as_u64().unwrap() as usize, pairs);
    assert_eq!(brute["exact_solves"].as_u64().unwrap() as usize, pairs);
    assert!(pruned["exact_solves"].as_u64().unwrap() as usize <= pairs);
    for (key, value) in pruned.as_object().unwrap() {
        if !["seconds", "exact_solves", "dual_bounds"].contains(&key.as_str()) {
            assert_eq!(value, &brute[key], "{key}");
        }
    }
    let pf = json(&["--format", "pointflow"]);
    for (theirs, ours) in [
        ("lgan_mmd-EMD", "mmd_emd"),
        ("lgan_cov-EMD", "cov_emd"),
        ("lgan_mmd_smp-EMD", "mmd_smp_emd"),
        ("1-NN-EMD-acc", "nna_emd"),
        ("1-NN-EMD-acc_t", "nna_emd_reference"),
        ("1-NN-EMD-acc_f", "nna_emd_generated"),
        ("lgan_mmd-CD", "mmd_cd"),
        ("1-NN-CD-acc_t", "nna_cd_reference"),
        ("jsd", "jsd"),
    ] {
        assert_eq!(pf[theirs], pruned[ours], "{theirs}");
    }
    assert!(pf["jsd"].as_f64().unwrap() >= 0.0);
    let table = run(&[]);
    assert!(table.contains(&format!("{pairs} pairs")), "{table}");
    assert!(
        table.contains("1-NNA generated") && table.contains("JSD"),
        "{table}"
    );
    // On disk: the pruned search's answers, or with --brute-force every distance; the same
    // metrics either way.
    for (extra, manifest) in [
        (None, "nearest.json"),
        (Some("--brute-force"), "distances.json"),
    ] {
        let folder = dir.path().join(manifest);
        let mut args = vec!["--json", "--out", folder.to_str().unwrap()];
        args.extend(extra);
        let m = json(&args);
        assert!(folder.join(manifest).exists(), "{manifest}");
        for key in ["mmd_emd", "cov_emd", "nna_emd", "nna_cd_generated", "jsd"] {
            assert_eq!(m[key], pruned[key], "{manifest}: {key}");
        }
    }
}

#[test]
fn gen_metrics_json_matches_scipy_through_hdf5_files() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    for (name, case) in fixture["cases"].as_object().unwrap() {
        let (reference, points) = flat(&case["reference"]);
        let (generated, _) = flat(&case["generated"]);
        let (r, g) = (dir.path().join("r.h5"), dir.path().join("g.h5"));
        write_set(&r, &reference, points);
        write_set(&g, &generated, points);
        let out = deepemd(&[
            "gen-metrics",
            "--reference",
            r.to_str().unwrap(),
            "--generated",
            g.to_str().unwrap(),
            "--json",
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let m: Value = serde_json::from_slice(&out.stdout).unwrap();
        // The files hold f32 coordinates, scipy saw f64: agreement to f32 precision.
        for key in [
            "mmd_emd", "cov_emd", "nna_emd", "mmd_cd", "cov_cd", "nna_cd",
        ] {
            let (ours, theirs) = (m[key].as_f64().unwrap(), case[key].as_f64().unwrap());
            assert!(
                (ours - theirs).abs() <= 1e-5 * theirs.abs().max(1.0),
                "{name}: {key} {ours} vs {theirs}"
            );
        }
        assert_eq!(m["n_reference"].as_u64().unwrap() as usize, reference.len());
        assert_eq!(m["n_generated"].as_u64().unwrap() as usize, generated.len());
        assert_eq!(m["points"].as_u64().unwrap() as usize, points);
        assert!(m["seconds"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn gen_metrics_bad_inputs_are_one_line_errors_naming_the_file() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let cloud =
        |n: usize, shift: f32| -> Vec<f32> { (0..3 * n).map(|k| k as f32 * 0.1 + shift).collect() };
    let r = dir.path().join("ref.h5");
    write_set(&r, &[cloud(8, 0.0), cloud(8, 1.0)], 8);
    let g5 = dir.path().join("gen5.h5");
    write_set(&g5, &[cloud(5, 0.0)], 5);
    let mut nan = cloud(8, 0.0);
    nan[7] = f32::NAN;
    // The HDF5 writer refuses NaN, so the poisoned set is an .npy file.
    let gnan = dir.path().join("gen_nan.npy");
    write_npy(&gnan, &nan, (1, 8));
    let missing = dir.path().join("missing.h5");
    let run = |g: &PathBuf| {
        deepemd(&[
            "gen-metrics",
            "--reference",
            r.to_str().unwrap(),
            "--generated",
            g.to_str().unwrap(),
        ])
    };
    for (g, must) in [
        (&g5, vec!["ref.h5", "gen5.h5", "point count"]),
        (&gnan, vec!["gen_nan.npy"]),
        (&missing, vec!["missing.h5"]),
    ] {
        let out = run(g);
        let err = stderr(&out);
        assert!(!out.status.success(), "{}: accepted", g.display());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        for m in must {
            assert!(err.contains(m), "'{m}' not in: {err}");
        }
    }
    // The table names every metric.
    let out = run(&r.clone());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for m in ["MMD", "COV", "1-NNA", "exact EMD", "Chamfer"] {
        assert!(text.contains(m), "{text}");
    }
}

#[test]
fn vae_train_resume_sample_and_evaluate_end_to_end() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let meshes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deepemd-vae/tests/fixtures/meshes");
    let run = dir.path().join("run");
    let manifest = meshes.join("manifest.tsv");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "vae",
            "train",
            "--run",
            run.to_str().unwrap(),
            "--meshes",
            meshes.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "--quiet",
        ];
        args.extend(extra);
        deepemd(&args)
    };
    // A new run needs a loss; an unknown loss lists the choices.
    let out = train(&["--steps", "2"]);
    assert!(
        !out.status.success() && stderr(&out).contains("--loss"),
        "{}",
        stderr(&out)
    );
    let out = train(&["--loss", "emd", "--steps", "2"]);
    assert!(
        !out.status.success() && stderr(&out).contains("deepemd-refined"),
        "{}",
        stderr(&out)
    );

    let out = train(&[
        "--loss", "chamfer", "--steps", "3", "--points", "16", "--batch", "2", "--latent", "4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("held-out reconstruction EMD"),
        "{}",
        stderr(&out)
    );
    assert!(run.join("model/model.safetensors").exists());
    // Training again into the finished folder is refused without --resume.
    let out = train(&[
        "--loss", "chamfer", "--steps", "3", "--points", "16", "--batch", "2", "--latent", "4",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("--resume"),
        "{}",
        stderr(&out)
    );

    let samples = dir.path().join("samples.h5");
    let out = deepemd(&[
        "vae",
        "sample",
        "--run",
        run.to_str().unwrap(),
        "--count",
        "5",
        "--out",
        samples.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = deepemd(&[
        "gen-metrics",
        "--reference",
        samples.to_str().unwrap(),
        "--generated",
        samples.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["points"].as_u64(), Some(16));
    assert_eq!(m["n_generated"].as_u64(), Some(5));
    // A set against itself: every reference cloud is its own nearest generated cloud.
    assert_eq!(m["mmd_emd"].as_f64(), Some(0.0));
    assert_eq!(m["cov_emd"].as_f64(), Some(1.0));

    let out = deepemd(&[
        "vae",
        "sample",
        "--run",
        dir.path().join("none").to_str().unwrap(),
        "--out",
        "x.h5",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("no trained VAE"),
        "{}",
        stderr(&out)
    );
}

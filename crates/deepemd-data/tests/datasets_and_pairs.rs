//! Dataset building (manifest checks, closed meshes, synthetic sets) and the pair generator.

use std::path::{Path, PathBuf};

use deepemd_core::{Cost, EmdEstimator, EmdRequest, Pairing};
use deepemd_data::datasets::{
    MeshDatasetOptions, MeshEntry, SyntheticOptions, build_mesh_dataset, build_synthetic_2d,
    build_synthetic_3d, read_manifest,
};
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{
    PairGenerator, PairKind, PairMix, PairShard, PairsConfig, prepare_pairs, read_pair_set,
};
use deepemd_data::sharding::Shard;
use deepemd_solvers::{Exact, Hungarian, Sinkhorn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cgal-mini")
}

fn entry(file: &str, bytes: &[u8], category: &str, split: &str) -> MeshEntry {
    MeshEntry {
        file: file.into(),
        category: category.into(),
        split: split.into(),
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        license: "test".into(),
    }
}

const CUBE: &str = "OFF\n8 6 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 0 1\n1 0 1\n1 1 1\n0 1 1\n4 0 3 2 1\n4 4 5 6 7\n4 0 1 5 4\n4 1 2 6 5\n4 2 3 7 6\n4 3 0 4 7\n";
const OPEN_BOX: &str = "OFF\n8 5 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 0 1\n1 0 1\n1 1 1\n0 1 1\n4 0 3 2 1\n4 0 1 5 4\n4 1 2 6 5\n4 2 3 7 6\n4 3 0 4 7\n";

#[test]
fn mesh_dataset_checks_checksums_and_closedness() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cube.off"), CUBE).unwrap();
    std::fs::write(dir.path().join("box.off"), OPEN_BOX).unwrap();
    let opts = MeshDatasetOptions {
        points: 256,
        samples_train: 3,
        samples_eval: 2,
        seed: 1,
    };
    let out = dir.path().join("out");
    let manifest = vec![
        entry("cube.off", CUBE.as_bytes(), "box", "train"),
        entry("cube.off", CUBE.as_bytes(), "box", "test"),
    ];
    build_mesh_dataset(dir.path(), &manifest, &out, opts, &|_| {}).unwrap();
    let train = load_modelnet40(&out, "train").unwrap();
    assert_eq!((train.shapes.n_items, train.shapes.n_points), (3, 256));
    assert_eq!(train.shapes.mesh_id, Some(vec![0, 0, 0]));
    // Each shape is centered with unit radius.
    for k in 0..3 {
        let c = train.shapes.cloud(k).unwrap();
        let center = c.centroid();
        assert!(center.iter().all(|x| x.abs() < 1e-5), "{center:?}");
        assert!((c.max_radius_from(&[0.0; 3]) - 1.0).abs() < 1e-5);
    }
    assert_eq!(load_modelnet40(&out, "test").unwrap().shapes.n_items, 2);
    // Deterministic for the seed.
    let again = dir.path().join("again");
    build_mesh_dataset(dir.path(), &manifest, &again, opts, &|_| {}).unwrap();
    assert_eq!(
        load_modelnet40(&again, "train").unwrap().shapes,
        train.shapes
    );

    let wrong_sum = vec![MeshEntry {
        sha256: "00".into(),
        ..manifest[0].clone()
    }];
    let err = build_mesh_dataset(dir.path(), &wrong_sum, &out, opts, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("cube.off") && err.contains("SHA-256"), "{err}");
    let open = vec![entry("box.off", OPEN_BOX.as_bytes(), "box", "train")];
    let err = build_mesh_dataset(dir.path(), &open, &out, opts, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("box.off") && err.contains("not closed"),
        "{err}"
    );
}

#[test]
fn the_committed_manifest_is_well_formed() {
    let m = read_manifest(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/cgal/manifest.tsv"),
    )
    .unwrap();
    assert_eq!(m.len(), 55);
    assert!(m.iter().all(|e| e.sha256.len() == 64));
    // Held-out categories never appear in training.
    let held: Vec<&str> = m
        .iter()
        .filter(|e| e.split == "heldout")
        .map(|e| e.category.as_str())
        .collect();
    assert!(
        m.iter()
            .filter(|e| e.split == "train")
            .all(|e| !held.contains(&e.category.as_str()))
    );
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "a.off\tx\tvalidation\t00\tCC0\n").unwrap();
    assert!(
        read_manifest(bad.path())
            .unwrap_err()
            .to_string()
            .contains("unknown split 'validation'")
    );
}

#[test]
fn synthetic_sets_have_every_class_in_both_splits() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SyntheticOptions {
        points: 300,
        train_per_class: 2,
        test_per_class: 1,
        seed: 3,
    };
    build_synthetic_2d(&dir.path().join("s2"), opts).unwrap();
    build_synthetic_3d(&dir.path().join("s3"), opts).unwrap();
    let s2 = load_modelnet40(&dir.path().join("s2"), "train").unwrap();
    assert_eq!(
        (s2.shapes.dim, s2.class_names.len(), s2.shapes.n_items),
        (2, 7, 14)
    );
    let s3 = load_modelnet40(&dir.path().join("s3"), "test").unwrap();
    assert_eq!(
        (s3.shapes.dim, s3.class_names.len(), s3.shapes.n_items),
        (3, 5, 5)
    );
    assert_eq!(
        s3.class_names,
        ["sphere", "cube", "cylinder", "cone", "torus"]
    );
}

#[test]
fn pairs_are_normalized_shuffled_deterministic_and_of_every_kind() {
    let pool = load_modelnet40(&mini(), "train").unwrap().shapes;
    let generator = PairGenerator::new(&pool, 128, PairMix::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let pairs: Vec<_> = (0..200)
        .map(|_| generator.pair(&mut rng).unwrap())
        .collect();
    for kind in PairKind::ALL {
        assert!(pairs.iter().any(|p| p.kind == kind), "no {kind:?}");
    }
    for p in &pairs {
        assert_eq!((p.a.len(), p.b.len()), (128, 128));
        let r =
            p.a.max_radius_from(&[0.0; 3])
                .max(p.b.max_radius_from(&[0.0; 3]));
        assert!((r - 1.0).abs() < 1e-9, "joint radius {r}");
    }
    // Same shape resampled: small EMD; different shapes: larger, on average.
    let mean_emd = |kind: PairKind| {
        let v: Vec<f64> = pairs
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| {
                Hungarian
                    .estimate(&p.a, &p.b, EmdRequest::new(Cost::Euclidean))
                    .unwrap()
                    .distance
            })
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(mean_emd(PairKind::SameShapeResampled) < mean_emd(PairKind::DifferentShapes));
    let mut rng2 = ChaCha8Rng::seed_from_u64(9);
    let first = generator.pair(&mut rng2).unwrap();
    assert_eq!(first.a, pairs[0].a);
    assert!(PairGenerator::new(&pool, 5000, PairMix::default()).is_err());
    assert!(
        PairGenerator::new(
            &pool,
            64,
            PairMix {
                different: -1.0,
                ..PairMix::default()
            }
        )
        .is_err()
    );
}

/// `prepare_pairs` unsharded, labeled by `exact`, without progress.
fn prepare_whole(
    pool: &deepemd_data::hdf5::ShapeFile,
    config: &PairsConfig,
    out: &Path,
) -> deepemd_data::Result<deepemd_data::pairs::PrepareReport> {
    prepare_pairs(
        pool,
        config,
        out,
        &Exact::default(),
        Shard::WHOLE,
        &|_, _| {},
    )
}

#[test]
fn shards_hold_exact_matchings_and_resume_without_loss_or_duplication() {
    let pool = load_modelnet40(&mini(), "train").unwrap().shapes;
    let dir = tempfile::tempdir().unwrap();
    let config = PairsConfig {
        source: "cgal-mini:train".into(),
        shapes_sha256: pool.fingerprint(),
        points: 64,
        pairs: 25,
        shard_size: 10,
        seed: 4,
        mix: PairMix::default(),
    };
    let full = dir.path().join("full");
    let report = prepare_whole(&pool, &config, &full).unwrap();
    assert_eq!(
        (report.shards, report.skipped, report.pairs_made),
        (3, 0, 25)
    );
    let shards = read_pair_set(&full).unwrap();
    assert_eq!(
        shards.iter().map(PairShard::len).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    for (k, shard) in shards.iter().enumerate() {
        for m in 0..shard.len() {
            let (a, b, matching, emd, _) = shard.pair(m).unwrap();
            // The stored matching attains the stored value, which is the exact EMD of the
            // stored (f32-rounded) clouds up to that rounding.
            let stored = deepemd_core::Emd::of_pairing(
                &a,
                &b,
                Pairing::Bijection(matching),
                Cost::Euclidean,
                false,
            )
            .unwrap();
            let exact = Hungarian
                .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
                .unwrap()
                .distance;
            assert!((stored.distance - emd).abs() < 1e-6, "shard {k} pair {m}");
            assert!(
                (exact - emd).abs() < 1e-6,
                "shard {k} pair {m}: {exact} vs {emd}"
            );
        }
    }
    // An interrupted run: only shard 0 was finished, shard 1 was being written (its temporary
    // file never renamed). The rerun completes the set identically.
    let partial = dir.path().join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::copy(full.join("pairs.json"), partial.join("pairs.json")).unwrap();
    for f in ["pairs-00000.h5", "pairs-00000.h5.receipt", "pairs-00001.h5"] {
        std::fs::copy(full.join(f), partial.join(f)).unwrap();
    }
    std::fs::write(partial.join(".pairs-00001.h5.999.tmp"), b"half").unwrap();
    let report = prepare_whole(&pool, &config, &partial).unwrap();
    // Shard 1 is there but has no receipt (killed before it was recorded): made again.
    assert_eq!(
        (report.skipped, report.pairs_made, report.remade),
        (1, 15, 1)
    );
    assert!(
        report
            .first_remade
            .unwrap()
            .contains("pairs-00001.h5: not trusted: it has no receipt")
    );
    assert_eq!(read_pair_set(&partial).unwrap(), shards);
    assert!(
        !partial.join(".pairs-00001.h5.999.tmp").exists(),
        "the killed run's temporary file is cleaned up"
    );
    // A corrupt shard is remade, not trusted.
    std::fs::write(partial.join("pairs-00002.h5"), b"garbage").unwrap();
    let report = prepare_whole(&pool, &config, &partial).unwrap();
    assert_eq!(
        (report.skipped, report.pairs_made, report.remade),
        (2, 5, 1)
    );
    assert_eq!(read_pair_set(&partial).unwrap(), shards);
    // Other settings in the same folder are refused.
    let other = PairsConfig { seed: 5, ..config };
    let err = prepare_whole(&pool, &other, &partial)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other settings"), "{err}");
}

/// Pairs are labeled only by an exact solver: an approximate one is refused by name.
#[test]
fn labeling_refuses_an_approximate_solver() {
    let pool = load_modelnet40(&mini(), "test").unwrap().shapes;
    let err = deepemd_data::pairs::generate_labeled_pairs(
        &pool,
        (32, 32),
        PairMix::default(),
        1,
        0,
        2,
        &Sinkhorn::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("sinkhorn is not an exact solver"), "{err}");
    let ok = deepemd_data::pairs::generate_labeled_pairs(
        &pool,
        (32, 32),
        PairMix::default(),
        1,
        0,
        2,
        &Exact::default(),
    )
    .unwrap();
    assert_eq!(ok.len(), 2);
}

/// Unbalanced pairs: every kind at both orientations, labeled by the partial matching that
/// covers the smaller cloud (the exact value equals Hungarian's on the rectangle).
#[test]
fn unbalanced_pairs_have_their_sizes_and_partial_exact_labels() {
    let pool = load_modelnet40(&mini(), "train").unwrap().shapes;
    for sizes in [(32, 100), (100, 32)] {
        let generator = PairGenerator::with_sizes(&pool, sizes, PairMix::default()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let pairs: Vec<_> = (0..200)
            .map(|_| generator.pair(&mut rng).unwrap())
            .collect();
        for kind in PairKind::ALL {
            assert!(
                pairs.iter().any(|p| p.kind == kind),
                "no {kind:?} at {sizes:?}"
            );
        }
        assert!(pairs.iter().all(|p| (p.a.len(), p.b.len()) == sizes));
        let labeled = deepemd_data::pairs::generate_labeled_pairs(
            &pool,
            sizes,
            PairMix::default(),
            5,
            0,
            6,
            &Exact::default(),
        )
        .unwrap();
        for p in &labeled {
            assert!(matches!(p.matching, deepemd_core::Pairing::Partial(_)));
            assert_eq!(p.matching.len(), 32);
            let reference = Hungarian
                .estimate(
                    &p.a,
                    &p.b,
                    EmdRequest::new(Cost::Euclidean).with_unequal(deepemd_core::Unequal::Partial),
                )
                .unwrap()
                .distance;
            assert!(
                (p.emd - reference).abs() <= 1e-9 * reference,
                "{} vs {reference}",
                p.emd
            );
        }
    }
    assert!(PairGenerator::with_sizes(&pool, (32, 5000), PairMix::default()).is_err());
}

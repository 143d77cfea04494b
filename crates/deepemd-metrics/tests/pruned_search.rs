//! The pruned nearest-neighbour search against the brute force, and its bounds against the
//! exact EMD, on real clouds (the CGAL meshes of `datasets/fixtures/cgal-mini`) and random
//! ones, with duplicate and near-duplicate clouds (ties).

use std::path::Path;

use deepemd_core::{Cost, PointCloud};
use deepemd_metrics::{
    CloudSketch, GenerationMetrics, Search, exact_emd, generation_metrics_with,
    nearest_distance_bound,
};
use deepemd_solvers::dual_lower_bound;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every cloud of the mini dataset (all splits), cut to its first `points` points (the
/// samples are in random order, so this is a smaller sample of the same surface).
fn real_clouds(points: usize) -> Vec<PointCloud> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cgal-mini");
    let mut out = Vec::new();
    for split in ["train", "test", "heldout"] {
        let shapes = deepemd_data::hdf5::load_modelnet40(&dir, split)
            .unwrap()
            .shapes;
        for k in 0..shapes.n_items {
            let c = shapes.cloud(k).unwrap();
            let flat = c.as_flat()[..points * c.dim()].to_vec();
            out.push(PointCloud::from_flat(c.dim(), flat).unwrap());
        }
    }
    out
}

fn random_cloud(rng: &mut ChaCha8Rng, n: usize, dim: usize, spread: f64) -> PointCloud {
    let flat = (0..n * dim).map(|_| rng.random::<f64>() * spread).collect();
    PointCloud::from_flat(dim, flat).unwrap()
}

fn nudged(c: &PointCloud, by: f64) -> PointCloud {
    let flat = c.as_flat().iter().map(|x| x + by).collect();
    PointCloud::from_flat(c.dim(), flat).unwrap()
}

/// Both searches on the same sets: every metric equal to the bit, the work reported.
fn assert_same(reference: &[PointCloud], generated: &[PointCloud]) -> GenerationMetrics {
    let run =
        |search| generation_metrics_with(reference, generated, ("r", "g"), search, &|| {}).unwrap();
    let (pruned, brute) = (run(Search::Pruned), run(Search::BruteForce));
    let without_work = |m: &GenerationMetrics| GenerationMetrics {
        exact_solves: 0,
        dual_bounds: 0,
        seconds: 0.0,
        ..m.clone()
    };
    assert_eq!(without_work(&pruned), without_work(&brute));
    assert_eq!(brute.exact_solves, brute.pairs);
    assert!(pruned.exact_solves <= pruned.pairs);
    pruned
}

#[test]
fn pruned_equals_brute_force_on_real_clouds_with_duplicates() {
    let clouds = real_clouds(192);
    assert!(clouds.len() >= 20, "{} clouds", clouds.len());
    let mut reference: Vec<PointCloud> = clouds[..10].to_vec();
    let mut generated: Vec<PointCloud> = clouds[10..20].to_vec();
    // Ties: an exact copy across the sets, a copy within a set, and near-duplicates at the
    // scale of rounding and a little above it.
    generated.push(reference[3].clone());
    reference.push(reference[5].clone());
    generated.push(nudged(&reference[7], 1e-15));
    generated.push(nudged(&generated[2], 1e-9));
    let m = assert_same(&reference, &generated);
    // The pruning does prune on real shapes.
    assert!(
        m.exact_solves * 2 < m.pairs,
        "{} of {} pairs solved",
        m.exact_solves,
        m.pairs
    );
}

#[test]
fn pruned_equals_brute_force_on_random_sets_in_2d_and_3d() {
    let mut rng = ChaCha8Rng::seed_from_u64(30);
    for (dim, n, nr, ng) in [(2, 40, 6, 9), (3, 64, 8, 5), (3, 17, 1, 4), (2, 8, 5, 1)] {
        let mut set = |k: usize| -> Vec<PointCloud> {
            (0..k)
                .map(|_| {
                    let spread = rng.random_range(0.5..2.0);
                    random_cloud(&mut rng, n, dim, spread)
                })
                .collect()
        };
        let reference = set(nr);
        let mut generated = set(ng);
        generated.push(reference[0].clone());
        assert_same(&reference, &generated);
    }
}

#[test]
fn every_bound_is_at_most_the_exact_emd() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let real = real_clouds(256);
    let mut pairs: Vec<(PointCloud, PointCloud)> = Vec::new();
    for k in 0..real.len().min(24) {
        pairs.push((real[k].clone(), real[(k * 7 + 3) % real.len()].clone()));
    }
    for _ in 0..60 {
        let dim = rng.random_range(2..=3);
        let n = rng.random_range(1..120);
        let (s1, s2) = (rng.random_range(0.01..3.0), rng.random_range(0.01..3.0));
        let a = random_cloud(&mut rng, n, dim, s1);
        let b = nudged(
            &random_cloud(&mut rng, n, dim, s2),
            rng.random_range(-1.0..1.0),
        );
        pairs.push((a, b));
    }
    let mut ratios = Vec::new();
    for (a, b) in &pairs {
        let exact = exact_emd(a, b).unwrap();
        let sketch = CloudSketch::new(a).lower_bound(&CloudSketch::new(b));
        let dual = dual_lower_bound(a, b, Cost::Euclidean).unwrap();
        let nearest = nearest_distance_bound(a, b);
        let slack = 1e-12 * exact.max(1.0);
        assert!(sketch <= exact + slack, "sketch {sketch} > exact {exact}");
        assert!(
            nearest <= exact + slack,
            "nearest {nearest} > exact {exact}"
        );
        assert!(dual <= exact + slack, "dual {dual} > exact {exact}");
        ratios.push(dual / exact);
    }
    // And they are worth computing: the dual bound on real pairs of different shapes is
    // close to the EMD.
    let real_ratios = &ratios[..real.len().min(24)];
    let worst = real_ratios.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(worst > 0.75, "dual bound / exact down to {worst}");
}

#[test]
fn the_dual_bound_refuses_unequal_sizes() {
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let a = random_cloud(&mut rng, 5, 3, 1.0);
    let b = random_cloud(&mut rng, 6, 3, 1.0);
    let err = dual_lower_bound(&a, &b, Cost::Euclidean).unwrap_err();
    assert!(err.to_string().contains("5 and 6"), "{err}");
}

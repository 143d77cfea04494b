//! Clouds of different sizes, both conventions: `exact` (sparse, certified) against the
//! Hungarian reference (scipy's algorithm; for `uniform` on the expanded assignment problem),
//! brute force on tiny inputs, and the certificate's own checks.

mod common;

use common::{brute_force_emd, rel_diff, rng};
use deepemd_core::tolerance::BELOW_OPTIMUM_REL;
use deepemd_core::tolerance::EXACT_VALUE_REL;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Pairing, PointCloud, TransportPlan, Unequal};
use deepemd_solvers::{
    CertificateTolerance, Exact, ExactParams, Hungarian, MAX_UNIFORM_LCM, Sinkhorn, WarmStart,
    verify_certificate,
};
use rand::Rng;
use rand_distr::{Distribution, Normal};

/// Uniform in a cube, a clustered cloud, or a thin noisy circle: kinds whose optima are
/// not local (clusters of different weights force long-range transport).
fn cloud(kind: usize, n: usize, dim: usize, r: &mut impl Rng) -> PointCloud {
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut flat = Vec::with_capacity(n * dim);
    for k in 0..n {
        for d in 0..dim {
            let x = match kind {
                0 => r.random::<f64>(),
                1 => {
                    let centre = if k % 3 == 0 { 5.0 } else { 0.0 };
                    centre + 0.3 * normal.sample(r)
                }
                _ => {
                    let t = k as f64 / n as f64 * std::f64::consts::TAU;
                    let base = if d == 0 {
                        t.cos()
                    } else if d == 1 {
                        t.sin()
                    } else {
                        0.0
                    };
                    base + 0.05 * normal.sample(r)
                }
            };
            flat.push(x);
        }
    }
    PointCloud::from_flat(dim, flat).unwrap()
}

fn request(cost: Cost, unequal: Unequal) -> EmdRequest {
    EmdRequest::new(cost).with_unequal(unequal)
}

#[test]
fn both_conventions_equal_the_hungarian_reference_on_random_instances() {
    let mut r = rng(17);
    let exact = Exact::default();
    for case in 0..160 {
        let (n, m) = loop {
            let (n, m) = (r.random_range(1..70), r.random_range(1..90));
            if n != m && n / gcd(n, m) * m <= 600 {
                break (n, m);
            }
        };
        let dim = 2 + case % 2;
        let (a, b) = (
            cloud(case % 3, n, dim, &mut r),
            cloud((case / 3) % 3, m, dim, &mut r),
        );
        for cost in Cost::ALL {
            for unequal in Unequal::ALL {
                let req = request(cost, unequal);
                let want = Hungarian.estimate(&a, &b, req).unwrap();
                let got = exact.solve(&a, &b, req.with_gradient()).unwrap();
                assert!(
                    rel_diff(got.emd.distance, want.distance) <= EXACT_VALUE_REL,
                    "case {case}: {n} vs {m}, {cost}, {unequal}: exact {} vs hungarian {}",
                    got.emd.distance,
                    want.distance
                );
                match (unequal, &got.emd.pairing) {
                    (Unequal::Partial, Pairing::Partial(p)) => {
                        assert_eq!(p.pairs().len(), n.min(m))
                    }
                    (Unequal::Uniform, Pairing::Plan(p)) => {
                        // Sparse: a vertex has at most n + m − 1 nonzeros (these random clouds
                        // have no ties, so the plan found is one).
                        assert!(
                            p.entries().len() < n + m,
                            "case {case}: {} entries",
                            p.entries().len()
                        );
                    }
                    (u, p) => panic!("{u} gave a {}", p.kind()),
                }
                // The duals certify the answer independently.
                let cert = verify_certificate(
                    &a,
                    &b,
                    cost,
                    &got.emd.pairing,
                    &got.duals,
                    CertificateTolerance::default(),
                )
                .unwrap();
                assert!(cert.gap() <= 1e-9 * cert.primal.abs().max(1e-12));
            }
        }
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The uniform transport LP on tiny inputs by enumeration: every vertex of the polytope is an
/// assignment of the expanded problem, so the minimum over all permutations of the `lcm`
/// copies (with repetition removed) is the optimum.
fn brute_force_uniform(a: &PointCloud, b: &PointCloud, cost: Cost) -> f64 {
    let (n, m) = (a.len(), b.len());
    let l = n / gcd(n, m) * m;
    let rows: Vec<usize> = (0..l).map(|k| k / (l / n)).collect();
    let cols: Vec<usize> = (0..l).map(|k| k / (l / m)).collect();
    let mut best = f64::INFINITY;
    let mut perm: Vec<usize> = (0..l).collect();
    permute(&mut perm, 0, &mut |p| {
        let s: f64 = (0..l)
            .map(|k| cost.between(a.point(rows[k]), b.point(cols[p[k]])))
            .sum();
        best = best.min(s / l as f64);
    });
    best
}

fn permute(p: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
    if k == p.len() {
        f(p);
        return;
    }
    for i in k..p.len() {
        p.swap(k, i);
        permute(p, k + 1, f);
        p.swap(k, i);
    }
}

#[test]
fn tiny_inputs_equal_brute_force() {
    let mut r = rng(3);
    let exact = Exact::default();
    // lcm(n, m) ≤ 8, so at most 8! permutations.
    for (n, m) in [
        (1, 2),
        (2, 3),
        (3, 2),
        (2, 4),
        (3, 6),
        (1, 7),
        (4, 8),
        (6, 3),
        (8, 2),
        (2, 1),
    ] {
        for trial in 0..4 {
            let (a, b) = (cloud(trial % 3, n, 2, &mut r), cloud(0, m, 2, &mut r));
            for cost in Cost::ALL {
                let partial = exact
                    .estimate(&a, &b, request(cost, Unequal::Partial))
                    .unwrap();
                let want = brute_force_emd(&a, &b, cost);
                assert!(
                    rel_diff(partial.distance, want) <= EXACT_VALUE_REL,
                    "{n} vs {m}"
                );
                let uniform = exact
                    .estimate(&a, &b, request(cost, Unequal::Uniform))
                    .unwrap();
                let want = brute_force_uniform(&a, &b, cost);
                assert!(
                    rel_diff(uniform.distance, want) <= EXACT_VALUE_REL,
                    "{n} vs {m}, {cost}: {} vs brute force {want}",
                    uniform.distance
                );
            }
        }
    }
}

#[test]
fn one_point_against_many_is_the_mean_distance_or_the_nearest() {
    let a = PointCloud::from_points(&[[0.0, 0.0]]).unwrap();
    let b = PointCloud::from_points(&[[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]]).unwrap();
    let exact = Exact::default();
    let uniform = exact
        .estimate(&a, &b, request(Cost::Euclidean, Unequal::Uniform))
        .unwrap();
    assert!((uniform.distance - 2.0).abs() < 1e-12);
    let partial = exact
        .estimate(&a, &b, request(Cost::Euclidean, Unequal::Partial))
        .unwrap();
    assert!((partial.distance - 1.0).abs() < 1e-12);
    // Either order.
    let back = exact
        .estimate(&b, &a, request(Cost::Euclidean, Unequal::Uniform))
        .unwrap();
    assert!((back.distance - 2.0).abs() < 1e-12);
}

/// With one neighbour per point the candidates lack most edges the optimum needs, so the
/// bridges, the repairs during ε-scaling and several certificate rounds all run — and the
/// answer is still the reference's.
#[test]
fn sparse_candidates_are_completed_by_the_certificate() {
    let mut r = rng(5);
    let exact = Exact::new(ExactParams {
        neighbours: 1,
        ..ExactParams::default()
    })
    .unwrap();
    let mut rounds = 0;
    for case in 0..12 {
        let (a, b) = (
            cloud(1, 30 + case, 3, &mut r),
            cloud(2, 45 + 2 * case, 3, &mut r),
        );
        for unequal in Unequal::ALL {
            let req = request(Cost::Euclidean, unequal);
            let Ok(want) = Hungarian.estimate(&a, &b, req) else {
                continue; // lcm above the reference's limit
            };
            let got = exact.solve(&a, &b, req).unwrap();
            rounds = rounds.max(got.stats.certificate_rounds);
            assert!(
                rel_diff(got.emd.distance, want.distance) <= EXACT_VALUE_REL,
                "case {case} {unequal}: {} vs {}",
                got.emd.distance,
                want.distance
            );
        }
    }
    assert!(rounds > 1, "the certificate never had to add an edge");
}

#[test]
fn the_uniform_gradient_matches_finite_differences() {
    let mut r = rng(8);
    let (a, b) = (cloud(0, 7, 3, &mut r), cloud(0, 11, 3, &mut r));
    let exact = Exact::default();
    for cost in Cost::ALL {
        let req = request(cost, Unequal::Uniform);
        let g = exact
            .estimate(&a, &b, req.with_gradient())
            .unwrap()
            .gradient
            .unwrap();
        let h = 1e-6;
        for k in [0, 5, 13, 20] {
            let mut plus = a.as_flat().to_vec();
            let mut minus = plus.clone();
            plus[k] += h;
            minus[k] -= h;
            let f = |flat: Vec<f64>| {
                let c = PointCloud::from_flat(3, flat).unwrap();
                exact.estimate(&c, &b, req).unwrap().distance
            };
            let fd = (f(plus) - f(minus)) / (2.0 * h);
            assert!(
                (fd - g.a[k]).abs() < 1e-5,
                "{cost} a[{k}]: {fd} vs {}",
                g.a[k]
            );
        }
        // Translating both clouds together changes nothing: the gradients sum to zero.
        for d in 0..3 {
            let s: f64 =
                g.a.iter()
                    .skip(d)
                    .step_by(3)
                    .chain(g.b.iter().skip(d).step_by(3))
                    .sum();
            assert!(s.abs() < 1e-12);
        }
    }
}

#[test]
fn the_certificate_rejects_a_plan_that_is_not_optimal() {
    let a = PointCloud::from_points(&[[0.0, 0.0], [10.0, 0.0]]).unwrap();
    let b = PointCloud::from_points(&[[0.0, 1.0], [10.0, 1.0], [5.0, 1.0], [5.0, 2.0]]).unwrap();
    let req = request(Cost::Euclidean, Unequal::Uniform);
    let s = Exact::default().solve(&a, &b, req).unwrap();
    let tol = CertificateTolerance::default();
    assert!(verify_certificate(&a, &b, Cost::Euclidean, &s.emd.pairing, &s.duals, tol).is_ok());
    // Swap where A's points send their mass: a valid plan, far from optimal.
    let Pairing::Plan(plan) = &s.emd.pairing else {
        panic!("a plan")
    };
    let swapped: Vec<(usize, usize, u64)> = plan
        .entries()
        .iter()
        .map(|&(i, j, k)| (1 - i, j, k))
        .collect();
    let bad = Pairing::Plan(TransportPlan::new(2, 4, swapped).unwrap());
    // A pairing of other clouds, or a map (which may use a point twice), is refused outright.
    let other = Pairing::Plan(
        TransportPlan::new(1, 4, vec![(0, 0, 1), (0, 1, 1), (0, 2, 1), (0, 3, 1)]).unwrap(),
    );
    assert!(verify_certificate(&a, &b, Cost::Euclidean, &other, &s.duals, tol).is_err());
    let map = Pairing::Map(deepemd_core::Assignment::new(4, vec![0, 0]).unwrap());
    assert!(verify_certificate(&a, &b, Cost::Euclidean, &map, &s.duals, tol).is_err());
    assert!(verify_certificate(&a, &b, Cost::Euclidean, &bad, &s.duals, tol).is_err());
}

#[test]
fn hungarian_refuses_a_uniform_problem_too_large_to_expand() {
    let mut r = rng(1);
    let (a, b) = (cloud(0, 997, 2, &mut r), cloud(0, 1009, 2, &mut r));
    let err = Hungarian
        .estimate(&a, &b, request(Cost::Euclidean, Unequal::Uniform))
        .unwrap_err()
        .to_string();
    assert!(err.contains("use the exact method"), "{err}");
}

#[derive(serde::Deserialize)]
struct Values {
    partial: f64,
    uniform: f64,
}

#[derive(serde::Deserialize)]
struct PotInstance {
    name: String,
    a: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    euclidean: Values,
    sqeuclidean: Values,
}

#[derive(serde::Deserialize)]
struct PotFixture {
    instances: Vec<PotInstance>,
}

fn from_rows(rows: &[Vec<f64>]) -> PointCloud {
    PointCloud::from_flat(rows[0].len(), rows.iter().flatten().copied().collect()).unwrap()
}

/// `fixtures/make_pot_unequal.py`: POT's `ot.emd2` (uniform) and scipy's rectangular
/// `linear_sum_assignment` (partial).
#[test]
fn agrees_with_pot_emd2_and_scipy_on_unequal_clouds() {
    let fixture: PotFixture =
        serde_json::from_str(include_str!("fixtures/pot_unequal.json")).unwrap();
    assert_eq!(fixture.instances.len(), 6);
    let exact = Exact::default();
    for inst in &fixture.instances {
        let (a, b) = (from_rows(&inst.a), from_rows(&inst.b));
        let (n, m) = (a.len(), b.len());
        for (cost, want) in [
            (Cost::Euclidean, &inst.euclidean),
            (Cost::SqEuclidean, &inst.sqeuclidean),
        ] {
            for (unequal, value) in [
                (Unequal::Partial, want.partial),
                (Unequal::Uniform, want.uniform),
            ] {
                let req = request(cost, unequal);
                let got = exact.estimate(&a, &b, req).unwrap().distance;
                assert!(
                    rel_diff(got, value) <= EXACT_VALUE_REL,
                    "exact on {} ({cost}, {unequal}): {got} vs {value}",
                    inst.name
                );
                let lcm = n / gcd(n, m) * m;
                if unequal == Unequal::Partial || lcm <= MAX_UNIFORM_LCM {
                    let got = Hungarian.estimate(&a, &b, req).unwrap().distance;
                    assert!(
                        rel_diff(got, value) <= EXACT_VALUE_REL,
                        "hungarian on {}",
                        inst.name
                    );
                }
                // Sinkhorn: its plan is feasible and its rounding is a matching or plan of the
                // convention, so neither falls below the optimum (the plan up to its marginal
                // error). How far above depends on ε against the pair's own spread (ε is a
                // fraction of the largest cost: 5.6× on the squared cost between two pairs of
                // blobs far apart), so only the bound is checked here; `tests/sinkhorn.rs`
                // checks closeness on unclustered pairs.
                let s = Sinkhorn::default().estimate(&a, &b, req).unwrap();
                assert!(
                    s.distance >= value * (1.0 - BELOW_OPTIMUM_REL),
                    "sinkhorn rounding on {}",
                    inst.name
                );
                let plan = s.transport.unwrap().value;
                assert!(
                    plan >= value * (1.0 - 2e-3),
                    "sinkhorn on {} ({cost}, {unequal}): {plan} vs {value}",
                    inst.name
                );
            }
        }
    }
}

/// Points on a small integer grid: many equal costs, duplicate points, zero-cost pairs — the
/// ties that stress which edges count as tight.
#[test]
fn ties_and_duplicates_equal_the_reference() {
    let mut r = rng(23);
    let exact = Exact::default();
    for case in 0..60 {
        let (n, m) = loop {
            let (n, m) = (r.random_range(1..40), r.random_range(1..50));
            if n != m && n / gcd(n, m) * m <= 600 {
                break (n, m);
            }
        };
        let grid = |k: usize, r: &mut rand_chacha::ChaCha8Rng| {
            let flat: Vec<f64> = (0..k * 3).map(|_| r.random_range(0..3) as f64).collect();
            PointCloud::from_flat(3, flat).unwrap()
        };
        let (a, b) = (grid(n, &mut r), grid(m, &mut r));
        for cost in Cost::ALL {
            for unequal in Unequal::ALL {
                let req = request(cost, unequal);
                let want = Hungarian.estimate(&a, &b, req).unwrap().distance;
                let got = exact.estimate(&a, &b, req).unwrap().distance;
                assert!(
                    (got - want).abs() <= EXACT_VALUE_REL * want.max(1e-300),
                    "case {case}: {n} vs {m}, {cost}, {unequal}: {got} vs {want}"
                );
            }
        }
    }
}

/// From 1024 points on the smaller side the solve starts from its coarsening's potentials: the
/// same optimum as Hungarian (partial) and as a cold start with given potentials (uniform, where
/// the expanded reference would be too large), each certified.
#[test]
fn the_multiscale_start_reaches_the_same_optimum() {
    let mut r = rng(29);
    let exact = Exact::default();
    let (a, b) = (cloud(1, 1024, 3, &mut r), cloud(2, 1300, 3, &mut r));
    let req = request(Cost::Euclidean, Unequal::Partial);
    let want = Hungarian.estimate(&a, &b, req).unwrap().distance;
    let got = exact.estimate(&a, &b, req).unwrap().distance;
    assert!(rel_diff(got, want) <= EXACT_VALUE_REL, "{got} vs {want}");
    let req = request(Cost::SqEuclidean, Unequal::Uniform);
    let multiscale = exact.solve(&a, &b, req).unwrap();
    let cold = WarmStart {
        matching: None,
        potentials_b: Some(vec![0.0; b.len()]),
    };
    let plain = exact.solve_warm(&a, &b, req, &cold).unwrap();
    assert!(rel_diff(multiscale.emd.distance, plain.emd.distance) <= EXACT_VALUE_REL);
}

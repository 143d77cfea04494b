//! The certified fast solver against the Hungarian reference on many instances, its
//! certificate, its warm starts, and property tests of the invariances.

mod common;

use common::{rel_diff, rng};
use deepemd_core::synthetic::{gaussian, jitter, sphere, uniform_cube};
use deepemd_core::tolerance::EXACT_VALUE_REL;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Matching, Pairing, PointCloud, Unequal};
use deepemd_solvers::{
    CertificateTolerance, Exact, ExactParams, ExactSolution, Hungarian, WarmStart,
    verify_certificate,
};
use proptest::prelude::*;
use rand::Rng;

/// A cloud of `n` points from one of several distributions, some with ties and duplicates.
fn cloud(kind: usize, n: usize, dim: usize, r: &mut impl Rng) -> PointCloud {
    match kind % 6 {
        0 => uniform_cube(n, dim, r).unwrap(),
        1 => gaussian(n, dim, r).unwrap(),
        2 => sphere(n, dim, r).unwrap(),
        // Integer grid coordinates: many equal costs.
        3 => PointCloud::from_flat(
            dim,
            (0..n * dim).map(|_| r.random_range(0..4) as f64).collect(),
        )
        .unwrap(),
        // Duplicated points.
        4 => {
            let base = uniform_cube(n.div_ceil(3), dim, r).unwrap();
            let coords: Vec<f64> = (0..n)
                .flat_map(|i| base.point(i % base.len()).to_vec())
                .collect();
            PointCloud::from_flat(dim, coords).unwrap()
        }
        // Two far-apart clusters: the optimum needs long edges.
        _ => {
            let c = uniform_cube(n, dim, r).unwrap();
            let coords = c
                .points()
                .enumerate()
                .flat_map(|(i, p)| {
                    p.iter()
                        .map(move |x| x + if i % 2 == 0 { 0.0 } else { 5.0 })
                        .collect::<Vec<_>>()
                })
                .collect();
            PointCloud::from_flat(dim, coords).unwrap()
        }
    }
}

/// The partial convention, whose Hungarian reference is scipy's rectangular assignment.
fn partial(cost: Cost) -> EmdRequest {
    EmdRequest::new(cost).with_unequal(Unequal::Partial)
}

#[test]
fn equals_hungarian_on_two_hundred_instances() {
    let mut r = rng(100);
    let exact = Exact::default();
    let mut checked = 0;
    for t in 0..240 {
        let n = match t % 5 {
            0 => r.random_range(1..8),
            1 => r.random_range(8..60),
            2 => r.random_range(60..200),
            3 => r.random_range(200..400),
            _ => r.random_range(400..601),
        };
        let m = if t % 4 == 0 {
            (n + r.random_range(1..30)).min(620)
        } else {
            n
        };
        // Every (dimension, cost) combination, not one cost per dimension.
        let dim = 2 + t % 2;
        let cost = Cost::ALL[(t / 2) % 2];
        let a = cloud(t, n, dim, &mut r);
        let b = if t % 3 == 0 {
            jitter(&cloud(t + 1, m, dim, &mut r), 0.05, &mut r).unwrap()
        } else {
            cloud(t / 3, m, dim, &mut r)
        };
        let (x, y) = if t % 7 == 0 { (&b, &a) } else { (&a, &b) };
        let want = Hungarian.estimate(x, y, partial(cost)).unwrap().distance;
        let got = exact.solve(x, y, partial(cost)).unwrap();
        let label = format!("instance {t} ({}×{}, {dim}-D, {cost})", x.len(), y.len());
        assert_equals_hungarian(&label, &got, want);
        checked += 1;
    }
    assert!(checked >= 200);
}

/// From 1024 points the solve starts from a coarsening's potentials and candidates chosen by
/// reduced cost (`multiscale.rs`): the same optimum on every kind of cloud, both costs, 2-D
/// and 3-D, including ties, duplicates and far-apart clusters.
#[test]
fn multiscale_starts_equal_hungarian() {
    let mut r = rng(2048);
    let exact = Exact::default();
    for t in 0..12 {
        let n = r.random_range(1024..1400);
        let dim = 2 + t % 2;
        let cost = Cost::ALL[(t / 2) % 2];
        let a = cloud(t, n, dim, &mut r);
        let b = if t % 3 == 0 {
            jitter(&cloud(t, n, dim, &mut r), 0.05, &mut r).unwrap()
        } else {
            cloud(t + 3, n, dim, &mut r)
        };
        let want = Hungarian
            .estimate(&a, &b, EmdRequest::new(cost))
            .unwrap()
            .distance;
        let got = exact.solve(&a, &b, EmdRequest::new(cost)).unwrap();
        assert!(
            got.stats.coarse_levels >= 1,
            "instance {t}: {:?}",
            got.stats
        );
        assert_equals_hungarian(
            &format!("instance {t} ({n} points, {dim}-D, {cost})"),
            &got,
            want,
        );
    }
}

/// Degenerate multiscale starts: clouds whose groups of 8 are one repeated point (the
/// coarsening's error is 0, so the auction's ε needs its floor) and constant clouds.
#[test]
fn multiscale_starts_on_repeated_points() {
    let mut r = rng(8);
    let repeated = |r: &mut rand_chacha::ChaCha8Rng| {
        let base = uniform_cube(150, 3, r).unwrap();
        let coords: Vec<f64> = (0..1200).flat_map(|i| base.point(i / 8).to_vec()).collect();
        PointCloud::from_flat(3, coords).unwrap()
    };
    let constant = |x: f64| PointCloud::from_flat(3, vec![x; 3 * 1100]).unwrap();
    let pairs = [
        (repeated(&mut r), repeated(&mut r)),
        (constant(0.5), constant(0.5)),
        (constant(0.5), constant(2.0)),
        (constant(0.5), uniform_cube(1100, 3, &mut r).unwrap()),
    ];
    for (t, (a, b)) in pairs.iter().enumerate() {
        for cost in Cost::ALL {
            let want = Hungarian
                .estimate(a, b, EmdRequest::new(cost))
                .unwrap()
                .distance;
            let got = Exact::default().solve(a, b, EmdRequest::new(cost)).unwrap();
            assert_equals_hungarian(&format!("pair {t}, {cost}"), &got, want);
        }
    }
}

/// The value equals Hungarian's `want` and the certificate's gap is closed.
fn assert_equals_hungarian(label: &str, got: &ExactSolution, want: f64) {
    let ok = if want == 0.0 {
        got.emd.distance.abs() < 1e-12
    } else {
        rel_diff(got.emd.distance, want) <= EXACT_VALUE_REL
    };
    assert!(ok, "{label}: {} vs hungarian {want}", got.emd.distance);
    assert!(got.certificate.gap() <= 1e-9 * got.certificate.primal.abs().max(1.0));
}

#[test]
fn the_certificate_rejects_a_wrong_matching() {
    let mut r = rng(101);
    let a = sphere(300, 3, &mut r).unwrap();
    let b = jitter(&sphere(300, 3, &mut r).unwrap(), 0.05, &mut r).unwrap();
    let s = Exact::default()
        .solve(&a, &b, EmdRequest::default())
        .unwrap();
    let tol = CertificateTolerance::default();
    assert!(verify_certificate(&a, &b, Cost::Euclidean, &s.emd.pairing, &s.duals, tol).is_ok());
    // Swap two targets: still a bijection, but not optimal, and the duals prove it.
    let mut t = s.emd.pairing.as_bijection().unwrap().targets().to_vec();
    t.swap(0, 1);
    let wrong = Pairing::Bijection(Matching::new(t).unwrap());
    let err = verify_certificate(&a, &b, Cost::Euclidean, &wrong, &s.duals, tol).unwrap_err();
    assert!(err.to_string().contains("certificate failed"), "{err}");
    // Raise one dual: infeasible somewhere.
    let mut duals = s.duals.clone();
    duals.a[3] += 0.5;
    let loose_gap = CertificateTolerance { gap: 1.0, ..tol };
    assert!(
        verify_certificate(&a, &b, Cost::Euclidean, &s.emd.pairing, &duals, loose_gap).is_err()
    );
}

#[test]
fn warm_starts_reach_the_same_optimum() {
    let mut r = rng(102);
    let a = uniform_cube(400, 3, &mut r).unwrap();
    let b = jitter(&uniform_cube(400, 3, &mut r).unwrap(), 0.02, &mut r).unwrap();
    let exact = Exact::default();
    let cold = exact.solve(&a, &b, EmdRequest::default()).unwrap();
    let order: Vec<usize> = (0..400).rev().collect();
    for warm in [
        WarmStart {
            matching: cold.emd.pairing.as_bijection().cloned(),
            potentials_b: Some(cold.duals.b.clone()),
        },
        WarmStart {
            matching: Some(Matching::new(order).unwrap()),
            potentials_b: None,
        },
        WarmStart {
            matching: None,
            potentials_b: Some(vec![0.1; 400]),
        },
    ] {
        let hot = exact
            .solve_warm(&a, &b, EmdRequest::default(), &warm)
            .unwrap();
        assert!(rel_diff(hot.emd.distance, cold.emd.distance) <= EXACT_VALUE_REL);
    }
    let bad = WarmStart {
        matching: Some(Matching::identity(3)),
        potentials_b: None,
    };
    assert!(
        exact
            .solve_warm(&a, &b, EmdRequest::default(), &bad)
            .is_err()
    );
    assert!(
        Exact::new(ExactParams {
            neighbours: 0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Exact::new(ExactParams {
            neighbours: 1025,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Exact::new(ExactParams {
            scaling: 1.0,
            ..Default::default()
        })
        .is_err()
    );
}

fn arb_cloud(n: usize) -> impl Strategy<Value = PointCloud> {
    prop::collection::vec(-10.0f64..10.0, n * 3).prop_map(|c| PointCloud::from_flat(3, c).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn invariances(a in arb_cloud(40), b in arb_cloud(40), shift in prop::array::uniform3(-5.0f64..5.0), scale in 0.1f64..10.0, seed in 0u64..1000) {
        let exact = Exact::default();
        let emd = |x: &PointCloud, y: &PointCloud| exact.estimate(x, y, EmdRequest::default()).unwrap().distance;
        let base = emd(&a, &b);
        prop_assert!(rel_diff(emd(&b, &a), base) <= EXACT_VALUE_REL);
        // Translating and scaling both clouds: EMD(sA + t, sB + t) = s · EMD(A, B).
        let neg: Vec<f64> = shift.iter().map(|x| -x / scale).collect();
        let moved = emd(&a.affine(&neg, scale).unwrap(), &b.affine(&neg, scale).unwrap());
        prop_assert!(rel_diff(moved, scale * base) <= 1e-9);
        let mut order: Vec<usize> = (0..40).collect();
        let mut r = rng(seed);
        for i in (1..40).rev() { order.swap(i, r.random_range(0..=i)); }
        prop_assert!(rel_diff(emd(&a.permuted(&order).unwrap(), &b), base) <= EXACT_VALUE_REL);
    }
}

//! The EMD does not care about units: `EMD(sA + t, sB + t) = s^p · EMD(A, B)` for every scale
//! `s` and shift `t` that f64 can hold, for every exact solver and for the certificate itself.
//! (A certificate whose tolerance was absolute once accepted a non-optimal matching on clouds of
//! extent 1e-8; these tests fail on that solver.)

mod common;

use common::{exact_solvers, rel_diff, rng};
use deepemd_core::synthetic::uniform_cube;
use deepemd_core::tolerance::EXACT_VALUE_REL;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Matching, Pairing, PointCloud};
use deepemd_solvers::{CertificateTolerance, Exact, Hungarian, Sinkhorn, verify_certificate};
use proptest::prelude::*;

/// `s · cloud + t` (the same `t` on every axis, scaled per axis so it is not a multiple of the
/// all-ones vector).
fn moved(cloud: &PointCloud, s: f64, t: f64) -> PointCloud {
    let dim = cloud.dim();
    let coords = cloud
        .as_flat()
        .iter()
        .enumerate()
        .map(|(k, x)| s * x + t * [1.0, -0.7, 0.3][k % dim])
        .collect();
    PointCloud::from_flat(dim, coords).unwrap()
}

fn pair(seed: u64, n: usize, dim: usize) -> (PointCloud, PointCloud) {
    let mut r = rng(seed);
    (
        uniform_cube(n, dim, &mut r).unwrap(),
        uniform_cube(n, dim, &mut r).unwrap(),
    )
}

/// Checks every exact solver and the certificate on `(sA + t, sB + t)` against `(A, B)`.
fn check_scaled(a: &PointCloud, b: &PointCloud, cost: Cost, s: f64, t: f64) {
    let p = cost.homogeneity();
    let (sa, sb) = (moved(a, s, t), moved(b, s, t));
    let reference = Hungarian
        .estimate(a, b, EmdRequest::new(cost))
        .unwrap()
        .distance;
    for solver in exact_solvers() {
        let got = solver
            .estimate(&sa, &sb, EmdRequest::new(cost))
            .unwrap_or_else(|e| panic!("{} at s = {s:e}, t = {t:e}: {e}", solver.name()))
            .distance;
        let expected = reference * s.powi(p);
        assert!(
            rel_diff(got, expected) <= EXACT_VALUE_REL,
            "{} {cost} n = {} s = {s:e} t = {t:e}: {got:e} vs {expected:e} (rel {:e})",
            solver.name(),
            a.len(),
            rel_diff(got, expected)
        );
    }
    // The certificate holds at every scale, and scales with the clouds.
    let exact = Exact::default()
        .solve(&sa, &sb, EmdRequest::new(cost))
        .unwrap();
    let tol = CertificateTolerance::default();
    let cert = verify_certificate(&sa, &sb, cost, &exact.emd.pairing, &exact.duals, tol)
        .unwrap_or_else(|e| panic!("certificate at s = {s:e}, t = {t:e}: {e}"));
    let n = a.len() as f64;
    assert!(rel_diff(cert.primal / n, reference * s.powi(p)) <= EXACT_VALUE_REL);
    assert!(cert.gap() <= 1e-9 * cert.primal);
}

#[test]
fn small_clouds_are_solved_exactly() {
    // The reported failure: 100 points of extent ~1e-8, exact 0.2–0.8 % above the optimum.
    for seed in 0..20 {
        let (a, b) = pair(seed, 100, 3);
        for cost in Cost::ALL {
            check_scaled(&a, &b, cost, 1e-8, 0.0);
        }
    }
    let (a, b) = pair(99, 1000, 3);
    check_scaled(&a, &b, Cost::Euclidean, 1e-8, 0.0);
}

#[test]
fn multiscale_starts_are_scale_safe() {
    // From 1024 points the solve starts from a coarsening (its error sets the auction's ε).
    let (a, b) = pair(2048, 1100, 3);
    for (s, t) in [(1e-12, 0.0), (1e-8, 3e-4), (1e12, -3e16)] {
        for cost in Cost::ALL {
            check_scaled(&a, &b, cost, s, t);
        }
    }
}

#[test]
fn every_scale_from_1e_minus_12_to_1e12_with_and_without_a_large_shift() {
    let (a, b) = pair(7, 150, 3);
    let (a2, b2) = pair(8, 120, 2);
    for e in -12..=12 {
        let s = 10f64.powi(e);
        // Shifts of 1e5 extents cost ~1e-11 of relative precision: well inside the tolerance.
        for t in [0.0, 1e5 * s, -3e4 * s] {
            for cost in Cost::ALL {
                check_scaled(&a, &b, cost, s, t);
                check_scaled(&a2, &b2, cost, s, t);
            }
        }
    }
}

#[test]
fn a_non_optimal_matching_is_rejected_at_every_scale() {
    let (a, b) = pair(11, 200, 3);
    for e in [-12, -8, -3, 0, 4, 12] {
        let s = 10f64.powi(e);
        let (sa, sb) = (moved(&a, s, 2e3 * s), moved(&b, s, 2e3 * s));
        for cost in Cost::ALL {
            let exact = Exact::default()
                .solve(&sa, &sb, EmdRequest::new(cost))
                .unwrap();
            let mut t = exact.emd.pairing.as_bijection().unwrap().targets().to_vec();
            t.swap(0, 1);
            let wrong = Pairing::Bijection(Matching::new(t).unwrap());
            let tol = CertificateTolerance::default();
            assert!(
                verify_certificate(&sa, &sb, cost, &wrong, &exact.duals, tol).is_err(),
                "a swapped matching passed at s = {s:e}, {cost}"
            );
        }
    }
}

#[test]
fn extreme_scales_give_the_right_value_or_a_clear_error() {
    let (a, b) = pair(12, 60, 3);
    let solvers: Vec<Box<dyn EmdEstimator>> = vec![
        Box::new(Hungarian),
        Box::new(Exact::default()),
        Box::new(Sinkhorn::default()),
    ];
    for solver in &solvers {
        let at_unit_scale = |cost| {
            solver
                .estimate(&a, &b, EmdRequest::new(cost))
                .unwrap()
                .distance
        };
        let (euclidean, squared) = (
            at_unit_scale(Cost::Euclidean),
            at_unit_scale(Cost::SqEuclidean),
        );
        // Sinkhorn keeps its cost matrix in f32.
        let tol = if solver.is_exact() {
            EXACT_VALUE_REL
        } else {
            1e-5
        };
        for s in [1e-300, 1e-200, 1e-150, 1e150, 1e200, 1e300] {
            let (sa, sb) = (moved(&a, s, 0.0), moved(&b, s, 0.0));
            let got = solver
                .estimate(&sa, &sb, EmdRequest::new(Cost::Euclidean).with_gradient())
                .unwrap_or_else(|e| panic!("{} euclidean s = {s:e}: {e}", solver.name()));
            assert!(
                rel_diff(got.distance, euclidean * s) <= tol,
                "{} s = {s:e}: {:e} vs {:e}",
                solver.name(),
                got.distance,
                euclidean * s
            );
            // The squared cost: where s² · EMD leaves f64's range, an error, never 0 or ∞.
            let sq = solver.estimate(&sa, &sb, EmdRequest::new(Cost::SqEuclidean));
            let expected = squared * s * s;
            if expected.is_finite() && expected >= f64::MIN_POSITIVE {
                let got = sq.unwrap().distance;
                assert!(
                    rel_diff(got, expected) <= tol,
                    "{} squared s = {s:e}",
                    solver.name()
                );
            } else {
                let err = sq.expect_err("an unrepresentable squared EMD must be an error");
                assert!(err.to_string().contains("f64"), "{err}");
            }
        }
    }
    // One coordinate near 1e154 and beyond (its square overflows) among ordinary ones.
    for big in [1.4e154, 1e200, 1e307] {
        let mut coords = a.as_flat().to_vec();
        coords[0] = big;
        let a_big = PointCloud::from_flat(3, coords).unwrap();
        for solver in exact_solvers() {
            let got = solver
                .estimate(&a_big, &b, EmdRequest::new(Cost::Euclidean))
                .unwrap_or_else(|e| panic!("{} with a coordinate {big:e}: {e}", solver.name()));
            // The far point's cost dominates: ≈ big / n.
            assert!(
                rel_diff(got.distance, big / 60.0) < 1e-6,
                "{}",
                got.distance
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn scaling_and_shifting_scale_the_emd(
        seed in 0u64..1000,
        n in 2usize..60,
        dim in 2usize..=3,
        log_s in -12.0f64..12.0,
        shift in -1e5f64..1e5,
        squared in any::<bool>(),
    ) {
        let (a, b) = pair(seed, n, dim);
        let cost = if squared { Cost::SqEuclidean } else { Cost::Euclidean };
        let s = 10f64.powf(log_s);
        check_scaled(&a, &b, cost, s, shift * s);
    }
}

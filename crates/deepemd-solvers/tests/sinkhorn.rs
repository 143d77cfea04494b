//! The Sinkhorn baseline: bounds that hold by construction, convergence, settings checks.

mod common;

use common::{emd, rel_diff, rng};
use deepemd_core::synthetic::{jitter, sphere, uniform_cube};
use deepemd_core::tolerance::BELOW_OPTIMUM_REL;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Pairing, PointCloud, Unequal};
use deepemd_solvers::{Exact, Hungarian, Sinkhorn, SinkhornParams};

#[test]
fn transport_cost_and_rounding_bound_the_exact_emd_from_above() {
    let mut r = rng(11);
    let sinkhorn = Sinkhorn::default();
    for (n, dim) in [(64, 3), (200, 3), (150, 2)] {
        let a = sphere(n, dim, &mut r).unwrap();
        let b = jitter(&uniform_cube(n, dim, &mut r).unwrap(), 0.1, &mut r).unwrap();
        for cost in Cost::ALL {
            let exact = emd(&Hungarian, &a, &b, cost);
            let s = sinkhorn.solve(&a, &b, EmdRequest::new(cost)).unwrap();
            let tol = sinkhorn.params().tolerance;
            assert!(
                s.marginal_error < tol,
                "did not converge: {}",
                s.marginal_error
            );
            let plan = s.emd.transport.as_ref().unwrap().value;
            // A feasible plan costs at least the optimum (up to the marginal error's effect).
            assert!(plan >= exact * (1.0 - 1e-3), "{plan} < {exact}");
            // The rounded matching is a bijection: never below the optimum, and `distance` is
            // its cost.
            assert!(s.emd.distance >= exact * (1.0 - BELOW_OPTIMUM_REL));
            let again = deepemd_core::Emd::of_pairing(&a, &b, s.emd.pairing.clone(), cost, false);
            assert_eq!(again.unwrap().distance, s.emd.distance);
            // With ε = 1e-3 · max C the estimate is close.
            assert!(rel_diff(plan, exact) < 0.05, "{plan} vs {exact}");
        }
    }
}

#[test]
fn smaller_epsilon_means_smaller_bias() {
    let mut r = rng(12);
    let a = uniform_cube(100, 3, &mut r).unwrap();
    let b = uniform_cube(100, 3, &mut r).unwrap();
    let exact = emd(&Hungarian, &a, &b, Cost::Euclidean);
    let bias = |eps: f64| {
        let s = Sinkhorn::new(SinkhornParams {
            epsilon: eps,
            ..Default::default()
        })
        .unwrap();
        let e = s
            .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
            .unwrap();
        e.transport.unwrap().value - exact
    };
    let (coarse, fine) = (bias(1e-1), bias(1e-3));
    assert!(
        fine < coarse,
        "bias at 1e-3 {fine} not below bias at 1e-1 {coarse}"
    );
    assert!(fine >= -1e-6);
}

#[test]
fn settings_and_sizes_are_checked() {
    for bad in [
        SinkhornParams {
            epsilon: 0.0,
            ..Default::default()
        },
        SinkhornParams {
            scaling: 1.0,
            ..Default::default()
        },
        SinkhornParams {
            max_iterations: 0,
            ..Default::default()
        },
        SinkhornParams {
            tolerance: f64::NAN,
            ..Default::default()
        },
    ] {
        assert!(Sinkhorn::new(bad).is_err());
    }
    // Different dimensions are an error; different sizes are not (see below).
    let a = PointCloud::from_points(&[[0.0, 0.0], [1.0, 0.0]]).unwrap();
    let b = PointCloud::from_points(&[[0.0, 0.0, 1.0]]).unwrap();
    assert!(
        Sinkhorn::default()
            .estimate(&a, &b, EmdRequest::default())
            .is_err()
    );
}

#[test]
fn unequal_sizes_under_both_conventions_bound_the_exact_value_from_above() {
    let mut r = rng(14);
    let sinkhorn = Sinkhorn::default();
    for (n, m) in [(40, 100), (130, 70), (1, 9)] {
        let a = sphere(n, 3, &mut r).unwrap();
        let b = jitter(&uniform_cube(m, 3, &mut r).unwrap(), 0.1, &mut r).unwrap();
        for cost in Cost::ALL {
            for unequal in Unequal::ALL {
                let req = EmdRequest::new(cost).with_unequal(unequal);
                let exact = Exact::default().estimate(&a, &b, req).unwrap().distance;
                let s = sinkhorn.solve(&a, &b, req).unwrap();
                assert!(s.marginal_error < sinkhorn.params().tolerance);
                let plan = s.emd.transport.as_ref().unwrap().value;
                assert!(
                    plan >= exact * (1.0 - 2e-3),
                    "{n} vs {m} {unequal}: {plan} < {exact}"
                );
                assert!(
                    rel_diff(plan, exact) < 0.05,
                    "{n} vs {m} {unequal}: {plan} vs {exact}"
                );
                // The rounding is feasible for the convention, so never below the optimum.
                assert!(s.emd.distance >= exact * (1.0 - BELOW_OPTIMUM_REL));
                match (unequal, &s.emd.pairing) {
                    (Unequal::Partial, Pairing::Partial(p)) => {
                        assert_eq!(p.pairs().len(), n.min(m))
                    }
                    (Unequal::Uniform, Pairing::Plan(p)) => assert!(p.entries().len() < n + m),
                    (u, p) => panic!("{u} gave a {}", p.kind()),
                }
            }
        }
    }
}

#[test]
fn gradient_points_from_each_point_toward_its_transported_mass() {
    let mut r = rng(13);
    let a = uniform_cube(50, 3, &mut r).unwrap();
    let b = a.affine(&[-1.0, 0.0, 0.0], 1.0).unwrap();
    let e = Sinkhorn::default()
        .estimate(&a, &b, EmdRequest::new(Cost::SqEuclidean).with_gradient())
        .unwrap();
    let g = e.transport.unwrap().gradient.unwrap();
    // The rounded matching's own gradient is there too.
    assert!(e.gradient.is_some());
    // b = a + (1, 0, 0): every a_i is pulled toward +x, with total weight 2 · mean shift.
    let total_x: f64 = g.a.chunks(3).map(|p| p[0]).sum();
    assert!((total_x + 2.0).abs() < 1e-3, "{total_x}");
}

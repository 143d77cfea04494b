//! Every exact solver against independent references: brute force, the sorted matching in
//! 1-D, closed forms, invariances, scipy's values, and finite differences for the gradient.

mod common;

use common::{brute_force_emd, emd, exact_solvers, rel_diff, rng};
use deepemd_core::synthetic::{gaussian, jitter, sphere, uniform_cube};
use deepemd_core::tolerance::{
    EXACT_VALUE_REL, FINITE_DIFFERENCE_GRAD_ABS, FINITE_DIFFERENCE_STEP,
};
use deepemd_core::{Cost, EmdRequest, Matching, PointCloud};
use deepemd_solvers::Hungarian;
use rand::Rng;

#[test]
fn brute_force_for_tiny_clouds() {
    let mut r = rng(1);
    for solver in exact_solvers() {
        for trial in 0..60 {
            let dim = 2 + trial % 2;
            let n = 1 + trial % 7;
            let m = if trial % 3 == 0 { n + trial % 3 + 1 } else { n };
            let a = uniform_cube(n, dim, &mut r).unwrap();
            let b = gaussian(m, dim, &mut r).unwrap();
            for cost in Cost::ALL {
                let (x, y) = if trial % 2 == 0 { (&a, &b) } else { (&b, &a) };
                let got = emd(solver.as_ref(), x, y, cost);
                let want = brute_force_emd(x, y, cost);
                assert!(
                    rel_diff(got, want) <= EXACT_VALUE_REL,
                    "{} trial {trial} {cost}: {got} vs brute force {want}",
                    solver.name()
                );
            }
        }
    }
}

#[test]
fn sorted_matching_is_optimal_in_one_dimension() {
    let mut r = rng(2);
    for solver in exact_solvers() {
        for n in [5, 50, 200] {
            let xa: Vec<f64> = (0..n).map(|_| r.random::<f64>() * 10.0).collect();
            let xb: Vec<f64> = (0..n).map(|_| r.random::<f64>() * 10.0 + 3.0).collect();
            let on_line = |x: &[f64]| {
                PointCloud::from_flat(2, x.iter().flat_map(|&v| [v, 0.0]).collect()).unwrap()
            };
            let (a, b) = (on_line(&xa), on_line(&xb));
            let (mut sa, mut sb) = (xa.clone(), xb.clone());
            sa.sort_by(f64::total_cmp);
            sb.sort_by(f64::total_cmp);
            for cost in Cost::ALL {
                let p = cost.homogeneity();
                let want = sa
                    .iter()
                    .zip(&sb)
                    .map(|(x, y)| (x - y).abs().powi(p))
                    .sum::<f64>()
                    / n as f64;
                let got = emd(solver.as_ref(), &a, &b, cost);
                assert!(
                    rel_diff(got, want) <= EXACT_VALUE_REL,
                    "{got} vs sorted {want}"
                );
            }
        }
    }
}

#[test]
fn a_cloud_against_itself_is_zero_with_the_identity() {
    let mut r = rng(3);
    let a = sphere(150, 3, &mut r).unwrap();
    for solver in exact_solvers() {
        for cost in Cost::ALL {
            let e = solver.estimate(&a, &a, EmdRequest::new(cost)).unwrap();
            assert_eq!(e.distance, 0.0);
            assert_eq!(e.pairing.as_bijection(), Some(&Matching::identity(150)));
        }
    }
}

#[test]
fn symmetric_and_invariant_to_permutation() {
    let mut r = rng(4);
    for solver in exact_solvers() {
        for (n, m) in [(80, 80), (60, 90)] {
            let a = uniform_cube(n, 3, &mut r).unwrap();
            let b = gaussian(m, 3, &mut r).unwrap();
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                order.swap(i, r.random_range(0..=i));
            }
            let a_perm = a.permuted(&order).unwrap();
            for cost in Cost::ALL {
                let ab = emd(solver.as_ref(), &a, &b, cost);
                let ba = emd(solver.as_ref(), &b, &a, cost);
                let pb = emd(solver.as_ref(), &a_perm, &b, cost);
                assert!(rel_diff(ab, ba) <= EXACT_VALUE_REL, "symmetry {ab} {ba}");
                assert!(rel_diff(ab, pb) <= EXACT_VALUE_REL, "permutation {ab} {pb}");
            }
        }
    }
}

#[test]
fn translation_costs_its_squared_length() {
    let mut r = rng(5);
    let a = uniform_cube(120, 3, &mut r).unwrap();
    let t = [0.3, -0.2, 0.5];
    let b = a.affine(&[-t[0], -t[1], -t[2]], 1.0).unwrap();
    let want = t.iter().map(|x| x * x).sum::<f64>();
    for solver in exact_solvers() {
        let got = emd(solver.as_ref(), &a, &b, Cost::SqEuclidean);
        assert!(rel_diff(got, want) <= 1e-12, "{got} vs |t|² = {want}");
    }
}

#[derive(serde::Deserialize)]
struct ScipyInstance {
    name: String,
    a: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    euclidean: f64,
    sqeuclidean: f64,
}

#[derive(serde::Deserialize)]
struct ScipyFixture {
    instances: Vec<ScipyInstance>,
}

fn cloud(rows: &[Vec<f64>]) -> PointCloud {
    PointCloud::from_flat(rows[0].len(), rows.iter().flatten().copied().collect()).unwrap()
}

#[test]
fn agrees_with_scipy_linear_sum_assignment() {
    let fixture: ScipyFixture =
        serde_json::from_str(include_str!("fixtures/scipy_lsap.json")).unwrap();
    assert_eq!(fixture.instances.len(), 9);
    for solver in exact_solvers() {
        for inst in &fixture.instances {
            let (a, b) = (cloud(&inst.a), cloud(&inst.b));
            for (cost, want) in [
                (Cost::Euclidean, inst.euclidean),
                (Cost::SqEuclidean, inst.sqeuclidean),
            ] {
                let got = emd(solver.as_ref(), &a, &b, cost);
                assert!(
                    rel_diff(got, want) <= EXACT_VALUE_REL,
                    "{} on {} ({cost}): {got} vs scipy {want}",
                    solver.name(),
                    inst.name
                );
            }
        }
    }
}

#[test]
fn gradient_matches_finite_differences_of_the_exact_emd() {
    let mut r = rng(6);
    let h = FINITE_DIFFERENCE_STEP;
    for solver in exact_solvers() {
        for cost in Cost::ALL {
            for dim in [2, 3] {
                let a = uniform_cube(25, dim, &mut r).unwrap();
                let b = jitter(&uniform_cube(25, dim, &mut r).unwrap(), 0.05, &mut r).unwrap();
                let e = solver
                    .estimate(&a, &b, EmdRequest::new(cost).with_gradient())
                    .unwrap();
                let g = e.gradient.unwrap();
                let exact_at = |a: &PointCloud, b: &PointCloud| emd(solver.as_ref(), a, b, cost);
                for (which, cloud, grad) in [(0, &a, &g.a), (1, &b, &g.b)] {
                    for k in 0..cloud.as_flat().len() {
                        let shifted = |delta: f64| {
                            let mut c = cloud.as_flat().to_vec();
                            c[k] += delta;
                            PointCloud::from_flat(dim, c).unwrap()
                        };
                        let (plus, minus) = (shifted(h), shifted(-h));
                        let fd = if which == 0 {
                            (exact_at(&plus, &b) - exact_at(&minus, &b)) / (2.0 * h)
                        } else {
                            (exact_at(&a, &plus) - exact_at(&a, &minus)) / (2.0 * h)
                        };
                        assert!(
                            (fd - grad[k]).abs() <= FINITE_DIFFERENCE_GRAD_ABS,
                            "{} {cost} {dim}-D cloud {which} coord {k}: {} vs fd {fd}",
                            solver.name(),
                            grad[k]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn bad_input_is_an_error() {
    assert!(PointCloud::from_flat(3, vec![]).is_err());
    assert!(PointCloud::from_flat(3, vec![0.0, f64::NAN, 0.0]).is_err());
    assert!(PointCloud::from_flat(2, vec![f64::INFINITY, 0.0]).is_err());
    let a = PointCloud::from_points(&[[0.0, 0.0, 0.0]]).unwrap();
    let b = PointCloud::from_points(&[[0.0, 0.0]]).unwrap();
    for solver in exact_solvers() {
        let err = solver.estimate(&a, &b, EmdRequest::default()).unwrap_err();
        assert!(err.to_string().contains("different dimensions"), "{err}");
    }
    assert!(Hungarian::solve_matrix(&[1.0, f64::NAN, 0.0, 1.0], 2, 2).is_err());
    assert!(Hungarian::solve_matrix(&[1.0, 2.0, 3.0], 2, 2).is_err());
}

#[test]
fn batch_equals_one_by_one() {
    let mut r = rng(8);
    let pairs: Vec<(PointCloud, PointCloud)> = (0..12)
        .map(|k| {
            (
                uniform_cube(20 + k, 3, &mut r).unwrap(),
                sphere(20 + k, 3, &mut r).unwrap(),
            )
        })
        .collect();
    for solver in exact_solvers() {
        let batch = solver.estimate_batch(&pairs, EmdRequest::default());
        for ((a, b), got) in pairs.iter().zip(batch) {
            assert_eq!(
                got.unwrap().distance,
                emd(solver.as_ref(), a, b, Cost::Euclidean)
            );
        }
    }
}

//! The loss against independent references: its gradient against finite differences of the
//! exact EMD (Hungarian), reductions against one-by-one values, unequal sizes, both inputs,
//! Sinkhorn's plan cost, the model's gradient, and clear errors for bad shapes and values.

use candle_core::{DType, Device, Tensor, Var};
use deepemd_core::metrics::{cosine_similarity, median};
use deepemd_core::synthetic::{jitter, uniform_cube};
use deepemd_core::tolerance::{FINITE_DIFFERENCE_GRAD_ABS, FINITE_DIFFERENCE_STEP};
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Method, PointCloud, Unequal};
use deepemd_loss::{EmdLoss, Reduction};
use deepemd_methods::MethodSpec;
use deepemd_model::Rounding;
use deepemd_solvers::{Hungarian, Sinkhorn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn batch(clouds: &[PointCloud]) -> Tensor {
    let (n, d) = (clouds[0].len(), clouds[0].dim());
    let flat: Vec<f64> = clouds.iter().flat_map(|c| c.as_flat().to_vec()).collect();
    Tensor::from_vec(flat, (clouds.len(), n, d), &Device::Cpu).unwrap()
}

fn random_batch(b: usize, n: usize, dim: usize, seed: u64) -> Vec<PointCloud> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..b)
        .map(|_| uniform_cube(n, dim, &mut rng).unwrap())
        .collect()
}

fn grads(loss: &EmdLoss, x: &[PointCloud], y: &[PointCloud]) -> (f64, Vec<f64>, Vec<f64>) {
    let (vx, vy) = (
        Var::from_tensor(&batch(x)).unwrap(),
        Var::from_tensor(&batch(y)).unwrap(),
    );
    let value = loss.forward(vx.as_tensor(), vy.as_tensor()).unwrap();
    let g = value.backward().unwrap();
    let flat = |v: &Var| {
        g.get(v.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
    };
    (value.to_scalar::<f64>().unwrap(), flat(&vx), flat(&vy))
}

/// The mean over the batch of the Hungarian EMD, as a function of every coordinate.
fn reference(x: &[PointCloud], y: &[PointCloud], cost: Cost) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| {
            Hungarian
                .estimate(a, b, EmdRequest::new(cost))
                .unwrap()
                .distance
        })
        .sum::<f64>()
        / x.len() as f64
}

fn nudged(clouds: &[PointCloud], index: usize, h: f64) -> Vec<PointCloud> {
    let per = clouds[0].as_flat().len();
    let mut out = clouds.to_vec();
    let (k, i) = (index / per, index % per);
    let mut flat = out[k].as_flat().to_vec();
    flat[i] += h;
    out[k] = PointCloud::from_flat(clouds[0].dim(), flat).unwrap();
    out
}

fn check_against_finite_differences(x: &[PointCloud], y: &[PointCloud], cost: Cost) {
    let loss = EmdLoss::new(Method::Exact).unwrap().cost(cost);
    let (value, gx, gy) = grads(&loss, x, y);
    assert!((value - reference(x, y, cost)).abs() < 1e-12, "value");
    let h = FINITE_DIFFERENCE_STEP;
    for (g, which) in [(&gx, 0), (&gy, 1)] {
        for (index, &analytic) in g.iter().enumerate() {
            let (plus, minus) = if which == 0 {
                (
                    reference(&nudged(x, index, h), y, cost),
                    reference(&nudged(x, index, -h), y, cost),
                )
            } else {
                (
                    reference(x, &nudged(y, index, h), cost),
                    reference(x, &nudged(y, index, -h), cost),
                )
            };
            let numeric = (plus - minus) / (2.0 * h);
            assert!(
                (analytic - numeric).abs() < FINITE_DIFFERENCE_GRAD_ABS,
                "{cost} input {which} coordinate {index}: {analytic} vs {numeric}"
            );
        }
    }
}

#[test]
fn exact_gradients_to_both_inputs_match_finite_differences() {
    for (dim, seed) in [(3, 1), (2, 2)] {
        let x = random_batch(3, 6, dim, seed);
        let y = random_batch(3, 6, dim, seed + 10);
        for cost in Cost::ALL {
            check_against_finite_differences(&x, &y, cost);
        }
    }
}

/// Each pair's value (no reduction).
fn per_pair_values(loss: EmdLoss, x: &[PointCloud], y: &[PointCloud]) -> Vec<f64> {
    loss.reduction(Reduction::None)
        .forward(&batch(x), &batch(y))
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

#[test]
fn unequal_sizes_use_the_partial_matching_and_its_gradient() {
    let x = random_batch(2, 5, 3, 3);
    let y = random_batch(2, 8, 3, 4);
    check_against_finite_differences(&x, &y, Cost::Euclidean);
    check_against_finite_differences(&y, &x, Cost::Euclidean);
    // Sinkhorn computes the partial convention too (a zero-cost point holds the surplus): its
    // plan is feasible, so each pair's value is at least the exact partial EMD.
    let sinkhorn = per_pair_values(EmdLoss::new(Method::Sinkhorn).unwrap(), &x, &y);
    for (s, e) in sinkhorn.iter().zip(per_pair_values(
        EmdLoss::new(Method::Exact).unwrap(),
        &x,
        &y,
    )) {
        assert!(
            *s >= e * (1.0 - 2e-3) && s.is_finite(),
            "sinkhorn {s} vs exact {e}"
        );
    }
}

/// The model takes unequal sizes too: its refined rounding is a partial matching of the smaller
/// cloud, so each pair's value is at least the exact partial EMD, and a gradient comes back.
#[test]
fn the_model_takes_unequal_sizes() {
    let x = random_batch(2, 12, 3, 7);
    let y = random_batch(2, 30, 3, 8);
    let exact = per_pair_values(
        EmdLoss::new(Method::Exact)
            .unwrap()
            .unequal(Unequal::Partial),
        &x,
        &y,
    );
    let spec: deepemd_methods::MethodSpec = "model/refined".parse().unwrap();
    let xb = candle_core::Var::from_tensor(&batch(&x)).unwrap();
    // The default (uniform) is refused by the model, with the way to ask for partial.
    let err = EmdLoss::new(spec)
        .unwrap()
        .forward(xb.as_tensor(), &batch(&y))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Unequal::Partial"), "{err}");
    let model = EmdLoss::new(spec)
        .unwrap()
        .unequal(Unequal::Partial)
        .reduction(Reduction::None)
        .forward(xb.as_tensor(), &batch(&y))
        .unwrap();
    let values = model
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for (m, e) in values.iter().zip(&exact) {
        assert!(
            *m >= e * (1.0 - 1e-5),
            "{m} below the exact partial EMD {e}"
        );
    }
    let grads = model.sum_all().unwrap().backward().unwrap();
    let g = grads.get(xb.as_tensor()).expect("a gradient for x");
    assert_eq!(g.dims(), &[2, 12, 3]);
}

#[test]
fn reductions_agree_with_one_by_one_values() {
    let x = random_batch(4, 20, 3, 5);
    let y = random_batch(4, 20, 3, 6);
    let none = EmdLoss::new(Method::Exact)
        .unwrap()
        .reduction(Reduction::None)
        .forward(&batch(&x), &batch(&y))
        .unwrap();
    assert_eq!(none.dims(), &[4]);
    let per_pair = none.to_vec1::<f64>().unwrap();
    for (k, v) in per_pair.iter().enumerate() {
        let alone = EmdLoss::new(Method::Exact)
            .unwrap()
            .forward(&batch(&x[k..=k]), &batch(&y[k..=k]))
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert_eq!(*v, alone);
        assert!((v - reference(&x[k..=k], &y[k..=k], Cost::Euclidean)).abs() < 1e-12);
    }
    let sum = EmdLoss::new(Method::Exact)
        .unwrap()
        .reduction(Reduction::Sum)
        .forward(&batch(&x), &batch(&y))
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!((sum - per_pair.iter().sum::<f64>()).abs() < 1e-12);
    // f32 in, f32 out, same value to f32 precision.
    let mean32 = EmdLoss::new(Method::Exact)
        .unwrap()
        .forward(
            &batch(&x).to_dtype(DType::F32).unwrap(),
            &batch(&y).to_dtype(DType::F32).unwrap(),
        )
        .unwrap();
    assert_eq!(mean32.dtype(), DType::F32);
    let mean = per_pair.iter().sum::<f64>() / 4.0;
    assert!((mean32.to_scalar::<f32>().unwrap() as f64 - mean).abs() < 1e-5);
}

#[test]
fn sinkhorn_is_trained_on_its_plan_cost() {
    let x = random_batch(2, 30, 3, 7);
    let y = random_batch(2, 30, 3, 8);
    let loss = EmdLoss::new(Method::Sinkhorn)
        .unwrap()
        .reduction(Reduction::None);
    let v = loss
        .forward(&batch(&x), &batch(&y))
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for k in 0..2 {
        let plan = Sinkhorn::default()
            .estimate(&x[k], &y[k], EmdRequest::default())
            .unwrap()
            .transport
            .unwrap()
            .value;
        // The loss solves the pairs in parallel, and Sinkhorn's own parallel sums may then split
        // differently: equal to rounding, not to the bit.
        assert!((v[k] - plan).abs() <= 1e-12 * plan, "{} vs {plan}", v[k]);
    }
}

/// The model's loss: its gradient is the estimator's own gradient of its matching, and its
/// cosine with the exact gradient is reported for each rounding.
#[test]
fn the_model_losses_and_their_gradient_cosines() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x: Vec<PointCloud> = (0..6)
        .map(|_| uniform_cube(64, 3, &mut rng).unwrap())
        .collect();
    let y: Vec<PointCloud> = x
        .iter()
        .map(|c| jitter(c, 0.05, &mut rng).unwrap())
        .collect();
    let (_, exact_gx, _) = grads(&EmdLoss::new(Method::Exact).unwrap(), &x, &y);
    for rounding in Rounding::ALL {
        let spec = MethodSpec::model(rounding);
        let loss = EmdLoss::new(spec).unwrap().reduction(Reduction::Sum);
        let (_, gx, _) = grads(&loss, &x, &y);
        // The estimator's gradient of the same matchings, pair by pair (the same batched
        // forward pass as the loss's).
        let est = spec.estimator(&Default::default()).unwrap();
        let pairs: Vec<(PointCloud, PointCloud)> =
            x.iter().cloned().zip(y.iter().cloned()).collect();
        let solved = est.estimate_batch(&pairs, EmdRequest::default().with_gradient());
        for (k, emd) in solved.into_iter().enumerate() {
            let g = emd.unwrap().gradient.unwrap();
            let got = &gx[k * 192..(k + 1) * 192];
            let diff = got
                .iter()
                .zip(&g.a)
                .fold(0.0_f64, |m, (p, q)| m.max((p - q).abs()));
            assert!(diff < 1e-12, "{spec} pair {k}: {diff}");
        }
        let cosines: Vec<f64> = (0..6)
            .map(|k| {
                let r = k * 192..(k + 1) * 192;
                cosine_similarity(&gx[r.clone()], &exact_gx[r]).unwrap()
            })
            .collect();
        let m = median(&cosines);
        eprintln!(
            "{spec}: median gradient cosine with the exact gradient {m:.3} (6 pairs, n = 64)"
        );
        assert!(m > 0.0, "{spec}: {m}");
    }
}

#[test]
fn bad_shapes_and_values_are_errors_naming_them() {
    let loss = EmdLoss::new(Method::Exact).unwrap();
    let t = |shape: &[usize]| Tensor::zeros(shape, DType::F64, &Device::Cpu).unwrap();
    for (x, y, needle) in [
        (t(&[2, 5, 3]), t(&[3, 5, 3]), "[2, 5, 3]"),
        (t(&[2, 5, 3]), t(&[2, 5, 2]), "[2, 5, 2]"),
        (t(&[5, 3]), t(&[5, 3]), "[5, 3]"),
        (t(&[1, 5, 4]), t(&[1, 5, 4]), "[1, 5, 4]"),
        (t(&[1, 0, 3]), t(&[1, 5, 3]), "[1, 0, 3]"),
    ] {
        let err = loss.forward(&x, &y).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    let mut v = vec![0.0; 2 * 4 * 3];
    v[13] = f64::NAN;
    let x = Tensor::from_vec(v, (2, 4, 3), &Device::Cpu).unwrap();
    let err = loss.forward(&x, &t(&[2, 4, 3])).unwrap_err().to_string();
    assert!(err.contains("pair 1") && err.contains("NaN"), "{err}");
    let err = loss
        .forward(&t(&[1, 4, 3]), &t(&[1, 4, 3]).to_dtype(DType::F32).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("dtype"), "{err}");
}

/// CPU and CUDA give the same loss and gradients.
#[cfg(feature = "cuda")]
#[test]
fn cpu_and_cuda_agree() {
    let x = random_batch(2, 16, 3, 11);
    let y = random_batch(2, 16, 3, 12);
    let gpu = Device::new_cuda(0).unwrap();
    for method in [
        MethodSpec::new(Method::Exact),
        MethodSpec::model(Rounding::REFINED),
    ] {
        let loss = EmdLoss::new(method).unwrap();
        let cpu_x = Var::from_tensor(&batch(&x).to_dtype(DType::F32).unwrap()).unwrap();
        let cuda_x = Var::from_tensor(&cpu_x.as_tensor().to_device(&gpu).unwrap()).unwrap();
        let ty = batch(&y).to_dtype(DType::F32).unwrap();
        let (vc, vg) = (
            loss.forward(cpu_x.as_tensor(), &ty).unwrap(),
            loss.forward(cuda_x.as_tensor(), &ty.to_device(&gpu).unwrap())
                .unwrap(),
        );
        let (a, b) = (
            vc.to_scalar::<f32>().unwrap(),
            vg.to_scalar::<f32>().unwrap(),
        );
        assert!((a - b).abs() < 1e-4, "{method}: {a} vs {b}");
        let gc = vc
            .backward()
            .unwrap()
            .get(cpu_x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap();
        let gg = vg
            .backward()
            .unwrap()
            .get(cuda_x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap();
        let gg = gg.to_device(&Device::Cpu).unwrap();
        let d = (gc - gg)
            .unwrap()
            .abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-3, "{method}: {d}");
    }
}

/// The default for unequal sizes is the uniform transport: every point of the larger cloud
/// gets a gradient (a completion network learns to cover all of the target). Under the
/// partial convention the unmatched points get none.
#[test]
fn by_default_every_point_of_both_clouds_gets_a_gradient() {
    let x = random_batch(1, 12, 3, 17);
    let y = random_batch(1, 30, 3, 18);
    let zero_rows = |loss: EmdLoss| {
        let yv = Var::from_tensor(&batch(&y)).unwrap();
        let value = loss.forward(&batch(&x), yv.as_tensor()).unwrap();
        let g = value.backward().unwrap();
        let rows = g.get(yv.as_tensor()).unwrap().to_dtype(DType::F64).unwrap();
        let rows = rows.squeeze(0).unwrap().to_vec2::<f64>().unwrap();
        rows.iter().filter(|r| r.iter().all(|v| *v == 0.0)).count()
    };
    assert_eq!(zero_rows(EmdLoss::new(Method::Exact).unwrap()), 0);
    let partial = EmdLoss::new(Method::Exact)
        .unwrap()
        .unequal(Unequal::Partial);
    assert_eq!(zero_rows(partial), 30 - 12);
}

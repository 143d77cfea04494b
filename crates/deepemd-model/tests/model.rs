//! The network and the estimator: gradients reach every parameter, the inference kernels and
//! attention blocks agree with the training path, permutations act as they must, roundings
//! obey their bounds, and bad weights or devices are clear errors.

use candle_core::{D, DType, Device, Tensor};
use deepemd_core::synthetic::{jitter, uniform_cube};
use deepemd_core::tolerance::{BELOW_OPTIMUM_REL, F32_PATHS_ABS};
use deepemd_core::{Cost, Emd, EmdEstimator, EmdRequest, Pairing, PointCloud, Unequal};
use deepemd_model::{
    DeepEmd, DeepEmdModel, FusedKernels, ModelConfig, Rounding, device_from_name, two_opt,
};
use deepemd_solvers::Hungarian;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn tiny() -> ModelConfig {
    ModelConfig {
        point_dim: 3,
        d_model: 16,
        layers: 2,
        heads: 2,
        ffn: 32,
        layer_norm_eps: 1e-5,
        sinkhorn_layer: 0,
    }
}

fn clouds(n: usize, seed: u64) -> (PointCloud, PointCloud) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = uniform_cube(n, 3, &mut rng).unwrap();
    let b = jitter(&a, 0.05, &mut rng).unwrap();
    (a, b)
}

fn tensor(c: &PointCloud) -> Tensor {
    Tensor::from_vec(c.to_f32(), (1, c.len(), 3), &Device::Cpu).unwrap()
}

fn max_abs_diff(x: &Tensor, y: &Tensor) -> f32 {
    (x - y)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Every parameter of a fresh `config` network gets a non-zero gradient from a loss on the
/// logits of an `n`-point vs `m`-point pair (`n <= m`).
fn assert_every_parameter_gets_a_gradient(config: &ModelConfig, n: usize, m: usize) {
    let (model, varmap) = DeepEmdModel::fresh(config, &Device::Cpu).unwrap();
    let (a, b) = (cloud(n, 3), cloud(m, 4));
    let s = model
        .logits(&tensor(&a), &tensor(&b), true, usize::MAX)
        .unwrap();
    // Any loss that depends on every logit: log-softmax cross-entropy against `i ↦ i`.
    let target = Tensor::arange(0u32, n as u32, &Device::Cpu)
        .unwrap()
        .reshape((1, n, 1))
        .unwrap();
    let loss = candle_nn::ops::log_softmax(&s, D::Minus1)
        .unwrap()
        .gather(&target, 2)
        .unwrap()
        .mean_all()
        .unwrap()
        .neg()
        .unwrap();
    let grads = loss.backward().unwrap();
    let vars = varmap.data().lock().unwrap();
    assert!(vars.len() >= 20, "{} parameters", vars.len());
    for (name, var) in vars.iter() {
        let g = grads
            .get(var)
            .unwrap_or_else(|| panic!("{name} has no gradient"));
        let norm = g
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(norm > 0.0, "{name} has a zero gradient");
    }
}

/// The model's convention for unequal sizes (and the references it is checked against).
fn partial() -> EmdRequest {
    EmdRequest::default().with_unequal(Unequal::Partial)
}

#[test]
fn every_parameter_receives_a_nonzero_gradient() {
    assert_every_parameter_gets_a_gradient(&tiny(), 12, 12);
}

#[test]
fn reference_inference_kernels_and_attention_blocks_match_the_training_path() {
    // The reference path: primitive ops in training, candle's fused softmax and layer norm at
    // inference, attention in blocks of `block_rows` query rows.
    let (model, _) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    let model = model.with_fused_kernels(FusedKernels::NONE);
    let (a, b) = clouds(40, 2);
    let train = model
        .logits(&tensor(&a), &tensor(&b), true, usize::MAX)
        .unwrap();
    let whole = model
        .logits(&tensor(&a), &tensor(&b), false, usize::MAX)
        .unwrap();
    let blocked = model.logits(&tensor(&a), &tensor(&b), false, 7).unwrap();
    assert!(max_abs_diff(&train, &whole) < F32_PATHS_ABS as f32);
    assert!(max_abs_diff(&whole, &blocked) < 1e-5);
}

#[test]
fn the_fused_kernels_equal_the_reference_path_with_the_shipped_model() {
    // The shipped model (d 128, 4 heads of 32) on a batch of two random pairs (T = 2n = 202, not
    // a multiple of the kernel's tiles) and on a real pair (bunny vs armadillo, T = 600).
    let fused = deepemd_model::default_model(&Device::Cpu)
        .unwrap()
        .with_fused_kernels(FusedKernels::ALL);
    let reference = fused.clone().with_fused_kernels(FusedKernels::NONE);
    let (bunny, armadillo) = real_pair();
    for pairs in [
        vec![clouds(101, 3), clouds(101, 4)],
        vec![(bunny, armadillo)],
    ] {
        let (a, b) = batch(&pairs);
        for train in [false, true] {
            let want = reference.logits(&a, &b, train, 64).unwrap();
            let got = fused.logits(&a, &b, train, usize::MAX).unwrap();
            let diff = max_abs_diff(&want, &got);
            let scale = want
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            // f32 sums in another order through four blocks: logits reach ~100 here (measured:
            // 2.4e-4 apart at 112, 4.6e-5 at 51), so the bound is 1e-4 plus a relative 1e-5 of
            // the largest, the 1e-4 absolute for logits of size ~1.
            assert!(
                diff < F32_PATHS_ABS as f32 + 1e-5 * scale,
                "n {}, train {train}: logits differ by {diff} (largest logit {scale})",
                pairs[0].0.len()
            );
        }
    }
}

/// The pairs as the model's input tensors `[B, n, 3]`.
fn batch(pairs: &[(PointCloud, PointCloud)]) -> (Tensor, Tensor) {
    let n = pairs[0].0.len();
    let side = |pick: fn(&(PointCloud, PointCloud)) -> &PointCloud| {
        let flat: Vec<f32> = pairs.iter().flat_map(|p| pick(p).to_f32()).collect();
        Tensor::from_vec(flat, (pairs.len(), n, 3), &Device::Cpu).unwrap()
    };
    (side(|p| &p.0), side(|p| &p.1))
}

/// 300 points sampled from CGAL's bunny and armadillo meshes (`fixtures/make_real_clouds.py`).
fn real_pair() -> (PointCloud, PointCloud) {
    let read = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let points: Vec<[f64; 3]> = text
            .lines()
            .map(|line| {
                let v: Vec<f64> = line
                    .split_whitespace()
                    .map(|w| w.parse().unwrap())
                    .collect();
                [v[0], v[1], v[2]]
            })
            .collect();
        PointCloud::from_points(&points).unwrap()
    };
    (read("real_bunny.xyz"), read("real_armadillo.xyz"))
}

#[test]
fn the_fused_kernels_give_the_reference_parameter_gradients() {
    let (model, varmap) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    let fused = model.clone().with_fused_kernels(FusedKernels::ALL);
    let reference = model.with_fused_kernels(FusedKernels::NONE);
    let (bunny, armadillo) = real_pair();
    let first = |c: &PointCloud, k: usize| {
        let pts: Vec<[f64; 3]> = c.points().take(k).map(|p| [p[0], p[1], p[2]]).collect();
        PointCloud::from_points(&pts).unwrap()
    };
    // Random clouds, and 64 points of each real cloud.
    for (a, b) in [clouds(37, 5), (first(&bunny, 64), first(&armadillo, 64))] {
        let gradients = |model: &DeepEmdModel| {
            let s = model
                .logits(&tensor(&a), &tensor(&b), true, usize::MAX)
                .unwrap();
            candle_nn::ops::log_softmax(&s, D::Minus1)
                .unwrap()
                .mean_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        let (g_fused, g_reference) = (gradients(&fused), gradients(&reference));
        for (name, var) in varmap.data().lock().unwrap().iter() {
            let (x, y) = (g_fused.get(var).unwrap(), g_reference.get(var).unwrap());
            let diff = max_abs_diff(x, y);
            let size = y
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                diff <= 1e-3 * size.max(1e-6),
                "n {}: {name}: gradients differ by {diff} (largest {size})",
                a.len()
            );
        }
    }
}

#[test]
fn the_blockwise_row_argmax_equals_the_argmax_of_the_stored_logits() {
    // The shipped model; sizes below, at and across the argmax's row blocks (256), a batch of
    // several pairs, and one point.
    let model = deepemd_model::default_model(&Device::Cpu).unwrap();
    let estimator = DeepEmd::new(model.clone(), Device::Cpu);
    for (n, pairs) in [(1, 1), (37, 3), (256, 1), (300, 2)] {
        let pairs: Vec<_> = (0..pairs).map(|k| clouds(n, 10 + k as u64)).collect();
        let refs: Vec<_> = pairs.iter().map(|(a, b)| (a, b)).collect();
        let blockwise = estimator.row_argmax_batch(&refs).unwrap();
        let logits = estimator.logits_batch(&refs).unwrap();
        let mut mismatches = 0;
        for (((a, b), s), got) in pairs.iter().zip(&logits).zip(&blockwise) {
            let want = Rounding::RowArgmax.apply(s, a, b, Cost::Euclidean).unwrap();
            let (Pairing::Map(want), Pairing::Map(got)) = (want, got) else {
                panic!("the row argmax is a map");
            };
            for i in 0..n {
                let (w, g) = (want.targets()[i], got.targets()[i]);
                if w != g {
                    // Only a near-tie may differ (the two matmuls round differently).
                    let gap = (s[i * n + w] - s[i * n + g]).abs();
                    assert!(
                        gap < 1e-4,
                        "n {n}, row {i}: {w} vs {g}, logits apart by {gap}"
                    );
                    mismatches += 1;
                }
            }
        }
        assert!(mismatches <= 1, "n {n}: {mismatches} rows differ");
        // The estimator's default path is the blockwise one and gives its matching's cost.
        let (a, b) = &pairs[0];
        let emd = estimator
            .estimate(a, b, EmdRequest::new(Cost::Euclidean))
            .unwrap();
        let direct = Emd::of_pairing(a, b, blockwise[0].clone(), Cost::Euclidean, false).unwrap();
        assert_eq!(emd.distance, direct.distance);
    }
}

#[test]
fn permuting_a_cloud_permutes_the_logits() {
    let (model, _) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    let (a, b) = clouds(20, 3);
    let order: Vec<usize> = (0..20).map(|i| (i * 7) % 20).collect();
    let s = model
        .logits(&tensor(&a), &tensor(&b), false, usize::MAX)
        .unwrap();
    let sa = model
        .logits(
            &tensor(&a.permuted(&order).unwrap()),
            &tensor(&b),
            false,
            usize::MAX,
        )
        .unwrap();
    let sb = model
        .logits(
            &tensor(&a),
            &tensor(&b.permuted(&order).unwrap()),
            false,
            usize::MAX,
        )
        .unwrap();
    let idx = Tensor::from_vec(
        order.iter().map(|&i| i as u32).collect::<Vec<_>>(),
        20,
        &Device::Cpu,
    )
    .unwrap();
    assert!(max_abs_diff(&sa, &s.index_select(&idx, 1).unwrap()) < F32_PATHS_ABS as f32);
    assert!(max_abs_diff(&sb, &s.index_select(&idx, 2).unwrap()) < F32_PATHS_ABS as f32);
}

#[test]
fn roundings_obey_their_bounds() {
    let (model, _) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    let est = DeepEmd::new(model, Device::Cpu);
    for seed in 0..4 {
        let (a, b) = clouds(60, 10 + seed);
        let exact = Hungarian.estimate(&a, &b, partial()).unwrap().distance;
        let pairings = est
            .matchings(&a, &b, &Rounding::ALL, Cost::Euclidean)
            .unwrap();
        let cost = |p: &Pairing| {
            Emd::of_pairing(&a, &b, p.clone(), Cost::Euclidean, false)
                .unwrap()
                .distance
        };
        assert!(matches!(pairings[0], Pairing::Map(_)));
        for p in &pairings[1..] {
            assert!(p.as_bijection().is_some());
            assert!(
                cost(p) >= exact * (1.0 - BELOW_OPTIMUM_REL),
                "a bijection below the EMD"
            );
        }
        // 2-opt never makes a bijection worse.
        let greedy = pairings[2].as_bijection().unwrap().clone();
        let refined = two_opt(&a, &b, Cost::Euclidean, greedy.clone(), 8, 10).unwrap();
        assert!(cost(&Pairing::Bijection(refined)) <= cost(&Pairing::Bijection(greedy)) + 1e-12);
    }
}

#[test]
fn bad_weights_configs_and_devices_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, varmap) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    varmap.save(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(dir.path().join("config.json"), tiny_json(&tiny())).unwrap();
    assert!(DeepEmdModel::load(dir.path(), &Device::Cpu).is_ok());
    // Truncated weights.
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let err = DeepEmdModel::load(dir.path(), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    // Weights of another size than the config says.
    std::fs::write(dir.path().join("model.safetensors"), &bytes).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        tiny_json(&ModelConfig {
            d_model: 32,
            ..tiny()
        }),
    )
    .unwrap();
    let err = DeepEmdModel::load(dir.path(), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the config needs"), "{err}");
    // A config that makes no sense.
    std::fs::write(
        dir.path().join("config.json"),
        tiny_json(&ModelConfig { heads: 3, ..tiny() }),
    )
    .unwrap();
    let err = DeepEmdModel::load(dir.path(), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("config.json") && err.contains("must divide"),
        "{err}"
    );
    if !cfg!(feature = "cuda") {
        let err = device_from_name("cuda").unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
    assert!(device_from_name("tpu").is_err());
    let (model, _) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    let est = DeepEmd::new(model, Device::Cpu);
    // Clouds of different dimensions (sizes may differ; dimensions may not).
    let (a, _) = clouds(10, 5);
    let b = PointCloud::from_points(&[[0.0, 1.0], [1.0, 0.0]]).unwrap();
    let err = est.estimate(&a, &b, partial()).unwrap_err().to_string();
    assert!(err.contains("dimension"), "{err}");
    let _ = DType::F32;
}

/// A weight file must hold exactly the config's tensors, all finite: a file with more layers
/// than the config, fewer, or a NaN weight is an error naming the file, never a silent load.
#[test]
fn weights_that_do_not_match_the_config_exactly_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("model.safetensors");
    let (_, varmap) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    varmap.save(&weights).unwrap();
    let load_with = |config: ModelConfig| {
        std::fs::write(dir.path().join("config.json"), tiny_json(&config)).unwrap();
        DeepEmdModel::load(dir.path(), &Device::Cpu)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert!(load_with(tiny()).is_ok());
    let err = load_with(ModelConfig {
        layers: 1,
        ..tiny()
    })
    .unwrap_err();
    assert!(
        err.contains("model.safetensors") && err.contains("does not use"),
        "{err}"
    );
    let err = load_with(ModelConfig {
        layers: 3,
        ..tiny()
    })
    .unwrap_err();
    assert!(
        err.contains("model.safetensors") && err.contains("lack"),
        "{err}"
    );
    // One NaN among the weights.
    let mut tensors = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
    let name = tensors.keys().min().unwrap().clone();
    let t = &tensors[&name];
    let mut values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    values[0] = f32::NAN;
    let poisoned = Tensor::from_vec(values, t.shape(), &Device::Cpu).unwrap();
    tensors.insert(name.clone(), poisoned);
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let err = load_with(tiny()).unwrap_err();
    assert!(
        err.contains("model.safetensors") && err.contains("non-finite") && err.contains(&name),
        "{err}"
    );
}

fn tiny_json(c: &ModelConfig) -> String {
    c.to_json()
}

/// CPU and CUDA give the same logits (within float32 reduction-order differences).
#[cfg(feature = "cuda")]
#[test]
fn cpu_and_cuda_agree() {
    let Ok(cuda) = Device::new_cuda(0) else {
        panic!("built with the cuda feature but no CUDA device: run this test on a GPU machine");
    };
    let (model, varmap) = DeepEmdModel::fresh(&tiny(), &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    varmap.save(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(dir.path().join("config.json"), tiny().to_json()).unwrap();
    let gpu_model = DeepEmdModel::load(dir.path(), &cuda).unwrap();
    let (a, b) = clouds(300, 9);
    let cpu = model.logits(&tensor(&a), &tensor(&b), false, 64).unwrap();
    let gpu = gpu_model
        .logits(
            &tensor(&a).to_device(&cuda).unwrap(),
            &tensor(&b).to_device(&cuda).unwrap(),
            false,
            64,
        )
        .unwrap()
        .to_device(&Device::Cpu)
        .unwrap();
    assert!(max_abs_diff(&cpu, &gpu) < 1e-3);
}

fn cloud(n: usize, seed: u64) -> PointCloud {
    uniform_cube(n, 3, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

/// A 100 vs 1000 pair (both orders), with and without the matching layer: the logits are
/// n × m, the streamed argmax equals the argmax of the stored logits along the smaller side,
/// and every bijective rounding is a partial matching of the smaller cloud costing at least the
/// exact partial EMD.
#[test]
fn unequal_sizes_go_through_the_network_and_every_rounding() {
    for layer in [0, 3] {
        let config = ModelConfig {
            sinkhorn_layer: layer,
            ..tiny()
        };
        let (model, _) = DeepEmdModel::fresh(&config, &Device::Cpu).unwrap();
        let est = DeepEmd::new(model.clone(), Device::Cpu);
        for (n, m) in [(100, 1000), (1000, 100), (7, 9)] {
            let (a, b) = (cloud(n, 1), cloud(m, 2));
            let s = model
                .logits(&tensor(&a), &tensor(&b), false, usize::MAX)
                .unwrap();
            assert_eq!(s.dims(), &[1, n, m]);
            let s = s.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let exact = Hungarian.estimate(&a, &b, partial()).unwrap().distance;
            let pairings = est
                .matchings(&a, &b, &Rounding::ALL, Cost::Euclidean)
                .unwrap();
            let cost = |p: &Pairing| {
                Emd::of_pairing(&a, &b, p.clone(), Cost::Euclidean, true)
                    .unwrap()
                    .distance
            };
            let k = n.min(m);
            // The argmax: one pair per point of the smaller cloud, from that cloud.
            let argmax = &pairings[0];
            assert_eq!(argmax.len(), k);
            assert!(matches!(
                (argmax, n <= m),
                (Pairing::Map(_), true) | (Pairing::MapFromB(_), false)
            ));
            let streamed = est.row_argmax_batch(&[(&a, &b)]).unwrap().pop().unwrap();
            let (want, got) = (
                argmax.smaller_side_partners(n, m).unwrap(),
                streamed.smaller_side_partners(n, m).unwrap(),
            );
            let differing = want.iter().zip(&got).filter(|(w, g)| w != g).count();
            assert!(
                differing <= 1,
                "{n}×{m}, layer {layer}: {differing} partners differ"
            );
            for p in &pairings[1..] {
                assert!(matches!(p, Pairing::Partial(_)) || n == m);
                assert_eq!(p.len(), k);
                assert!(
                    cost(p) >= exact * (1.0 - BELOW_OPTIMUM_REL),
                    "{n}×{m}: below the exact EMD"
                );
            }
            // 2-opt (with moves to free points) never makes the greedy matching worse.
            assert!(cost(&pairings[3]) <= cost(&pairings[2]) + 1e-12);
            // The estimator's value is its pairing's cost.
            let emd = est.estimate(&a, &b, partial()).unwrap();
            assert_eq!(emd.distance, cost(&streamed));
            assert_eq!(s.len(), n * m);
        }
    }
}

/// With the matching layer, on an unbalanced pair, every parameter still gets a gradient.
#[test]
fn the_matching_layer_passes_gradients_to_every_parameter() {
    let config = ModelConfig {
        sinkhorn_layer: 3,
        ..tiny()
    };
    assert_every_parameter_gets_a_gradient(&config, 9, 20);
}

//! The VAE's training loop on a tiny mesh set: every parameter learns, each loss runs, a stopped
//! and resumed run equals the uninterrupted one, and bad settings are refused.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{Device, Tensor};
use deepemd_methods::ModelSource;
use deepemd_vae::{
    LossKind, MeshPool, PointVae, ReconstructionLoss, VaeEvent, VaeOutcome, init_vae,
    kl_divergence, load_network, train_vae,
};

use common::{tiny_config, tiny_meshes};

#[test]
fn every_parameter_receives_a_gradient_from_every_loss() {
    let config = tiny_config(LossKind::Exact, tiny_meshes(), 1);
    let pool = MeshPool::open(&config.source, "train").unwrap();
    let x = pool.batch(24, 4, 0.1, 1, 0, &Device::Cpu).unwrap();
    for kind in LossKind::ALL {
        let (vae, varmap) = PointVae::fresh(&config.network, &Device::Cpu).unwrap();
        init_vae(&varmap, 5).unwrap();
        let noise = Tensor::randn(0f32, 1.0, (4, 8), &Device::Cpu).unwrap();
        let (decoded, mu, log_var) = vae.forward(&x, &noise).unwrap();
        let loss = ReconstructionLoss::new(kind, &ModelSource::Default).unwrap();
        let total = (loss.forward(&decoded, &x).unwrap()
            + (kl_divergence(&mu, &log_var).unwrap() * 1e-3).unwrap())
        .unwrap();
        let grads = total.backward().unwrap();
        for (name, var) in varmap.data().lock().unwrap().iter() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{kind}: no gradient for {name}"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                norm > 0.0 && norm.is_finite(),
                "{kind}: gradient of {name} is {norm}"
            );
        }
    }
}

fn weights(run: &std::path::Path) -> Vec<f32> {
    let (_, varmap) = load_network(&run.join("model"), &Device::Cpu).unwrap();
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    names
        .into_iter()
        .flat_map(|n| {
            data[n]
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_stopped_and_resumed_run_equals_the_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(LossKind::Exact, tiny_meshes(), 6);
    let never = AtomicBool::new(false);
    let whole = dir.path().join("whole");
    let (outcome, full) =
        train_vae(&config, &whole, false, &Device::Cpu, &never, &mut |_| {}).unwrap();
    assert_eq!(outcome, VaeOutcome::Finished);
    assert_eq!(full.step, 6);
    assert!(
        full.history
            .iter()
            .all(|r| r.loss.is_finite() && r.kl.is_finite())
    );
    // Evaluations at steps 0, 2, 4, 6.
    assert_eq!(
        full.evals.iter().map(|e| e.step).collect::<Vec<_>>(),
        [0, 2, 4, 6]
    );

    let parts = dir.path().join("parts");
    let stop = AtomicBool::new(false);
    let mut stop_after_three = |e: VaeEvent<'_>| {
        if let VaeEvent::Step(r) = e
            && r.step == 2
        {
            stop.store(true, Ordering::SeqCst);
        }
    };
    let (outcome, first) = train_vae(
        &config,
        &parts,
        false,
        &Device::Cpu,
        &stop,
        &mut stop_after_three,
    )
    .unwrap();
    assert_eq!((outcome, first.step), (VaeOutcome::Stopped, 3));
    // A new run into the same folder is refused; a resume with other settings too.
    let err = train_vae(&config, &parts, false, &Device::Cpu, &never, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("resume"), "{err}");
    let mut other = config.clone();
    other.lr *= 2.0;
    let err = train_vae(&other, &parts, true, &Device::Cpu, &never, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("other settings"), "{err}");

    let (outcome, resumed) =
        train_vae(&config, &parts, true, &Device::Cpu, &never, &mut |_| {}).unwrap();
    assert_eq!(outcome, VaeOutcome::Finished);
    let values = |s: &deepemd_vae::VaeState| -> Vec<(f32, f32)> {
        s.history.iter().map(|r| (r.loss, r.kl)).collect()
    };
    assert_eq!(values(&resumed), values(&full));
    assert_eq!(weights(&parts), weights(&whole));
}

#[test]
fn bad_settings_and_missing_meshes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let source = tiny_meshes();
    let never = AtomicBool::new(false);
    let run = dir.path().join("run");
    let mut bad = tiny_config(LossKind::Chamfer, source.clone(), 2);
    bad.lr = f64::NAN;
    let err = train_vae(&bad, &run, false, &Device::Cpu, &never, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("lr"), "{err}");
    let mut missing = tiny_config(LossKind::Chamfer, source, 2);
    missing.source.meshes = dir.path().join("nowhere");
    let err = train_vae(&missing, &run, false, &Device::Cpu, &never, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
    let err = train_vae(
        &tiny_config(LossKind::Chamfer, tiny_meshes(), 2),
        &run,
        true,
        &Device::Cpu,
        &never,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no checkpoint"), "{err}");
}

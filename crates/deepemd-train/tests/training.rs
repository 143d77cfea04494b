//! Training on a tiny config: the loss falls, the optimizer state round-trips, a stopped run
//! resumes to the same history as an uninterrupted one, and mismatched checkpoints are refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use deepemd_core::tolerance::F32_PATHS_ABS;
use deepemd_model::ModelConfig;
use deepemd_train::{Outcome, TrainConfig, TrainEvent, train};

fn dataset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cgal-mini")
}

fn tiny(steps: usize) -> TrainConfig {
    let mut c = TrainConfig::recipe(dataset(), steps);
    c.model = ModelConfig {
        point_dim: 3,
        d_model: 16,
        layers: 1,
        heads: 2,
        ffn: 32,
        layer_norm_eps: 1e-5,
        sinkhorn_layer: 0,
    };
    c.points = 16;
    c.batch = 4;
    c.warmup = 5;
    c.lr = 3e-3;
    c.eval_every = 0;
    c.eval_pairs = 16;
    c.checkpoint_every = 10;
    c
}

/// `train` with no observer on the CPU.
fn run_quietly(
    config: &TrainConfig,
    run: &Path,
    resume: bool,
    stop: &AtomicBool,
) -> deepemd_train::Result<(Outcome, deepemd_train::TrainState)> {
    train(config, run, resume, &Device::Cpu, stop, &mut |_| {})
}

#[test]
fn the_loss_falls_and_a_model_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let never = AtomicBool::new(false);
    let (outcome, state) = run_quietly(&tiny(60), dir.path(), false, &never).unwrap();
    assert_eq!(outcome, Outcome::Finished);
    let first: f32 = state.history[..10].iter().map(|r| r.loss).sum::<f32>() / 10.0;
    let last: f32 = state.history[50..].iter().map(|r| r.loss).sum::<f32>() / 10.0;
    assert!(last < 0.8 * first, "loss {first} → {last}");
    assert_eq!(state.evals.len(), 1, "one evaluation at the end");
    assert!(dir.path().join("model/model.safetensors").exists());
    assert!(dir.path().join("model/config.json").exists());
    // The run folder now holds a checkpoint: a fresh run there is refused.
    let err = run_quietly(&tiny(60), dir.path(), false, &never)
        .unwrap_err()
        .to_string();
    assert!(err.contains("already holds a checkpoint"), "{err}");
}

#[test]
fn a_stopped_run_resumes_to_the_uninterrupted_history() {
    let never = AtomicBool::new(false);
    let clean = tempfile::tempdir().unwrap();
    let (_, full) = run_quietly(&tiny(30), clean.path(), false, &never).unwrap();

    let resumed = tempfile::tempdir().unwrap();
    // Asked to stop from the start: it does one step, checkpoints and returns.
    let stop = AtomicBool::new(true);
    let (outcome, partial) = run_quietly(&tiny(30), resumed.path(), false, &stop).unwrap();
    assert_eq!((outcome, partial.step), (Outcome::Stopped, 1));
    let (outcome, state) = run_quietly(&tiny(30), resumed.path(), true, &never).unwrap();
    assert_eq!(outcome, Outcome::Finished);
    assert_eq!(state.history, full.history, "the same loss curve");
    assert_eq!(state.evals, full.evals);

    let mut other = tiny(30);
    other.lr = 1e-3;
    let err = run_quietly(&other, resumed.path(), true, &never)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other settings") && err.contains("lr: 0.003 → 0.001"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = run_quietly(&tiny(30), empty.path(), true, &never)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no checkpoint"), "{err}");
}

#[test]
fn a_truncated_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(true);
    run_quietly(&tiny(30), dir.path(), false, &stop).unwrap();
    let weights = dir.path().join("checkpoint/model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() - 100]).unwrap();
    let never = AtomicBool::new(false);
    let err = run_quietly(&tiny(30), dir.path(), true, &never)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors: changed since the checkpoint was written"),
        "{err}"
    );
    // Without the list of hashes (a checkpoint of an earlier version), the loader refuses it.
    std::fs::remove_file(dir.path().join("checkpoint/files.sha256")).unwrap();
    let err = run_quietly(&tiny(30), dir.path(), true, &never)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("cannot load the weights"),
        "{err}"
    );
}

/// A checkpoint whose weights hold a NaN (a diverged run) is refused at `--resume`, naming the
/// file, instead of training on and exporting it.
#[test]
fn nan_weights_in_a_checkpoint_are_refused_at_resume() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(true);
    run_quietly(&tiny(30), dir.path(), false, &stop).unwrap();
    let weights = dir.path().join("checkpoint/model.safetensors");
    let mut tensors = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
    let name = tensors.keys().max().unwrap().clone();
    let t = &tensors[&name];
    let mut values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    values[0] = f32::INFINITY;
    let poisoned = candle_core::Tensor::from_vec(values, t.shape(), &Device::Cpu).unwrap();
    tensors.insert(name, poisoned);
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    // A diverged run writes its own list of hashes, which such weights match: no list here.
    std::fs::remove_file(dir.path().join("checkpoint/files.sha256")).unwrap();
    let never = AtomicBool::new(false);
    let err = run_quietly(&tiny(30), dir.path(), true, &never)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("non-finite"),
        "{err}"
    );
}

/// The temporary folders that killed runs leave behind are removed by the next checkpoint.
#[test]
fn temporary_folders_of_killed_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    // A process id that is not running: above Linux's pid_max (2^22).
    let stale = dir.path().join(".checkpoint.tmp-4999999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("model.safetensors"), b"half a file").unwrap();
    let stop = AtomicBool::new(true);
    run_quietly(&tiny(30), dir.path(), false, &stop).unwrap();
    assert!(!stale.exists(), "the stale temporary folder is still there");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The loop reports its progress as events, in order, and draws nothing itself.
#[test]
fn the_loop_reports_steps_evaluations_and_checkpoints_as_events() {
    let dir = tempfile::tempdir().unwrap();
    let never = AtomicBool::new(false);
    let mut seen: Vec<String> = Vec::new();
    let mut observer = |e: TrainEvent<'_>| {
        seen.push(match e {
            TrainEvent::Started { step, steps } => format!("start {step}/{steps}"),
            TrainEvent::Step(record) => format!("step {}", record.step),
            TrainEvent::Eval(r) => format!("eval {}", r.step),
            TrainEvent::Checkpoint { step, dir } => {
                assert!(dir.join("state.json").exists());
                format!("checkpoint {step}")
            }
            TrainEvent::Stopped { step } => format!("stopped {step}"),
            TrainEvent::Finished => "finished".into(),
        })
    };
    train(
        &tiny(20),
        dir.path(),
        false,
        &Device::Cpu,
        &never,
        &mut observer,
    )
    .unwrap();
    assert_eq!(seen.first().unwrap(), "start 0/20");
    assert_eq!(seen.iter().filter(|s| s.starts_with("step ")).count(), 20);
    assert!(seen.contains(&"checkpoint 10".to_string()), "{seen:?}");
    assert!(seen.contains(&"eval 20".to_string()), "{seen:?}");
    assert_eq!(seen.last().unwrap(), "finished");
}

#[test]
fn the_fused_kernels_give_the_reference_training_loss() {
    // The default architecture with fresh weights, a batch of 4 pairs of 128 points and
    // arbitrary (shifted-identity) targets: the training loss of the fused CPU kernels equals
    // that of the reference path of candle ops within 1e-4.
    use candle_core::Tensor;
    use deepemd_model::{DeepEmdModel, FusedKernels, default_config};
    use rand::{Rng, SeedableRng};
    let device = Device::Cpu;
    let (model, _vars) = DeepEmdModel::fresh(&default_config().unwrap(), &device).unwrap();
    let (batch, n) = (4, 128);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut cloud = || {
        let x: Vec<f32> = (0..batch * n * 3)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect();
        Tensor::from_vec(x, (batch, n, 3), &device).unwrap()
    };
    let (a, b) = (cloud(), cloud());
    let shift =
        |k: usize| -> Vec<u32> { (0..batch * n).map(|i| ((i % n + k) % n) as u32).collect() };
    let target = Tensor::from_vec(shift(5), (batch, n), &device).unwrap();
    let inverse = Tensor::from_vec(shift(n - 5), (batch, n), &device).unwrap();
    let loss = |kernels: FusedKernels| {
        let model = model.clone().with_fused_kernels(kernels);
        let logits = model.logits(&a, &b, true, usize::MAX).unwrap();
        let (loss, _) = deepemd_train::matching_loss(&logits, &target, &inverse).unwrap();
        loss.to_scalar::<f32>().unwrap()
    };
    let (fused, reference) = (loss(FusedKernels::ALL), loss(FusedKernels::NONE));
    assert!(fused.is_finite() && fused > 0.0, "{fused}");
    assert!(
        (fused - reference).abs() < F32_PATHS_ABS as f32,
        "fused {fused} vs reference {reference}"
    );
}

/// Mixed and unbalanced sizes with the matching layer, fine-tuned from a trained model: the
/// steps have the sizes the config promises (drawn from the seed alone), the loss falls, and a
/// resumed run repeats the uninterrupted one.
#[test]
fn mixed_unbalanced_sizes_with_the_matching_layer_train_and_resume() {
    let never = AtomicBool::new(false);
    let base = tempfile::tempdir().unwrap();
    run_quietly(&tiny(20), base.path(), false, &never).unwrap();
    let mut c = tiny(40);
    c.max_points = 48;
    c.unbalanced = 0.5;
    c.model.sinkhorn_layer = 3;
    c.init = Some(base.path().join("model"));
    c.check().unwrap();
    let shapes: Vec<_> = (0..200).map(|s| c.step_shape(s, 100)).collect();
    assert_eq!(
        shapes,
        (0..200).map(|s| c.step_shape(s, 100)).collect::<Vec<_>>()
    );
    let unbalanced = shapes.iter().filter(|((a, b), _)| a != b).count();
    assert!(
        (60..140).contains(&unbalanced),
        "{unbalanced} unbalanced steps of 200"
    );
    for &((a, b), batch) in &shapes {
        let (small, large) = (a.min(b), a.max(b));
        assert!((16..=48).contains(&small) && small % 8 == 0, "{a} vs {b}");
        assert!(large <= (4 * small).min(100), "{a} vs {b}");
        assert_eq!(batch, (4 * 2 * 16 / (a + b)).max(1));
    }
    assert!(shapes.iter().any(|((a, b), _)| a > b) && shapes.iter().any(|((a, b), _)| a < b));

    let dir = tempfile::tempdir().unwrap();
    let (outcome, state) = run_quietly(&c, dir.path(), false, &never).unwrap();
    assert_eq!(outcome, Outcome::Finished);
    assert!(state.history.iter().all(|r| r.loss.is_finite()));
    let resumed = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(true);
    run_quietly(&c, resumed.path(), false, &stop).unwrap();
    let (_, again) = run_quietly(&c, resumed.path(), true, &never).unwrap();
    assert_eq!(again.history, state.history);
    // Another architecture cannot be the starting point.
    let mut wider = c.clone();
    wider.model.d_model = 32;
    let err = run_quietly(&wider, tempfile::tempdir().unwrap().path(), false, &never)
        .unwrap_err()
        .to_string();
    assert!(err.contains("architecture"), "{err}");
    // Clouds larger than the dataset's shapes: a clear error before any step, not a panic.
    let mut huge = c.clone();
    huge.max_points = 5000;
    let err = run_quietly(&huge, tempfile::tempdir().unwrap().path(), false, &never)
        .unwrap_err()
        .to_string();
    assert!(err.contains("up to 5000"), "{err}");
    // step_shape itself never panics, even when the smallest size exceeds the limit.
    huge.points = 200;
    for s in 0..50 {
        let ((a, b), batch) = huge.step_shape(s, 100);
        assert!(a <= 100 && b <= 100 && batch >= 1);
    }
}

/// `init` starts from the given model's weights: one step at a vanishing learning rate exports
/// them unchanged, where a fresh start exports the seeded initialization.
#[test]
fn init_starts_from_the_given_weights() {
    let never = AtomicBool::new(false);
    let base = tempfile::tempdir().unwrap();
    run_quietly(&tiny(10), base.path(), false, &never).unwrap();
    let weights = |dir: &Path| {
        candle_core::safetensors::load(dir.join("model/model.safetensors"), &Device::Cpu).unwrap()
    };
    let mut c = tiny(1);
    c.lr = 1e-12;
    c.eval_pairs = 0;
    let fresh = tempfile::tempdir().unwrap();
    run_quietly(&c, fresh.path(), false, &never).unwrap();
    c.init = Some(base.path().join("model"));
    let tuned = tempfile::tempdir().unwrap();
    run_quietly(&c, tuned.path(), false, &never).unwrap();
    let (want, got, fresh) = (
        weights(base.path()),
        weights(tuned.path()),
        weights(fresh.path()),
    );
    let mut moved_from_fresh = false;
    for (name, w) in &want {
        let diff = |x: &candle_core::Tensor| {
            (w - x)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        assert!(diff(&got[name]) < 1e-6, "{name} is not the initial model's");
        moved_from_fresh |= diff(&fresh[name]) > 1e-3;
    }
    assert!(
        moved_from_fresh,
        "the base model equals a fresh start: the test proves nothing"
    );
}

/// For equal sizes the loss is the mean of every row's and every column's cross-entropy at the
/// optimal matching; for unequal sizes it uses the smaller cloud's points and the matched ones.
#[test]
fn the_matching_loss_is_rows_and_columns_cross_entropy() {
    use candle_core::Tensor;
    let (n, m) = (3usize, 5usize);
    let logits: Vec<f32> = (0..n * m).map(|p| ((p * 7 % 11) as f32) * 0.3).collect();
    let pairs = [(0usize, 4usize), (1, 0), (2, 2)];
    let lse = |xs: &[f32]| xs.iter().map(|x| x.exp()).sum::<f32>().ln();
    let mut want = 0.0;
    for &(i, j) in &pairs {
        let row: Vec<f32> = (0..m).map(|c| logits[i * m + c]).collect();
        let col: Vec<f32> = (0..n).map(|r| logits[r * m + j]).collect();
        want += (lse(&row) - logits[i * m + j]) + (lse(&col) - logits[i * m + j]);
    }
    let want = want / (2 * pairs.len()) as f32;
    let s = Tensor::from_vec(logits, (1, n, m), &Device::Cpu).unwrap();
    let matched: Vec<u32> = pairs.iter().map(|&(i, j)| (i * m + j) as u32).collect();
    let matched = Tensor::from_vec(matched, (1, 3), &Device::Cpu).unwrap();
    let partners = Tensor::from_vec(vec![4u32, 0, 2], (1, 3), &Device::Cpu).unwrap();
    let (loss, _) = deepemd_train::matching_loss(&s, &matched, &partners).unwrap();
    let got = loss.to_scalar::<f32>().unwrap();
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

//! The model's achieved FLOP rate against the machine's: forward passes and training steps
//! timed beside a candle matmul of the attention's shapes, in one process.

use std::time::Instant;

use anyhow::Result;
use candle_core::{D, DType, Device, Tensor};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::report::Table;
use deepemd_model::{DEFAULT_BLOCK_ROWS, DeepEmdModel, ModelConfig};

/// FLOPs of one pair's forward pass (multiply-adds count 2; embeddings, norms and softmax
/// ignored): `L·(8Td² + 4T²d + 4Tdf) + 4nd² + 2n²d` with T = 2n.
pub fn forward_flops(c: &ModelConfig, n: usize) -> f64 {
    let (n, d, f, l) = (n as f64, c.d_model as f64, c.ffn as f64, c.layers as f64);
    let t = 2.0 * n;
    l * (8.0 * t * d * d + 4.0 * t * t * d + 4.0 * t * d * f) + 4.0 * n * d * d + 2.0 * n * n * d
}

/// Median seconds of `repeats` runs of `f` after one warm-up.
fn median_seconds(repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn sync(device: &Device) -> Result<()> {
    if let Device::Cuda(_) = device {
        device.synchronize()?;
    }
    Ok(())
}

/// GFLOP/s of candle's batched matmuls of the attention's two products on `device`: the scores
/// `[H, T, dh] × [H, dh, T]` and the weighted values `[H, T, T] × [H, T, dh]`, together.
fn matmul_rate(c: &ModelConfig, t: usize, device: &Device) -> Result<f64> {
    let (h, dh) = (c.heads, c.d_model / c.heads);
    let q = Tensor::randn(0f32, 1.0, (h, t, dh), device)?;
    let k_t = Tensor::randn(0f32, 1.0, (h, dh, t), device)?;
    let p = Tensor::randn(0f32, 1.0, (h, t, t), device)?;
    let v = Tensor::randn(0f32, 1.0, (h, t, dh), device)?;
    let seconds = median_seconds(3, || {
        q.matmul(&k_t)?;
        p.matmul(&v)?;
        sync(device)
    })?;
    Ok(4.0 * (h * t * t * dh) as f64 / seconds / 1e9)
}

fn batch_tensors(n: usize, batch: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let pairs: Vec<_> = (0..batch)
        .map(|k| CloudSet::SphereVsNoisySphere.pair(n, k as u64))
        .collect::<Result<_, _>>()?;
    let stack = |pick: fn(&(deepemd_core::PointCloud, deepemd_core::PointCloud)) -> Vec<f32>| {
        let flat: Vec<f32> = pairs.iter().flat_map(pick).collect();
        Tensor::from_vec(flat, (batch, n, 3), device)
    };
    Ok((stack(|p| p.0.to_f32())?, stack(|p| p.1.to_f32())?))
}

/// The table: forward rows (each size at batch 1 and 8) and training-step rows (batch 8; a
/// step's FLOPs counted as 3× the forward's).
pub fn table(
    model: &DeepEmdModel,
    device: &Device,
    forward_sizes: &[usize],
    train_sizes: &[usize],
) -> Result<Table> {
    let c = model.config().clone();
    let mut table = Table::new(&[
        "pass",
        "n",
        "batch",
        "GFLOP per pair",
        "seconds",
        "model GFLOP/s",
        "matmul GFLOP/s",
        "model / matmul",
    ]);
    let mut row = |pass: &str, n: usize, batch: usize, flops: f64, seconds: f64| -> Result<()> {
        let rate = flops * batch as f64 / seconds / 1e9;
        let peak = matmul_rate(&c, 2 * n, device)?;
        table.push(vec![
            pass.to_string(),
            n.to_string(),
            batch.to_string(),
            format!("{:.2}", flops / 1e9),
            format!("{seconds:.3}"),
            format!("{rate:.1}"),
            format!("{peak:.1}"),
            format!("{:.0} %", 100.0 * rate / peak),
        ]);
        eprintln!("{pass} n = {n} batch {batch}: {rate:.1} GFLOP/s (matmul {peak:.1})");
        Ok(())
    };
    for &n in forward_sizes {
        for batch in [1, 8] {
            let (a, b) = batch_tensors(n, batch, device)?;
            let seconds = median_seconds(2, || {
                model.logits(&a, &b, false, DEFAULT_BLOCK_ROWS)?;
                sync(device)
            })?;
            row("forward", n, batch, forward_flops(&c, n), seconds)?;
        }
    }
    // Training needs variables: a fresh network of the same config (the FLOPs are the same).
    let (trainable, _varmap) = DeepEmdModel::fresh(&c, device)?;
    let trainable = trainable.with_fused_kernels(model.fused_kernels());
    for &n in train_sizes {
        let batch = 8;
        let (a, b) = batch_tensors(n, batch, device)?;
        let seconds = median_seconds(2, || {
            let logits = trainable.logits(&a, &b, true, usize::MAX)?;
            // A loss touching every logit, as the training loss does.
            let loss = candle_nn::ops::log_softmax(&logits, D::Minus1)?
                .mean_all()?
                .to_dtype(DType::F32)?;
            loss.backward()?;
            sync(device)
        })?;
        row(
            "training step",
            n,
            batch,
            3.0 * forward_flops(&c, n),
            seconds,
        )?;
    }
    Ok(table)
}

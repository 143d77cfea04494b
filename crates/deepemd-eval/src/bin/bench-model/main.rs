//! `cargo xtask bench-model [--device cuda]`: batched throughput of the model's forward pass and
//! row argmax at several sizes (pairs/s), one command for any machine; on a CUDA build pass
//! `--device cuda` (build with `--features cuda`). Then the machine-relative table: the model's
//! FLOPs per pair, the GFLOP/s its forward (and a training step) achieves, and the GFLOP/s of a
//! candle matmul of the attention's shapes measured in the same process, with their ratio.

use std::time::Instant;

mod flop_rates;

use anyhow::Result;
use candle_core::Device;
use clap::Parser;
use deepemd_core::{Cost, EmdEstimator, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::report::Table;
use deepemd_eval::speed::peak_rss_mib;
use deepemd_eval::timing::hardware_line;
use deepemd_model::{DeepEmd, DeepEmdModel, FusedKernels, default_model, device_from_name};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// `cpu` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Cloud sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [1024, 2048, 4096, 8192])]
    sizes: Vec<usize>,
    /// Pairs per forward pass.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Timed batches per size (after one warm-up batch).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    /// A model folder; the built-in default otherwise.
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Sizes of the FLOP-rate table's forward rows (each at batch 1 and 8).
    #[arg(long, value_delimiter = ',', default_values_t = [1024, 2048, 4096])]
    flop_sizes: Vec<usize>,
    /// Sizes of the FLOP-rate table's training-step rows (batch 8).
    #[arg(long, value_delimiter = ',', default_values_t = [128, 512])]
    train_sizes: Vec<usize>,
    /// Also print the FLOP-rate table of the reference attention (candle ops, no fusion).
    #[arg(long)]
    with_reference: bool,
    /// Only the throughput table (for memory measurements at large n).
    #[arg(long)]
    throughput_only: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = device_from_name(&args.device)?;
    let model = match &args.model {
        Some(d) => DeepEmdModel::load(d, &device)?,
        None => default_model(&device)?,
    };
    let estimator = DeepEmd::new(model.clone(), device.clone());
    let mut table = Table::new(&["n", "batch", "pairs/s", "s per batch", "host peak MiB"]);
    for &n in &args.sizes {
        let pairs: Vec<_> = (0..args.batch)
            .map(|k| CloudSet::SphereVsNoisySphere.pair(n, k as u64))
            .collect::<Result<_, _>>()?;
        let run = || -> Result<()> {
            for r in estimator.estimate_batch(&pairs, EmdRequest::new(Cost::Euclidean)) {
                r?;
            }
            if let Device::Cuda(_) = &device {
                device.synchronize()?;
            }
            Ok(())
        };
        run()?;
        let start = Instant::now();
        for _ in 0..args.repeats {
            run()?;
        }
        let per_batch = start.elapsed().as_secs_f64() / args.repeats as f64;
        table.push(vec![
            n.to_string(),
            args.batch.to_string(),
            format!("{:.2}", args.batch as f64 / per_batch),
            format!("{per_batch:.3}"),
            format!("{:.0}", peak_rss_mib()),
        ]);
        eprintln!("n = {n}: {:.2} pairs/s", args.batch as f64 / per_batch);
    }
    println!(
        "Model throughput on {} ({}):\n\n{}",
        args.device,
        hardware_line(),
        table.to_markdown()
    );
    if args.throughput_only {
        return Ok(());
    }
    // The fused kernels in both passes (the default), then, on request, the reference path.
    let mut kernels = vec![(
        "fused kernels",
        model.clone().with_fused_kernels(FusedKernels::ALL),
    )];
    if args.with_reference {
        kernels.push((
            "reference path",
            model.with_fused_kernels(FusedKernels::NONE),
        ));
    }
    for (name, model) in kernels {
        let rates = flop_rates::table(&model, &device, &args.flop_sizes, &args.train_sizes)?;
        println!(
            "\nFLOP rates on {}, {name} (FLOPs per pair: L·(8Td² + 4T²d + 4Tdf) + 4nd² + 2n²d, \
             T = 2n; the matmul rate is candle's on the attention's two products, [H, T, dh] × \
             [H, dh, T] and [H, T, T] × [H, T, dh], timed in this process):\n\n{}",
            args.device,
            rates.to_markdown()
        );
    }
    Ok(())
}

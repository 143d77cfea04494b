//! `deepemd gen-metrics`: MMD, COV and 1-NNA of a generated set against a reference set, with
//! the exact EMD and with Chamfer.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use clap::Args;
use deepemd_vae::{generation_metrics, pair_count};

use crate::output::print_line;
use crate::progress::bar;

#[derive(Args, Debug)]
pub struct GenMetricsArgs {
    /// Reference clouds: an HDF5 file in the ModelNet40 layout (`data` [N, n, 3];
    /// `file.h5:dataset` for another dataset) or an (N, n, 3) .npy file (2-D sets work alike).
    #[arg(long)]
    reference: String,
    /// Generated clouds, in the same forms, with the same points per cloud and dimension.
    #[arg(long)]
    generated: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &GenMetricsArgs) -> Result<()> {
    let reference = deepemd_data::read_cloud_batch(&args.reference)?;
    let generated = deepemd_data::read_cloud_batch(&args.generated)?;
    let total = pair_count(reference.len(), generated.len()) as u64;
    let progress = bar(total, "distances");
    progress.set_message("exact EMD and Chamfer");
    let done = AtomicU64::new(0);
    let tick = || {
        // Redrawing per distance would cost more than a small EMD; every 64th is enough.
        if done.fetch_add(1, Ordering::Relaxed) % 64 == 63 {
            progress.set_position(done.load(Ordering::Relaxed));
        }
    };
    let m = generation_metrics(
        &reference,
        &generated,
        (&args.reference, &args.generated),
        &tick,
    )?;
    progress.finish_and_clear();
    if args.json {
        print_line(serde_json::to_string(&m)?)?;
    } else {
        let pct = |x: f64| format!("{:.1} %", 100.0 * x);
        print_line(format_args!(
            "{} reference and {} generated clouds of {} points ({:.1} s)",
            m.n_reference, m.n_generated, m.points, m.seconds
        ))?;
        print_line("metric   exact EMD   Chamfer")?;
        print_line(format_args!("MMD      {:<11.5} {:.6}", m.mmd_emd, m.mmd_cd))?;
        print_line(format_args!(
            "COV      {:<11} {}",
            pct(m.cov_emd),
            pct(m.cov_cd)
        ))?;
        print_line(format_args!(
            "1-NNA    {:<11} {}",
            pct(m.nna_emd),
            pct(m.nna_cd)
        ))?;
    }
    Ok(())
}

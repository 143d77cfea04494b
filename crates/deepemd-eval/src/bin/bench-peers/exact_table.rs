//! The exact table: every method of `--methods` against scipy's `linear_sum_assignment` and
//! POT's `ot.emd` on identical clouds, with the ratios to the reference exact method and the
//! largest relative difference of the exact values.

use anyhow::{Result, bail};
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Method};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::peers::Peers;
use deepemd_eval::report::{Table, seconds, update_section};
use deepemd_eval::timing::{hardware_line, median_seconds};
use deepemd_methods::ModelSource;

use crate::{Args, SCIPY_MAX_N, repeats_for};

/// Our solvers against scipy and POT's exact solver, into the `bench-peers` section.
pub fn run(args: &Args) -> Result<()> {
    let mut sizes = args.sizes.clone();
    if args.with_8192 && !sizes.contains(&8192) {
        sizes.push(8192);
    }
    if args.with_16384 && !sizes.contains(&16384) {
        sizes.push(16384);
    }
    let estimators: Vec<Box<dyn EmdEstimator>> = args
        .methods
        .iter()
        .map(|m| m.estimator(&ModelSource::Default))
        .collect::<Result<_, _>>()?;
    let reference = estimators
        .iter()
        .position(|e| e.name() == Method::Exact.name())
        .or_else(|| estimators.iter().position(|e| e.is_exact()));
    let Some(reference) = reference else {
        bail!("--methods needs an exact method to compute ratios against");
    };
    let peers = Peers {
        python: args.python.clone(),
        pot: !args.no_pot,
    };
    let cost = Cost::Euclidean;
    let mut header: Vec<String> = vec!["clouds".into(), "n".into()];
    header.extend(estimators.iter().map(|e| format!("{} s", e.name())));
    header.push("scipy s".into());
    if peers.pot {
        header.push("POT s".into());
    }
    let ref_name = estimators[reference].name().to_string();
    header.push(format!("scipy / {ref_name}"));
    if peers.pot {
        header.push(format!("POT / {ref_name}"));
    }
    header.push("max rel diff (exact methods vs scipy; POT above 8192)".into());
    header.push("sinkhorn bias".into());
    let mut table = Table {
        header,
        rows: Vec::new(),
    };
    for set in CloudSet::all(args.meshes.as_deref()) {
        for &n in &sizes {
            let (a, b) = set.pair(n, args.seed)?;
            let repeats = repeats_for(n);
            eprintln!("{} n={n}: ours ...", set.name());
            let mut times = Vec::new();
            let mut values = Vec::new();
            for e in &estimators {
                let skip = (e.name() == Method::Sinkhorn.name() && n > args.sinkhorn_max_n)
                    || (e.name() == Method::Hungarian.name() && n > args.hungarian_max_n);
                if skip {
                    times.push(f64::NAN);
                    values.push(f64::NAN);
                    continue;
                }
                let (t, emd) =
                    median_seconds(repeats, || e.estimate(&a, &b, EmdRequest::new(cost)));
                times.push(t);
                // Sinkhorn's estimate of the EMD is the cost of its plan, ⟨P, C⟩.
                let emd = emd?;
                values.push(emd.transport.map_or(emd.distance, |t| t.value));
            }
            eprintln!("{} n={n}: peers ...", set.name());
            let scipy = n <= SCIPY_MAX_N;
            let peer = peers
                .time_with_scipy(&[(a, b)], cost, repeats, scipy)?
                .remove(0);
            // The value the others are compared with: scipy's, else POT's.
            let truth = if scipy {
                peer.scipy_value
            } else {
                peer.pot_value.unwrap_or(f64::NAN)
            };
            let mut diffs = vec![];
            for (e, v) in estimators.iter().zip(&values) {
                if e.is_exact() && !v.is_nan() {
                    diffs.push((v - truth).abs() / truth);
                }
            }
            if let Some(pv) = peer.pot_value.filter(|_| scipy) {
                diffs.push((pv - truth).abs() / truth);
            }
            let mut row = vec![set.name().to_string(), n.to_string()];
            row.extend(
                times
                    .iter()
                    .map(|&t| if t.is_nan() { "–".into() } else { seconds(t) }),
            );
            let or_dash = |t: f64, text: String| if t.is_nan() { "–".into() } else { text };
            row.push(or_dash(peer.scipy_s, seconds(peer.scipy_s)));
            if let Some(p) = peer.pot_s {
                row.push(seconds(p));
            }
            row.push(or_dash(
                peer.scipy_s,
                format!("{:.2}×", peer.scipy_s / times[reference]),
            ));
            if let Some(p) = peer.pot_s {
                row.push(format!("{:.2}×", p / times[reference]));
            }
            row.push(format!("{:.1e}", diffs.iter().copied().fold(0.0, f64::max)));
            let sinkhorn = estimators
                .iter()
                .position(|e| e.name() == Method::Sinkhorn.name())
                .filter(|&k| !values[k].is_nan())
                .map(|k| format!("{:+.2}%", 100.0 * (values[k] / truth - 1.0)));
            row.push(sinkhorn.unwrap_or_else(|| "–".into()));
            eprintln!("  {}", row.join(" | "));
            table.push(row);
        }
    }
    let md = table.to_markdown();
    println!("{md}");
    let body = format!(
        "## Exact solvers vs scipy and POT (`cargo xtask bench-peers`)\n\n\
         Median wall time per pair (cost matrix included) on identical clouds in one run; \
         Euclidean cost; seed {}; repeats 5 (n ≤ 1024), 3 (n = 2048), 1 (n ≥ 4096). \
         Ratios above 1 mean we are faster. Above n = 8192 scipy is not run (an hour per \
         pair) nor `hungarian` (the same algorithm), and values are compared with POT's. \
         Hardware: {}.\n\n{md}",
        args.seed,
        hardware_line()
    );
    update_section(&args.output, "bench-peers", &body)?;
    eprintln!("wrote the table into {}", args.output.display());
    Ok(())
}

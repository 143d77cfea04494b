//! The Sinkhorn comparison: ours against POT's log-domain and ε-scaling solvers on the same
//! clouds, at the same final ε and tolerance, with the bias each reaches against the exact EMD.

use anyhow::Result;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud};
use deepemd_eval::peers::{SinkhornRun, SinkhornSettings, time_pot_sinkhorn};
use deepemd_eval::report::{Table, seconds};
use deepemd_eval::timing::median_seconds;
use deepemd_solvers::{Exact, Sinkhorn, SinkhornParams};

/// The table's header.
pub fn table() -> Table {
    Table::new(&[
        "clouds",
        "n",
        "ours s",
        "ours iterations",
        "ours marginal L1",
        "ours bias",
        "POT log s",
        "POT log iterations",
        "POT log marginal L1",
        "POT log bias",
        "POT ε-scaling s",
        "POT ε-scaling iterations",
        "POT ε-scaling marginal L1",
        "POT ε-scaling bias",
        "POT log / ours",
        "POT ε-scaling / ours",
    ])
}

/// The settings of both sides: our defaults.
pub fn settings() -> SinkhornSettings {
    let p = SinkhornParams::default();
    SinkhornSettings {
        epsilon: p.epsilon,
        tolerance: p.tolerance,
        max_iterations: p.max_iterations,
    }
}

/// One row: `repeats` timed runs of ours, one of each POT solver (they take minutes); and
/// whether each POT solver (log-domain, ε-scaling) converged, i.e. ended with a marginal L1
/// error within 10× the tolerance.
pub fn row(
    python: &std::path::Path,
    clouds: &str,
    pair: (PointCloud, PointCloud),
    repeats: usize,
) -> Result<(Vec<String>, [bool; 2])> {
    let cost = Cost::Euclidean;
    let (a, b) = &pair;
    let emd = Exact::default()
        .estimate(a, b, EmdRequest::new(cost))?
        .distance;
    let bias = |v: f64| format!("{:+.2}%", 100.0 * (v / emd - 1.0));
    let ours = Sinkhorn::new(SinkhornParams::default())?;
    let (t, run) = median_seconds(repeats, || ours.solve(a, b, EmdRequest::new(cost)));
    let run = run?;
    let value = run.emd.transport.as_ref().map_or(f64::NAN, |t| t.value);
    eprintln!("{clouds} n={}: POT Sinkhorn ...", a.len());
    let pot =
        time_pot_sinkhorn(python, std::slice::from_ref(&pair), cost, settings(), 1)?.remove(0);
    let mut row = vec![
        clouds.to_string(),
        a.len().to_string(),
        seconds(t),
        run.iterations.to_string(),
        format!("{:.1e}", run.marginal_error),
        bias(value),
    ];
    let mut peer = |r: &SinkhornRun| {
        row.push(seconds(r.s));
        row.push(r.iterations.to_string());
        row.push(format!("{:.1e}", r.marginal_l1));
        row.push(bias(r.value));
    };
    peer(&pot.log);
    peer(&pot.eps_scaling);
    row.push(format!("{:.2}×", pot.log.s / t));
    row.push(format!("{:.2}×", pot.eps_scaling.s / t));
    let converged = |r: &SinkhornRun| r.marginal_l1 <= 10.0 * settings().tolerance;
    Ok((row, [converged(&pot.log), converged(&pot.eps_scaling)]))
}

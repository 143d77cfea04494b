//! The figures: estimate vs exact (first split), the CDF of gradient cosines, time vs n.

use std::path::Path;

use anyhow::Result;
use deepemd_eval::plot::{COLORS, Series, cdf, loglog, scatter_vs_exact};
use deepemd_model::Rounding;

use crate::TRAIN_POINTS;
use crate::speed::{SpeedRow, speed_methods};
use crate::table1::{SplitResults, Table1Method};

const ARGMAX: Table1Method = Table1Method::Model(Rounding::RowArgmax);
const SINKHORN_GREEDY: Table1Method =
    Table1Method::Model(Rounding::SinkhornGreedy { iterations: 10 });
const REFINED: Table1Method = Table1Method::Model(Rounding::REFINED);

/// Draws the three figures into `dir`.
pub fn draw(dir: &Path, split_name: &str, first: &SplitResults, speed: &[SpeedRow]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let scatter: Vec<Series> = [ARGMAX, REFINED, Table1Method::SinkhornPlan]
        .iter()
        .zip(COLORS)
        .map(|(&m, color)| Series {
            label: m.label(),
            points: first
                .pairs
                .iter()
                .zip(first.of(m))
                .map(|(p, e)| (p.emd, e.value))
                .collect(),
            color,
        })
        .collect();
    scatter_vs_exact(
        &dir.join("scatter.png"),
        &format!("{split_name}: estimate vs exact EMD (n = {TRAIN_POINTS})"),
        &scatter,
    )?;
    let grads: Vec<Series> = [ARGMAX, SINKHORN_GREEDY, REFINED, Table1Method::SinkhornPlan]
        .iter()
        .zip(COLORS)
        .map(|(&m, color)| Series {
            label: match m {
                Table1Method::SinkhornPlan => "sinkhorn plan".into(),
                _ => m.label(),
            },
            points: first
                .of(m)
                .iter()
                .filter_map(|e| e.grad_cosine)
                .map(|x| (x, 0.0))
                .collect(),
            color,
        })
        .collect();
    cdf(
        &dir.join("gradient_cosine_cdf.png"),
        "cosine(estimated gradient, exact gradient)",
        "cosine similarity",
        &grads,
        (-0.2, 1.0),
    )?;
    let times: Vec<Series> = speed_methods()
        .into_iter()
        .zip(COLORS)
        .map(|(m, color)| Series {
            label: m.to_string(),
            points: speed
                .iter()
                .filter_map(|r| r.of(m).map(|x| (r.n as f64, x.seconds)))
                .collect(),
            color,
        })
        .collect();
    loglog(
        &dir.join("time_vs_n.png"),
        "time per pair",
        "points per cloud",
        "seconds",
        &times,
    )?;
    Ok(())
}

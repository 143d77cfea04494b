//! Periodic evaluation on held-out pairs: how well the row-argmax estimate tracks the exact EMD.

use deepemd_core::metrics::{kendall_tau_b, mean, pearson, relative_errors, spearman};
use deepemd_core::{Cost, Emd, Pairing};
use deepemd_model::{DeepEmd, Rounding};

use crate::checkpoint::EvalRecord;
use crate::error::Result;
use deepemd_data::pairs::LabeledPair;

/// Evaluates the estimator's row argmax on `pairs`.
pub fn evaluate(estimator: &DeepEmd, pairs: &[LabeledPair], step: usize) -> Result<EvalRecord> {
    let mut estimates = Vec::with_capacity(pairs.len());
    let mut exact = Vec::with_capacity(pairs.len());
    let (mut hits, mut rows) = (0usize, 0usize);
    for chunk in pairs.chunks(16) {
        let refs: Vec<_> = chunk.iter().map(|p| (&p.a, &p.b)).collect();
        let logits = estimator.logits_batch(&refs)?;
        for (p, s) in chunk.iter().zip(logits) {
            let pairing = Rounding::RowArgmax.apply(&s, &p.a, &p.b, Cost::Euclidean)?;
            if let Pairing::Map(m) = &pairing {
                hits += m
                    .targets()
                    .iter()
                    .zip(p.matching.targets())
                    .filter(|(x, y)| x == y)
                    .count();
                rows += m.targets().len();
            }
            estimates.push(Emd::of_pairing(&p.a, &p.b, pairing, Cost::Euclidean, false)?.distance);
            exact.push(p.emd);
        }
    }
    Ok(EvalRecord {
        step,
        pearson: pearson(&estimates, &exact).unwrap_or(f64::NAN),
        spearman: spearman(&estimates, &exact).unwrap_or(f64::NAN),
        kendall: kendall_tau_b(&estimates, &exact).unwrap_or(f64::NAN),
        mean_relative_error: relative_errors(&estimates, &exact)
            .map(|r| mean(&r))
            .unwrap_or(f64::NAN),
        row_accuracy: hits as f64 / rows.max(1) as f64,
    })
}

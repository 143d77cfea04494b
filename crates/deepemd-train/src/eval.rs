//! Periodic evaluation on held-out pairs: how well the row-argmax estimate tracks the exact EMD.

use deepemd_core::metrics::{agreement, mean, partner_accuracy};
use deepemd_core::{Cost, Emd};
use deepemd_model::{DeepEmd, Rounding};

use crate::checkpoint::EvalRecord;
use crate::error::Result;
use deepemd_data::pairs::LabeledPair;

/// Evaluates the estimator's row argmax on `pairs`.
pub fn evaluate(estimator: &DeepEmd, pairs: &[LabeledPair], step: usize) -> Result<EvalRecord> {
    let refs: Vec<_> = pairs.iter().map(|p| (&p.a, &p.b)).collect();
    let pairings =
        estimator.matchings_batch(&refs, &[Rounding::RowArgmax], Cost::Euclidean, &|_| {})?;
    let (mut estimates, mut accuracies) = (Vec::new(), Vec::new());
    for (p, mut pairing) in pairs.iter().zip(pairings) {
        let pairing = pairing.remove(0);
        accuracies.extend(partner_accuracy(
            &pairing,
            &p.matching,
            p.a.len(),
            p.b.len(),
        ));
        estimates.push(Emd::of_pairing(&p.a, &p.b, pairing, Cost::Euclidean, false)?.distance);
    }
    let exact: Vec<f64> = pairs.iter().map(|p| p.emd).collect();
    let a = agreement(&estimates, &exact);
    Ok(EvalRecord {
        step,
        pearson: a.pearson,
        spearman: a.spearman,
        kendall: a.kendall,
        mean_relative_error: a.mean_relative_error,
        row_accuracy: mean(&accuracies),
    })
}

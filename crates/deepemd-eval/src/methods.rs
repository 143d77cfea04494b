//! The methods compared in the tables, run on labeled pairs: the model with each rounding,
//! the Sinkhorn baseline, and the Chamfer distance as a scaled proxy.

use deepemd_core::metrics::{cosine_similarity, partner_accuracy};
use deepemd_core::{Cost, Emd, EmdRequest, Pairing, PointCloud, Unequal};
use deepemd_data::pairs::LabeledPair;
use deepemd_model::{DeepEmd, Rounding};
use deepemd_solvers::Sinkhorn;
use rayon::prelude::*;

use crate::error::Result;

/// One method's answer on one pair.
#[derive(Clone, Debug)]
pub struct Estimate {
    /// The estimated EMD.
    pub value: f64,
    /// Share of rows matched as in the optimum (methods with a matching).
    pub row_accuracy: Option<f64>,
    /// Targets hit by two or more rows (non-bijective matchings).
    pub hit_twice: Option<usize>,
    /// Cosine between the method's gradient and the exact one (methods with a gradient).
    pub grad_cosine: Option<f64>,
}

/// The exact gradient of a labeled pair (its optimal matching held fixed).
pub fn exact_gradient(p: &LabeledPair) -> Result<Vec<f64>> {
    let e = Emd::of_pairing(&p.a, &p.b, p.matching.clone(), Cost::Euclidean, true)?;
    Ok(e.gradient.expect("asked for").concatenated())
}

fn from_pairing(p: &LabeledPair, pairing: Pairing, exact_grad: &[f64]) -> Result<Estimate> {
    let accuracy = partner_accuracy(&pairing, &p.matching, p.a.len(), p.b.len());
    let hit_twice = match &pairing {
        Pairing::Map(_) | Pairing::MapFromB(_) => Some(pairing.targets_hit_more_than_once()),
        _ => None,
    };
    let emd = Emd::of_pairing(&p.a, &p.b, pairing, Cost::Euclidean, true)?;
    let grad = emd.gradient.as_ref().expect("asked for").concatenated();
    Ok(Estimate {
        value: emd.distance,
        row_accuracy: accuracy,
        hit_twice,
        grad_cosine: cosine_similarity(&grad, exact_grad).ok(),
    })
}

/// The model's estimates for every pair and rounding (`out[rounding][pair]`), the pairs going
/// through the network `deepemd_model::MAX_BATCH` at a time.
pub fn model_estimates(
    model: &DeepEmd,
    pairs: &[LabeledPair],
    roundings: &[Rounding],
    progress: &dyn Fn(usize),
) -> Result<Vec<Vec<Estimate>>> {
    let refs: Vec<(&PointCloud, &PointCloud)> = pairs.iter().map(|p| (&p.a, &p.b)).collect();
    let pairings = model.matchings_batch(&refs, roundings, Cost::Euclidean, progress)?;
    let mut out: Vec<Vec<Estimate>> = roundings
        .iter()
        .map(|_| Vec::with_capacity(pairs.len()))
        .collect();
    for (p, by_rounding) in pairs.iter().zip(pairings) {
        let exact_grad = exact_gradient(p)?;
        for (k, pairing) in by_rounding.into_iter().enumerate() {
            out[k].push(from_pairing(p, pairing, &exact_grad)?);
        }
    }
    Ok(out)
}

/// Sinkhorn's transport cost, its plan gradient, and the row accuracy of its rounded matching.
pub fn sinkhorn_estimates(
    pairs: &[LabeledPair],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Estimate>> {
    let sinkhorn = Sinkhorn::default();
    pairs
        .iter()
        .map(|p| {
            // The labels (and the model) are partial matchings for unbalanced pairs.
            let request = EmdRequest::new(Cost::Euclidean)
                .with_unequal(Unequal::Partial)
                .with_gradient();
            let r = sinkhorn.solve(&p.a, &p.b, request)?;
            let exact_grad = exact_gradient(p)?;
            let plan = r.emd.transport.as_ref().expect("Sinkhorn computes a plan");
            let grad = plan.gradient.as_ref().expect("asked for").concatenated();
            let accuracy = partner_accuracy(&r.emd.pairing, &p.matching, p.a.len(), p.b.len());
            progress(1);
            Ok(Estimate {
                value: plan.value,
                row_accuracy: accuracy,
                hit_twice: None,
                grad_cosine: cosine_similarity(&grad, &exact_grad).ok(),
            })
        })
        .collect()
}

/// Symmetric Chamfer distance: the mean of the two directed mean nearest-neighbour distances.
pub fn chamfer(a: &PointCloud, b: &PointCloud) -> f64 {
    let directed = |x: &PointCloud, y: &PointCloud| {
        (0..x.len())
            .into_par_iter()
            .map(|i| {
                y.points()
                    .map(|q| Cost::Euclidean.between(x.point(i), q))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum::<f64>()
            / x.len() as f64
    };
    0.5 * (directed(a, b) + directed(b, a))
}

/// Chamfer as a proxy of the EMD, scaled by the median ratio EMD / Chamfer over these pairs (a
/// scale fitted on the test pairs themselves, which flatters Chamfer; its rank statistics are
/// unaffected by the scale).
pub fn chamfer_estimates(pairs: &[LabeledPair]) -> Vec<Estimate> {
    let raw: Vec<f64> = pairs.iter().map(|p| chamfer(&p.a, &p.b)).collect();
    let ratios: Vec<f64> = pairs
        .iter()
        .zip(&raw)
        .filter(|(_, c)| **c > 0.0)
        .map(|(p, c)| p.emd / c)
        .collect();
    let scale = deepemd_core::metrics::median(&ratios);
    raw.iter()
        .map(|c| Estimate {
            value: scale * c,
            row_accuracy: None,
            hit_twice: None,
            grad_cosine: None,
        })
        .collect()
}

//! Summary statistics of one method on one set of labeled pairs.

use deepemd_core::metrics::{agreement, mean, median, quantile, relative_errors, spearman};
use deepemd_data::pairs::{LabeledPair, PairKind};

use crate::methods::Estimate;

/// The kinds whose within-kind correlation is reported (random clouds are too few).
pub const KINDS: [PairKind; 3] = [
    PairKind::DifferentShapes,
    PairKind::SameShapeResampled,
    PairKind::PerturbedCopy,
];

/// Everything a table row needs.
#[derive(Clone, Debug)]
pub struct MethodStats {
    /// Pearson r of estimate vs exact.
    pub pearson: f64,
    /// Spearman ρ.
    pub spearman: f64,
    /// Kendall τ-b.
    pub kendall: f64,
    /// Mean of (estimate − exact) / exact.
    pub mean_rel: f64,
    /// Mean of |estimate − exact| / exact.
    pub mean_abs_rel: f64,
    /// Median of (estimate − exact) / exact.
    pub median_rel: f64,
    /// Spearman ρ within each of [`KINDS`].
    pub rho_by_kind: Vec<f64>,
    /// Mean relative error (bias) within each of [`KINDS`].
    pub bias_by_kind: Vec<f64>,
    /// Mean row accuracy.
    pub row_accuracy: Option<f64>,
    /// Mean share of targets hit twice or more.
    pub hit_twice: Option<f64>,
    /// Median and 10th percentile of the gradient cosine.
    pub grad_cosine: Option<(f64, f64)>,
}

/// Statistics of `estimates` against the pairs' exact values (undefined ones are NaN).
pub fn method_stats(pairs: &[LabeledPair], estimates: &[Estimate]) -> MethodStats {
    let est: Vec<f64> = estimates.iter().map(|e| e.value).collect();
    let exact: Vec<f64> = pairs.iter().map(|p| p.emd).collect();
    let overall = agreement(&est, &exact);
    let rel = relative_errors(&est, &exact).unwrap_or_default();
    let abs_rel: Vec<f64> = rel.iter().map(|r| r.abs()).collect();
    let within = |kind: PairKind| -> (f64, f64) {
        let idx: Vec<usize> = (0..pairs.len())
            .filter(|&k| pairs[k].kind == kind)
            .collect();
        let e: Vec<f64> = idx.iter().map(|&k| est[k]).collect();
        let x: Vec<f64> = idx.iter().map(|&k| exact[k]).collect();
        let bias = relative_errors(&e, &x)
            .map(|r| mean(&r))
            .unwrap_or(f64::NAN);
        (spearman(&e, &x).unwrap_or(f64::NAN), bias)
    };
    let (rho_by_kind, bias_by_kind) = KINDS.iter().map(|&k| within(k)).unzip();
    let collect = |f: &dyn Fn(&Estimate) -> Option<f64>| -> Option<Vec<f64>> {
        let v: Vec<f64> = estimates.iter().filter_map(f).collect();
        (!v.is_empty()).then_some(v)
    };
    let row = collect(&|e| e.row_accuracy).map(|v| mean(&v));
    // The points that are mapped: the smaller cloud's.
    let n_points = pairs.first().map_or(1, |p| p.a.len().min(p.b.len())) as f64;
    let hit = collect(&|e| e.hit_twice.map(|h| h as f64 / n_points)).map(|v| mean(&v));
    let cos = collect(&|e| e.grad_cosine).unwrap_or_default();
    MethodStats {
        pearson: overall.pearson,
        spearman: overall.spearman,
        kendall: overall.kendall,
        mean_rel: mean(&rel),
        mean_abs_rel: mean(&abs_rel),
        median_rel: median(&rel),
        rho_by_kind,
        bias_by_kind,
        row_accuracy: row,
        hit_twice: hit,
        grad_cosine: (!cos.is_empty()).then(|| (median(&cos), quantile(&cos, 0.1))),
    }
}

/// `0.9912`, or `–` for NaN.
pub fn f4(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.4}")
    }
}

/// `+1.23%`, or `–` for NaN.
pub fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:+.2}%", 100.0 * x)
    }
}

/// An optional value with `f`, or `–`.
pub fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or_else(|| "–".into(), f)
}

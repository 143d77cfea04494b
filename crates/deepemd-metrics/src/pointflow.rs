//! The metrics under PointFlow's key names (`metrics/evaluation_metrics.py`,
//! `compute_all_metrics` and `jsd_between_point_cloud_sets`), so that its users can switch
//! without rewriting their tables: `deepemd gen-metrics --format pointflow`,
//! `deepemd.gen_metrics(..., format="pointflow")`.
//!
//! What differs from PointFlow's code (docs/math.md, "PointFlow's conventions"):
//! - **EMD**: PointFlow's `emd_approx` is an approximate matching (`approxmatch.cu`, a fixed
//!   budget of soft auction rounds), whose cost is at least the exact EMD; here it is the exact,
//!   certified EMD. Both are the *mean unsquared* Euclidean distance over the matching
//!   (`match_cost / N`).
//! - **Chamfer**: the same (squared nearest-neighbour distances, each direction averaged,
//!   summed).
//! - **Ties**: PointFlow's `torch.min`/`topk` order is unspecified on equal distances; here
//!   ties go to the lower index, generated clouds before reference ones in 1-NNA.
//! - **Normalization**: none here: clouds are taken as given. PointFlow's `test.py` scales both
//!   sets back by the dataset's mean and standard deviation before evaluating; do the same to
//!   yours first.
//! - **JSD**: the same grid (28³ cells in `[−0.5, 0.5]³`, those outside the ball of radius 0.5
//!   removed, each point counted in its nearest cell centre, base-2 JSD of the counts), in f64
//!   where PointFlow uses float32.

use crate::generation_metrics::GenerationMetrics;

/// The metrics under PointFlow's key names, in `compute_all_metrics`'s order, then `jsd`
/// (`None` where it is not known: 2-D clouds, a distance set).
pub fn pointflow_keys(m: &GenerationMetrics) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("lgan_mmd-CD", Some(m.mmd_cd)),
        ("lgan_cov-CD", Some(m.cov_cd)),
        ("lgan_mmd_smp-CD", Some(m.mmd_smp_cd)),
        ("lgan_mmd-EMD", Some(m.mmd_emd)),
        ("lgan_cov-EMD", Some(m.cov_emd)),
        ("lgan_mmd_smp-EMD", Some(m.mmd_smp_emd)),
        ("1-NN-CD-acc_t", Some(m.nna_cd_reference)),
        ("1-NN-CD-acc_f", Some(m.nna_cd_generated)),
        ("1-NN-CD-acc", Some(m.nna_cd)),
        ("1-NN-EMD-acc_t", Some(m.nna_emd_reference)),
        ("1-NN-EMD-acc_f", Some(m.nna_emd_generated)),
        ("1-NN-EMD-acc", Some(m.nna_emd)),
        ("jsd", m.jsd),
    ]
}

/// [`pointflow_keys`] as one JSON object.
pub fn pointflow_json(m: &GenerationMetrics) -> serde_json::Value {
    let map = pointflow_keys(m)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.map_or(serde_json::Value::Null, Into::into)))
        .collect();
    serde_json::Value::Object(map)
}

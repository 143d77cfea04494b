//! One EMD result as the project prints it — `deepemd emd --json`, each line of `deepemd
//! emd-batch`, the fields of Python's `EmdResult` — one type and one serializer, so the three
//! cannot drift apart. Its `method` is the spec's spelling, which `--method` and `method=`
//! accept back.

use deepemd_core::{Emd, EmdRequest, Pairing};
use serde_json::Value;

use crate::MethodSpec;

/// An EMD result with what it was asked with.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EmdRecord {
    /// The pair's index in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<usize>,
    /// The first cloud's name in a batch (a file or a selector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<String>,
    /// The second cloud's name in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
    /// The method's spelling (`exact`, `model/refined`, …).
    pub method: String,
    /// The ground cost's name.
    pub cost: String,
    /// The EMD (docs/math.md).
    pub distance: f64,
    /// Points of the first cloud.
    pub n_a: usize,
    /// Points of the second cloud.
    pub n_b: usize,
    /// Wall time of the solve, where it was timed alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The convention for unequal sizes (`partial` or `uniform`), when the sizes differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unequal: Option<String>,
    /// The model's rounding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding: Option<String>,
    /// For a map (the model's row argmax), how many targets it hits more than once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets_hit_more_than_once: Option<usize>,
    /// Sinkhorn: its plan's ⟨P, C⟩ (`distance` is the cost of its rounding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_cost: Option<f64>,
    /// `exact`: how far above the optimum `distance` can be ([`Emd::certificate_gap`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_gap: Option<f64>,
    /// The matching, when asked (see [`matching_value`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching: Option<Value>,
}

impl EmdRecord {
    /// The record of `emd`, solved by `spec` for `request` on clouds of `sizes` points.
    pub fn new(spec: MethodSpec, request: EmdRequest, sizes: (usize, usize), emd: &Emd) -> Self {
        let maps = matches!(emd.pairing, Pairing::Map(_) | Pairing::MapFromB(_));
        Self {
            pair: None,
            a: None,
            b: None,
            method: spec.to_string(),
            cost: request.cost.name().to_string(),
            distance: emd.distance,
            n_a: sizes.0,
            n_b: sizes.1,
            seconds: None,
            unequal: (sizes.0 != sizes.1).then(|| request.unequal.name().to_string()),
            rounding: spec.rounding().map(|r| r.to_string()),
            targets_hit_more_than_once: maps.then(|| emd.pairing.targets_hit_more_than_once()),
            transport_cost: emd.transport.as_ref().map(|t| t.value),
            certificate_gap: emd.certificate_gap,
            matching: None,
        }
    }

    /// The same record as pair `pair` of a batch, of the clouds named `a` and `b`.
    pub fn in_batch(self, pair: usize, a: &str, b: &str) -> Self {
        Self {
            pair: Some(pair),
            a: Some(a.to_string()),
            b: Some(b.to_string()),
            ..self
        }
    }

    /// The same record with the solve's wall time.
    pub fn with_seconds(self, seconds: f64) -> Self {
        Self {
            seconds: Some(seconds),
            ..self
        }
    }

    /// The same record with the matching of `emd` ([`matching_value`]).
    pub fn with_matching(self, emd: &Emd) -> Self {
        let unequal = self.n_a != self.n_b;
        Self {
            matching: Some(matching_value(&emd.pairing, unequal)),
            ..self
        }
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record serializes")
    }
}

/// The matching as JSON: for equal sizes the target in B of every point of A; for unequal sizes
/// the list of pairs `[i, j]`, whichever cloud is the smaller; a transport plan as
/// `[i, j, mass]` entries (masses summing to 1).
pub fn matching_value(pairing: &Pairing, unequal: bool) -> Value {
    if let Pairing::Plan(plan) = pairing {
        return serde_json::json!(plan.weighted().collect::<Vec<_>>());
    }
    match pairing.targets() {
        Some(targets) if !unequal => serde_json::json!(targets),
        _ => serde_json::json!(pairing.pairs().collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelSource;
    use deepemd_core::{Cost, Method, PointCloud, Unequal};

    /// The `method` of every spec's record is accepted back as that spec, and the optional
    /// fields appear exactly when they mean something.
    #[test]
    fn every_method_a_record_prints_parses_back_to_its_spec() {
        let a = PointCloud::from_points(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.5]]).unwrap();
        let b = PointCloud::from_points(&[[1.0, 1.0], [0.0, 1.0]]).unwrap();
        for spec in MethodSpec::every() {
            let estimator = spec.estimator(&ModelSource::Default).unwrap();
            for (x, y) in [(&a, &a), (&a, &b)] {
                let request = EmdRequest::new(Cost::Euclidean).with_unequal(Unequal::Partial);
                let emd = estimator.estimate(x, y, request).unwrap();
                let record = EmdRecord::new(spec, request, (x.len(), y.len()), &emd);
                let json: Value =
                    serde_json::from_str(&record.with_matching(&emd).to_json()).unwrap();
                let method = json["method"].as_str().unwrap();
                assert_eq!(method.parse::<MethodSpec>().unwrap(), spec, "{method}");
                // serde_json's parser (without `float_roundtrip`) may be one ulp off; its writer
                // is exact.
                let d = json["distance"].as_f64().unwrap();
                assert!((d - emd.distance).abs() <= 1e-15 * emd.distance, "{d}");
                assert_eq!(json["rounding"].is_string(), spec.method() == Method::Model);
                assert_eq!(
                    json["certificate_gap"].is_number(),
                    spec.method() == Method::Exact
                );
                assert_eq!(
                    json["transport_cost"].is_number(),
                    spec.method() == Method::Sinkhorn
                );
                assert_eq!(
                    json["unequal"].as_str(),
                    (x.len() != y.len()).then_some("partial")
                );
                assert!(json["matching"].is_array() && json.get("pair").is_none());
            }
        }
    }
}

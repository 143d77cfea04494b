//! Our metrics under PointFlow's key names against PointFlow's formulas
//! (`fixtures/pointflow.json`, made by `fixtures/make_pointflow.py` with scipy's exact matching
//! in place of PointFlow's approximate one).

mod common;

use common::clouds;
use deepemd_metrics::{generation_metrics, pointflow_keys};
use serde_json::Value;

#[test]
fn every_pointflow_key_matches_its_formula() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/pointflow.json")).unwrap();
    let cases = fixture["cases"].as_object().unwrap();
    assert!(cases.len() >= 3);
    for (name, case) in cases {
        let (reference, generated) = (clouds(&case["reference"]), clouds(&case["generated"]));
        let m = generation_metrics(&reference, &generated, ("r", "g"), &|| {}).unwrap();
        let keys = pointflow_keys(&m);
        assert_eq!(keys.len(), 13);
        for (key, ours) in keys {
            let ours = ours.unwrap_or_else(|| panic!("{name}: {key} missing"));
            let theirs = case[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: {key} not in the fixture"));
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0),
                "{name}: {key} = {ours}, PointFlow's formula {theirs}"
            );
        }
    }
}

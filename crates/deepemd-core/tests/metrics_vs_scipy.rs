//! Our metrics against scipy's on the same data (`fixtures/make_metrics.py` wrote the values).

use deepemd_core::metrics::{kendall_tau_b, pearson, spearman};
use deepemd_core::tolerance::METRIC_VS_SCIPY;

#[derive(serde::Deserialize)]
struct Case {
    x: Vec<f64>,
    y: Vec<f64>,
    pearson: f64,
    spearman: f64,
    kendall_b: f64,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn close(ours: f64, scipy: f64) -> bool {
    (ours - scipy).abs() <= METRIC_VS_SCIPY * scipy.abs().max(1.0)
}

#[test]
fn pearson_spearman_kendall_match_scipy() {
    let text = include_str!("fixtures/metrics.json");
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    assert_eq!(fixture.cases.len(), 5);
    for (k, c) in fixture.cases.iter().enumerate() {
        let r = pearson(&c.x, &c.y).unwrap();
        let rho = spearman(&c.x, &c.y).unwrap();
        let tau = kendall_tau_b(&c.x, &c.y).unwrap();
        assert!(
            close(r, c.pearson),
            "case {k}: pearson {r} vs {}",
            c.pearson
        );
        assert!(
            close(rho, c.spearman),
            "case {k}: spearman {rho} vs {}",
            c.spearman
        );
        assert!(
            close(tau, c.kendall_b),
            "case {k}: kendall {tau} vs {}",
            c.kendall_b
        );
    }
}

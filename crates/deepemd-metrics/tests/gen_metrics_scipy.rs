//! The generation metrics against an independent computation: scipy's
//! `linear_sum_assignment` EMD and numpy's Chamfer on small sets (`fixtures/gen_metrics.json`,
//! made by `fixtures/make_gen_metrics.py`).

mod common;

use common::clouds;
use deepemd_core::PointCloud;
use deepemd_metrics::{check_sets, generation_metrics};
use serde_json::Value;

#[test]
fn metrics_match_scipy_on_every_fixture_case() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/gen_metrics.json")).unwrap();
    let cases = fixture["cases"].as_object().unwrap();
    assert!(cases.len() >= 3);
    for (name, case) in cases {
        let reference = clouds(&case["reference"]);
        let generated = clouds(&case["generated"]);
        let m = generation_metrics(&reference, &generated, ("r", "g"), &|| {}).unwrap();
        let ours = [
            ("mmd_emd", m.mmd_emd),
            ("cov_emd", m.cov_emd),
            ("nna_emd", m.nna_emd),
            ("mmd_cd", m.mmd_cd),
            ("cov_cd", m.cov_cd),
            ("nna_cd", m.nna_cd),
        ];
        for (key, value) in ours {
            let expected = case[key].as_f64().unwrap();
            assert!(
                (value - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{name}: {key} = {value}, scipy {expected}"
            );
        }
        assert_eq!(
            (m.n_reference, m.n_generated),
            (reference.len(), generated.len())
        );
        assert_eq!(m.points, reference[0].len());
    }
}

#[test]
fn sets_that_cannot_be_compared_are_errors_naming_the_files() {
    let cloud =
        |n: usize| PointCloud::from_flat(3, (0..3 * n).map(|k| k as f64).collect()).unwrap();
    let err = check_sets(&[cloud(4)], &[cloud(5)], ("ref.h5", "gen.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ref.h5") && err.contains("gen.h5") && err.contains('5'),
        "{err}"
    );
    let err = check_sets(&[cloud(4), cloud(3)], &[cloud(4)], ("ref.h5", "gen.h5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ref.h5") && err.contains("cloud 1"), "{err}");
    let err = check_sets(&[], &[cloud(4)], ("ref.h5", "gen.h5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ref.h5") && err.contains("no clouds"), "{err}");
}

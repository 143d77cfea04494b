//! The Python module against the Rust solver it wraps and against scipy and POT, on identical
//! clouds in one run: `deepemd.emd(a, b)` called from NumPy arrays (conversion included), the
//! same solve in Rust, and the binding's overhead.

use anyhow::Result;
use deepemd_core::{Cost, EmdEstimator, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::peers::time_python_binding;
use deepemd_eval::report::{Table, seconds};
use deepemd_eval::timing::median_seconds;
use deepemd_solvers::Exact;

pub fn table() -> Table {
    Table::new(&[
        "clouds",
        "n",
        "exact in Rust s",
        "deepemd.emd in Python s",
        "binding overhead",
        "scipy s",
        "POT s",
        "scipy / deepemd.emd",
        "POT / deepemd.emd",
        "max rel diff",
    ])
}

/// Repeats: the overhead is a few percent at most, so the medians need more runs than the
/// peer tables.
pub fn repeats_for(n: usize) -> usize {
    if n <= 1024 { 21 } else { 7 }
}

/// One row: `set` at `n` points.
pub fn row(
    python: &std::path::Path,
    pot: bool,
    set: &CloudSet,
    n: usize,
    seed: u64,
) -> Result<Vec<String>> {
    let (a, b) = set.pair(n, seed)?;
    let repeats = repeats_for(n);
    let req = EmdRequest::new(Cost::Euclidean);
    let exact = Exact::default();
    // One untimed solve first, as the Python script does (page faults, caches).
    exact.estimate(&a, &b, req)?;
    let (rust_s, rust) = median_seconds(repeats, || exact.estimate(&a, &b, req));
    let rust = rust?.distance;
    let py = time_python_binding(python, &[(a, b)], pot, repeats)?
        .pop()
        .expect("one pair, one line");
    let rel = |v: f64| (v - rust).abs() / rust.abs().max(f64::MIN_POSITIVE);
    let mut diff = rel(py.deepemd_value).max(rel(py.scipy_value));
    if let Some(v) = py.pot_value {
        diff = diff.max(rel(v));
    }
    let ratio = |x: Option<f64>| x.map_or("–".into(), |x| format!("{:.2}×", x / py.deepemd_s));
    Ok(vec![
        set.name().to_string(),
        n.to_string(),
        seconds(rust_s),
        seconds(py.deepemd_s),
        format!("{:+.1} %", 100.0 * (py.deepemd_s / rust_s - 1.0)),
        seconds(py.scipy_s),
        py.pot_s.map_or("–".into(), seconds),
        ratio(Some(py.scipy_s)),
        ratio(py.pot_s),
        format!("{diff:.1e}"),
    ])
}

//! Clouds of different sizes: `exact` under both conventions against scipy's rectangular
//! `linear_sum_assignment` (partial) and POT's `ot.emd` with weights 1/n and 1/m (uniform), on
//! identical clouds in one run, with `exact` on equal sizes of the same total as a yardstick.

use anyhow::Result;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Unequal};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::peers::Peers;
use deepemd_eval::report::{Table, seconds};
use deepemd_eval::timing::median_seconds;
use deepemd_solvers::{Exact, Hungarian};

/// Two sizes `n x m`, as `--unequal-sizes` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes(pub usize, pub usize);

impl std::str::FromStr for Sizes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("sizes {s:?} are not of the form NxM (e.g. 2048x4096)");
        let (n, m) = s.split_once('x').ok_or_else(bad)?;
        let (n, m) = (n.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if n == 0 || m == 0 || n == m {
            return Err(format!("sizes {s:?} must be two different positive sizes"));
        }
        Ok(Sizes(n, m))
    }
}

impl std::fmt::Display for Sizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.0, self.1)
    }
}

pub fn table() -> Table {
    Table {
        header: [
            "clouds",
            "n vs m",
            "exact partial s",
            "hungarian partial s",
            "scipy partial s",
            "exact uniform s",
            "POT uniform s",
            "exact, n = m = (n+m)/2 s",
            "scipy / exact (partial)",
            "POT / exact (uniform)",
            "max rel diff",
            "uniform / partial",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    }
}

/// One row: every solver on the pair of `set` with sizes `sizes`, `repeats` runs each.
pub fn row(
    peers: &Peers,
    set: &CloudSet,
    sizes: Sizes,
    seed: u64,
    repeats: usize,
) -> Result<Vec<String>> {
    let Sizes(n, m) = sizes;
    let (a, b) = set.pair_sized(n, m, seed)?;
    let cost = Cost::Euclidean;
    let exact = Exact::default();
    let time = |e: &dyn EmdEstimator, unequal| -> Result<(f64, f64)> {
        let req = EmdRequest::new(cost).with_unequal(unequal);
        let (t, emd) = median_seconds(repeats, || e.estimate(&a, &b, req));
        Ok((t, emd?.distance))
    };
    let (exact_partial_s, partial) = time(&exact, Unequal::Partial)?;
    let (hungarian_s, hungarian_value) = time(&Hungarian, Unequal::Partial)?;
    let (exact_uniform_s, uniform) = time(&exact, Unequal::Uniform)?;
    let half = (n + m) / 2;
    let (ea, eb) = set.pair(half, seed)?;
    let (equal_s, equal) =
        median_seconds(repeats, || exact.estimate(&ea, &eb, EmdRequest::new(cost)));
    equal?;
    let peer = peers
        .time(&[(a.clone(), b.clone())], cost, repeats)?
        .remove(0);
    let rel = |x: f64, y: f64| (x - y).abs() / y.abs().max(f64::MIN_POSITIVE);
    let mut diff = rel(partial, peer.scipy_value).max(rel(hungarian_value, peer.scipy_value));
    if let Some(pot) = peer.pot_value {
        diff = diff.max(rel(uniform, pot));
    }
    let dash = || "–".to_string();
    Ok(vec![
        set.name().into(),
        format!("{n} vs {m}"),
        seconds(exact_partial_s),
        seconds(hungarian_s),
        seconds(peer.scipy_s),
        seconds(exact_uniform_s),
        peer.pot_s.map_or_else(dash, seconds),
        seconds(equal_s),
        format!("{:.2}×", peer.scipy_s / exact_partial_s),
        peer.pot_s
            .map_or_else(dash, |p| format!("{:.2}×", p / exact_uniform_s)),
        format!("{diff:.1e}"),
        format!("{:.2}", uniform / partial),
    ])
}

//! scipy's `linear_sum_assignment` and POT's `ot.emd` (run by `peers/peers.py`), and POT's
//! Sinkhorn solvers (`peers/sinkhorn_peers.py`), on the very clouds our solvers see (written as
//! `.npy` files in f64, so no rounding differs).

use std::path::{Path, PathBuf};
use std::process::Command;

use deepemd_core::{Cost, PointCloud};
use deepemd_data::formats::write_npy_f64;

use crate::error::{Error, Result, io};

/// Median time and value of each peer on one pair.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct PeerTiming {
    /// scipy's median seconds (cost matrix and solve); NaN when not run.
    #[serde(default = "not_run", deserialize_with = "nan_if_null")]
    pub scipy_s: f64,
    /// scipy's optimal mean cost; NaN when not run.
    #[serde(default = "not_run", deserialize_with = "nan_if_null")]
    pub scipy_value: f64,
    /// POT's median seconds, when run.
    pub pot_s: Option<f64>,
    /// POT's optimal mean cost, when run.
    pub pot_value: Option<f64>,
}

fn not_run() -> f64 {
    f64::NAN
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The Python interpreter and the peers script.
#[derive(Clone, Debug)]
pub struct Peers {
    /// A python with numpy, scipy (and POT when `pot`).
    pub python: PathBuf,
    /// Whether to time POT too.
    pub pot: bool,
}

impl Peers {
    /// Times the peers on each pair with `repeats` runs each.
    pub fn time(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        cost: Cost,
        repeats: usize,
    ) -> Result<Vec<PeerTiming>> {
        self.time_with_scipy(pairs, cost, repeats, true)
    }

    /// As [`Peers::time`], with scipy left out when `scipy` is false (its O(n³) dense solve
    /// takes an hour at 16 384 points); its fields are then NaN.
    pub fn time_with_scipy(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        cost: Cost,
        repeats: usize,
        scipy: bool,
    ) -> Result<Vec<PeerTiming>> {
        let spec = serde_json::json!({
            "repeats": repeats.max(1),
            "pot": self.pot,
            "scipy": scipy,
            "cost": cost.name(),
        });
        run_script(&self.python, "peers.py", spec, pairs)
    }
}

/// The Python module `deepemd` next to scipy and POT on one pair (see
/// `peers/python_binding.py`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct BindingTiming {
    /// `deepemd.emd(a, b)` (exact) median seconds, from NumPy arrays to the value.
    pub deepemd_s: f64,
    /// Its value.
    pub deepemd_value: f64,
    /// scipy's median seconds.
    pub scipy_s: f64,
    /// scipy's value.
    pub scipy_value: f64,
    /// POT's median seconds, when run.
    pub pot_s: Option<f64>,
    /// POT's value, when run.
    pub pot_value: Option<f64>,
}

/// Times `deepemd.emd` (the Python module, which must be installed in `python`), scipy and POT
/// on each pair of equal-size clouds.
pub fn time_python_binding(
    python: &Path,
    pairs: &[(PointCloud, PointCloud)],
    pot: bool,
    repeats: usize,
) -> Result<Vec<BindingTiming>> {
    let spec = serde_json::json!({ "repeats": repeats.max(1), "pot": pot });
    run_script(python, "python_binding.py", spec, pairs)
}

/// One run of a POT Sinkhorn solver (see `peers/sinkhorn_peers.py`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct SinkhornRun {
    /// Median seconds (cost matrix included).
    pub s: f64,
    /// The plan's cost `⟨P, C⟩`.
    pub value: f64,
    /// Sinkhorn iterations in all.
    pub iterations: usize,
    /// L1 error of the worse of the plan's two marginals.
    pub marginal_l1: f64,
}

/// POT's two Sinkhorn solvers on one pair.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct SinkhornPeerTiming {
    /// `ot.sinkhorn(method = "sinkhorn_log")`.
    pub log: SinkhornRun,
    /// `ot.bregman.sinkhorn_epsilon_scaling`.
    pub eps_scaling: SinkhornRun,
}

/// The settings both sides of the Sinkhorn comparison share.
#[derive(Clone, Copy, Debug)]
pub struct SinkhornSettings {
    /// Final ε as a fraction of the largest cost.
    pub epsilon: f64,
    /// Marginal tolerance (ours: L1 of the row marginals; POT: its own L2 test).
    pub tolerance: f64,
    /// Most iterations.
    pub max_iterations: usize,
}

/// Times POT's log-domain and ε-scaling Sinkhorn on each pair with `repeats` runs each.
pub fn time_pot_sinkhorn(
    python: &Path,
    pairs: &[(PointCloud, PointCloud)],
    cost: Cost,
    settings: SinkhornSettings,
    repeats: usize,
) -> Result<Vec<SinkhornPeerTiming>> {
    let spec = serde_json::json!({
        "repeats": repeats.max(1),
        "cost": cost.name(),
        "epsilon": settings.epsilon,
        "tolerance": settings.tolerance,
        "max_iterations": settings.max_iterations,
    });
    run_script(python, "sinkhorn_peers.py", spec, pairs)
}

/// Writes the pairs as `.npy` files, adds them to `spec` as `"pairs"`, runs `peers/{script}`
/// on it and reads one JSON line per pair.
fn run_script<T: serde::de::DeserializeOwned>(
    python: &Path,
    script: &str,
    mut spec: serde_json::Value,
    pairs: &[(PointCloud, PointCloud)],
) -> Result<Vec<T>> {
    let dir = tempfile::tempdir().map_err(io(std::env::temp_dir()))?;
    let mut files = Vec::new();
    for (k, (a, b)) in pairs.iter().enumerate() {
        let (pa, pb) = (
            dir.path().join(format!("a{k}.npy")),
            dir.path().join(format!("b{k}.npy")),
        );
        write_npy_f64(&pa, a)?;
        write_npy_f64(&pb, b)?;
        files.push(serde_json::json!({"a": pa, "b": pb}));
    }
    spec["pairs"] = serde_json::Value::Array(files);
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).map_err(io(&spec_path))?;
    let fail = |message: String| Error::Child {
        program: script.into(),
        message,
    };
    let out = Command::new(python)
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("peers")
                .join(script),
        )
        .arg(&spec_path)
        .output()
        .map_err(io(python))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let timings = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| fail(format!("printed something other than JSON lines ({e})")))?;
    if timings.len() != pairs.len() {
        return Err(fail(format!(
            "timed {} pairs of {}",
            timings.len(),
            pairs.len()
        )));
    }
    Ok(timings)
}

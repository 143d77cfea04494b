//! scipy's `linear_sum_assignment` and POT's `ot.emd`, run by `peers/peers.py` on the very
//! clouds our solvers see (written as `.npy` files in f64, so no rounding differs).

use std::path::{Path, PathBuf};
use std::process::Command;

use deepemd_core::{Cost, PointCloud};
use deepemd_data::formats::write_npy_f64;

use crate::error::{Error, Result, io};

/// Median time and value of each peer on one pair.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct PeerTiming {
    /// scipy's median seconds (cost matrix and solve).
    pub scipy_s: f64,
    /// scipy's optimal mean cost.
    pub scipy_value: f64,
    /// POT's median seconds, when run.
    pub pot_s: Option<f64>,
    /// POT's optimal mean cost, when run.
    pub pot_value: Option<f64>,
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
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/peers.py")
    }

    /// Times the peers on each pair with `repeats` runs each.
    pub fn time(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        cost: Cost,
        repeats: usize,
    ) -> Result<Vec<PeerTiming>> {
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
        let spec = serde_json::json!({
            "repeats": repeats.max(1),
            "pot": self.pot,
            "cost": cost.name(),
            "pairs": files,
        });
        let spec_path = dir.path().join("spec.json");
        std::fs::write(&spec_path, spec.to_string()).map_err(io(&spec_path))?;
        let fail = |message: String| Error::Child {
            program: "peers.py".into(),
            message,
        };
        let out = Command::new(&self.python)
            .arg(Self::script())
            .arg(&spec_path)
            .output()
            .map_err(io(&self.python))?;
        if !out.status.success() {
            return Err(fail(String::from_utf8_lossy(&out.stderr).into_owned()));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let timings = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<Vec<PeerTiming>, _>>()
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
}

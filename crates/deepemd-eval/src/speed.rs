//! Per-pair time and peak memory of each method, each measured in a fresh child process (the
//! peak resident size of a process only grows, so sharing one would hide every peak but the
//! largest).

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result, io};

/// What one child measured.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Measurement {
    /// Median seconds per pair.
    pub seconds: f64,
    /// Peak resident memory of the child, MiB (its baseline included).
    pub peak_mib: f64,
}

/// The peak resident set size of this process so far (Linux `VmHWM`), MiB.
pub fn peak_rss_mib() -> f64 {
    crate::timing::proc_kib("/proc/self/status", "VmHWM").map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs this executable's hidden `measure` mode with `args` and reads its one JSON line.
pub fn measure_in_child(exe: &Path, args: &[String]) -> Result<Measurement> {
    let out = Command::new(exe)
        .arg("measure")
        .args(args)
        .output()
        .map_err(io(exe))?;
    let fail = |message: String| Error::Child {
        program: format!("{} measure {}", exe.display(), args.join(" ")),
        message,
    };
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .last()
        .ok_or_else(|| fail("printed nothing".into()))?;
    serde_json::from_str(line).map_err(|e| fail(format!("printed '{line}' ({e})")))
}

//! `bench-peers --large`: the exact solver alone at sizes no peer reaches here (32 768 and
//! 65 536 points), each solve in a fresh child process (this binary's hidden `measure-large`
//! mode), so the peak memory reported is that solve's own.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use deepemd_core::{Cost, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::report::{Table, seconds, update_section};
use deepemd_eval::speed::peak_rss_mib;
use deepemd_eval::timing::hardware_line;
use deepemd_solvers::Exact;

/// The hidden first argument of the child mode.
pub const MEASURE: &str = "measure-large";

/// What one child measured.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Measured {
    seconds: f64,
    peak_mib: f64,
    distance: f64,
    gap: f64,
    certificate_rounds: usize,
}

/// The child: `measure-large <cube|sphere|real> <n> <seed> [meshes]`; one solve, one JSON line.
pub fn measure(args: &[String]) -> Result<()> {
    let [set, n, seed, rest @ ..] = args else {
        bail!("usage: bench-peers {MEASURE} <cube|sphere|real> <n> <seed> [meshes]");
    };
    let set =
        CloudSet::from_key(set, rest.first().map(PathBuf::from)).map_err(anyhow::Error::msg)?;
    let (a, b) = set.pair(n.parse()?, seed.parse()?)?;
    let start = std::time::Instant::now();
    let solved = Exact::default().solve(&a, &b, EmdRequest::new(Cost::Euclidean))?;
    let out = Measured {
        seconds: start.elapsed().as_secs_f64(),
        peak_mib: peak_rss_mib(),
        distance: solved.emd.distance,
        gap: solved.certificate.gap() / a.len() as f64,
        certificate_rounds: solved.stats.certificate_rounds,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// Runs `cmd` to the end and returns its output, or kills it after `timeout_s` seconds and
/// returns None.
fn output_within(mut cmd: Command, timeout_s: u64) -> Result<Option<std::process::Output>> {
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let start = std::time::Instant::now();
    while child.try_wait()?.is_none() {
        if start.elapsed().as_secs() >= timeout_s {
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Ok(Some(child.wait_with_output()?))
}

/// The parent: every set at every size, one child each; writes the `bench-peers-large` section.
pub fn run(
    meshes: Option<&Path>,
    sizes: &[usize],
    seed: u64,
    timeout_s: u64,
    output: &Path,
) -> Result<()> {
    let exe = std::env::current_exe()?;
    let mut table = Table::new(&[
        "clouds",
        "n",
        "exact s (certified)",
        "peak memory MiB",
        "EMD",
        "certificate gap (EMD units)",
        "certificate rounds",
    ]);
    for set in CloudSet::all(meshes) {
        for &n in sizes {
            eprintln!("{} n = {n}: exact in a child process ...", set.name());
            let mut cmd = Command::new(&exe);
            cmd.args([MEASURE, set.key(), &n.to_string(), &seed.to_string()]);
            if let CloudSet::RealShapes { meshes } = &set {
                cmd.arg(meshes);
            }
            let Some(out) = output_within(cmd, timeout_s)? else {
                let row = vec![
                    set.name().to_string(),
                    n.to_string(),
                    format!("> {timeout_s} (stopped)"),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                ];
                eprintln!("  {}", row.join(" | "));
                table.push(row);
                continue;
            };
            if !out.status.success() {
                bail!(
                    "{} n = {n}: {}",
                    set.name(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let m: Measured = serde_json::from_slice(&out.stdout)
                .with_context(|| format!("{} n = {n}: the child's output", set.name()))?;
            let row = vec![
                set.name().to_string(),
                n.to_string(),
                seconds(m.seconds),
                format!("{:.0}", m.peak_mib),
                format!("{:.6}", m.distance),
                format!("{:.1e}", m.gap),
                m.certificate_rounds.to_string(),
            ];
            eprintln!("  {}", row.join(" | "));
            table.push(row);
        }
    }
    let md = table.to_markdown();
    println!("{md}");
    let body = format!(
        "## The exact solver at large sizes (`cargo xtask bench-peers --large`)\n\n\
         Our certified exact solver alone (no peer finishes here in reasonable time: scipy's \
         dense O(n³) solve, POT's dense n × n cost matrix of {} GiB at 65 536 points), one \
         solve per fresh child process so the peak resident memory is that solve's (the \
         child's baseline included); Euclidean cost, seed {seed}; a solve still running after \
         {timeout_s} s is stopped and marked so. Hardware: {}.\n\n{md}",
        (65536usize * 65536 * 8) >> 30,
        hardware_line()
    );
    update_section(output, "bench-peers-large", &body)?;
    eprintln!("wrote the large table into {}", output.display());
    Ok(())
}

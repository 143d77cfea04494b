//! The driver: runs inputs in a worker child process and watches it. A worker that stops
//! reporting for longer than the per-input time limit is killed (a hang); one whose resident
//! memory passes the limit is killed (memory, which also catches the HDF5 C library's own
//! allocations); one that dies by itself crashed — an over-cap allocation when its stderr
//! says so (see [`crate::cap`]). Each time the driver saves the input the worker was running
//! (the worker wrote it to its work folder first) and starts a new worker after it. Panics
//! and solver mismatches are caught and saved by the worker itself.
//!
//! The inputs a run tries depend only on its seed; how many depends on the time given.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cap::REFUSED_MESSAGE;
use crate::targets::{TARGETS, Target};
use crate::worker::{Source, finding_name, input_path};

/// How a run is bounded and watched.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where inputs come from.
    pub source: Source,
    /// At most this many inputs.
    pub count: u64,
    /// At most this long in all.
    pub duration: Duration,
    /// An input running longer than this is a hang.
    pub time_limit: Duration,
    /// A worker whose resident memory passes this many bytes is stopped.
    pub rss_limit: u64,
    /// Findings go to `out/findings`, inputs being run to `out/work`.
    pub out: PathBuf,
}

/// Inputs tried on one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Inputs run (finished or not).
    pub inputs: u64,
    /// Inputs at least one reader accepted.
    pub accepted: u64,
    /// EMD problems solved by both exact solvers.
    pub emd_runs: u64,
}

/// One input that made something go wrong.
#[derive(Clone, Debug)]
pub struct Finding {
    /// `panic`, `mismatch`, `hang`, `memory`, `allocation` or `crash`.
    pub kind: String,
    /// The target's name.
    pub target: &'static str,
    /// The input's index in the run.
    pub index: u64,
    /// Where the input was saved; `None` when an input of the same signature was saved.
    pub file: Option<PathBuf>,
    /// The panic message, exit status or limit.
    pub detail: String,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Per target, in the order of [`TARGETS`].
    pub tallies: Vec<(&'static Target, Tally)>,
    /// Everything found.
    pub findings: Vec<Finding>,
    /// Wall time.
    pub elapsed: Duration,
    /// Workers started (one more after each crash, hang or memory stop).
    pub workers: u64,
}

impl Finding {
    /// What makes two findings the same bug.
    pub fn signature(&self) -> String {
        crate::worker::signature(&self.kind, self.target, &self.detail)
    }
}

impl Summary {
    /// Findings grouped by signature, in order of first appearance: (signature, count, first).
    pub fn distinct_findings(&self) -> Vec<(String, usize, &Finding)> {
        let mut groups: Vec<(String, usize, &Finding)> = Vec::new();
        for f in &self.findings {
            let sig = f.signature();
            match groups.iter_mut().find(|(s, ..)| *s == sig) {
                Some(g) => g.1 += 1,
                None => groups.push((sig, 1, f)),
            }
        }
        groups
    }

    /// Inputs run in all.
    pub fn inputs(&self) -> u64 {
        self.tallies.iter().map(|(_, t)| t.inputs).sum()
    }
}

/// What the watcher learned from one worker.
struct Watch {
    /// The last input the worker reported on.
    last: Option<u64>,
    /// Why the driver stopped it, if it did.
    stopped: Option<(&'static str, String)>,
}

/// Runs `settings.count` inputs (or as many as `settings.duration` allows).
pub fn drive(settings: &Settings) -> Result<Summary> {
    let started = Instant::now();
    let work = settings.out.join("work");
    let findings_dir = settings.out.join("findings");
    std::fs::create_dir_all(&findings_dir)?;
    let mut summary = Summary {
        tallies: TARGETS.iter().map(|t| (t, Tally::default())).collect(),
        findings: Vec::new(),
        elapsed: Duration::ZERO,
        workers: 0,
    };
    let mut next = 0;
    while next < settings.count {
        let Some(left) = settings.duration.checked_sub(started.elapsed()) else {
            break;
        };
        let mut child = spawn_worker(settings, next, left, &work, &findings_dir)?;
        summary.workers += 1;
        let stderr = collect_stderr(&mut child);
        let watch = watch(settings, &mut child, &mut summary, started)?;
        let status = child.wait()?;
        let stderr = stderr.join().unwrap_or_default();
        let current = watch.last.map_or(next, |l| l + 1);
        let (kind, detail) = match watch.stopped {
            Some(stop) => stop,
            None if status.success() => break,
            None if status.code() == Some(2) => bail!("the worker failed: {}", stderr.trim()),
            None if stderr.contains(REFUSED_MESSAGE) => {
                ("allocation", line_with(&stderr, REFUSED_MESSAGE))
            }
            None => match last_line(&stderr) {
                line if line.is_empty() => ("crash", status.to_string()),
                line => ("crash", format!("{status}; {line}")),
            },
        };
        let target = settings.source.target(current)?;
        let file = findings_dir.join(finding_name(target, kind, &settings.source, current));
        std::fs::copy(input_path(&work, target), &file)
            .with_context(|| format!("saving {}", file.display()))?;
        eprintln!(
            "fuzz: {} on {} input {current}: {detail} (saved {})",
            kind.to_uppercase(),
            target.name,
            file.display()
        );
        tally(&mut summary, target).inputs += 1;
        summary.findings.push(Finding {
            kind: kind.to_string(),
            target: target.name,
            index: current,
            file: Some(file),
            detail,
        });
        next = current + 1;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn spawn_worker(
    settings: &Settings,
    start: u64,
    budget: Duration,
    work: &std::path::Path,
    findings: &std::path::Path,
) -> Result<Child> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("worker")
        .args(["--start", &start.to_string()])
        .args(["--end", &settings.count.to_string()])
        .args([
            "--budget-ms",
            &budget.as_millis().min(u64::MAX.into()).to_string(),
        ])
        .arg("--work")
        .arg(work)
        .arg("--findings")
        .arg(findings);
    match &settings.source {
        Source::Generated { seed } => cmd.args(["--seed", &seed.to_string()]),
        Source::Files(files) => cmd.arg("--files").args(files),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a worker")
}

/// Reads the worker's stderr until it closes; the thread returns its last few kilobytes.
fn collect_stderr(child: &mut Child) -> JoinHandle<String> {
    let err = child.stderr.take();
    std::thread::spawn(move || {
        let Some(mut err) = err else {
            return String::new();
        };
        let mut kept = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.push_str(&String::from_utf8_lossy(&buf[..n]));
            if kept.len() > 8192 {
                let cut = kept.len() - 8192;
                let cut = (cut..kept.len())
                    .find(|&k| kept.is_char_boundary(k))
                    .unwrap_or(0);
                kept.drain(..cut);
            }
        }
        kept
    })
}

fn line_with(text: &str, needle: &str) -> String {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn tally<'a>(summary: &'a mut Summary, target: &Target) -> &'a mut Tally {
    let k = summary
        .tallies
        .iter()
        .position(|(t, _)| t.name == target.name)
        .expect("every target has a tally");
    &mut summary.tallies[k].1
}

/// Reads the worker's reports until it exits, stopping it on a hang or memory excess.
fn watch(
    settings: &Settings,
    child: &mut Child,
    summary: &mut Summary,
    started: Instant,
) -> Result<Watch> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().context("worker stdout")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut watch = Watch {
        last: None,
        stopped: None,
    };
    let mut progress = Instant::now();
    let mut last_rss_check = Instant::now();
    let mut last_print = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                let index = record(settings, &line, summary)?;
                watch.last = Some(index);
                progress = Instant::now();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(watch),
            Err(RecvTimeoutError::Timeout) => {}
        }
        if watch.stopped.is_some() {
            continue;
        }
        if progress.elapsed() > settings.time_limit {
            watch.stopped = Some((
                "hang",
                format!("no result after {} s", settings.time_limit.as_secs()),
            ));
            let _ = child.kill();
        } else if last_rss_check.elapsed() > Duration::from_millis(100) {
            last_rss_check = Instant::now();
            if let Some(rss) = resident_bytes(child.id()).filter(|&r| r > settings.rss_limit) {
                watch.stopped = Some(("memory", format!("resident memory {} MiB", rss >> 20)));
                let _ = child.kill();
            }
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            last_print = Instant::now();
            eprintln!(
                "fuzz: {} inputs, {} findings, {:.0} s",
                summary.inputs(),
                summary.findings.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Records one report line; returns the input it was about.
fn record(settings: &Settings, line: &str, summary: &mut Summary) -> Result<u64> {
    let fields: Vec<&str> = line.splitn(4, '\t').collect();
    let bad = || anyhow::anyhow!("unexpected worker report '{line}'");
    let index: u64 = fields.get(1).and_then(|i| i.parse().ok()).ok_or_else(bad)?;
    let target = settings.source.target(index)?;
    let t = tally(summary, target);
    t.inputs += 1;
    match fields.as_slice() {
        ["done", _, accepted, emd] => {
            t.accepted += u64::from(*accepted == "1");
            t.emd_runs += emd.parse::<u64>().map_err(|_| bad())?;
        }
        [kind @ ("panic" | "mismatch"), _, file, detail] => {
            let file = (*file != "-").then(|| PathBuf::from(file));
            if let Some(f) = &file {
                eprintln!(
                    "fuzz: {} on {} input {index}: {detail} (saved {})",
                    kind.to_uppercase(),
                    target.name,
                    f.display()
                );
            }
            summary.findings.push(Finding {
                kind: kind.to_string(),
                target: target.name,
                index,
                file,
                detail: detail.to_string(),
            });
        }
        _ => return Err(bad()),
    }
    Ok(index)
}

/// The resident memory of process `pid` (Linux); `None` elsewhere.
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

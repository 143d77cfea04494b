//! `deepemd-fuzz`: mutation fuzzing of the point-cloud readers and the exact solvers, on the
//! stable toolchain.
//!
//! ```text
//! deepemd-fuzz [--minutes M] [--seed S] [--report]    fuzz; exit 1 when anything is found
//! deepemd-fuzz replay [FILE|DIR ...]                   rerun saved inputs (default: regressions/)
//! ```
//!
//! The driver ([`driver`]) runs inputs in a worker child process ([`worker`]) under a capped
//! allocator ([`cap`]), so a panic, a hang, an over-cap allocation or a crash in a C library
//! each becomes a saved input instead of the end of the run.

mod cap;
mod driver;
mod jobs;
mod mutate;
mod report;
mod seeds;
mod targets;
mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::driver::{Settings, Summary, drive};
use crate::worker::{Source, WorkerJob};

#[global_allocator]
static ALLOCATOR: cap::Capped = cap::Capped;

#[derive(Parser, Debug)]
#[command(
    name = "deepemd-fuzz",
    about = "Fuzz the point-cloud readers and the exact solvers",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    fuzz: FuzzArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Rerun saved inputs (files, or folders of them); default: the committed regressions.
    Replay {
        paths: Vec<PathBuf>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Write the seed files (they are committed; this documents how they were made).
    #[command(hide = true)]
    MakeSeeds {
        #[arg(default_value = "crates/deepemd-fuzz/seeds")]
        dir: PathBuf,
    },
    /// Write input INDEX of the run with SEED into DIR, named as a finding would be.
    #[command(hide = true)]
    MakeInput {
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        index: u64,
        dir: PathBuf,
    },
    /// Run inputs for a driver (internal).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(Args, Debug)]
struct FuzzArgs {
    /// Run this many minutes (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    minutes: f64,
    /// Run this many seconds instead.
    #[arg(long, conflicts_with = "minutes")]
    seconds: Option<f64>,
    /// Stop after this many inputs, even with time left.
    #[arg(long)]
    inputs: Option<u64>,
    /// Input `i` depends only on (seed, i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rewrite the Reliability section of docs/results.md with this run.
    #[arg(long)]
    report: bool,
    #[command(flatten)]
    limits: Limits,
}

#[derive(Args, Debug)]
struct Limits {
    /// Findings go to OUT/findings.
    #[arg(long, default_value_os_t = default_out())]
    out: PathBuf,
    /// Seconds an input may run before it counts as a hang.
    #[arg(long, default_value_t = 10)]
    time_limit: u64,
    /// Resident memory (MiB) a worker may reach.
    #[arg(long, default_value_t = 4096)]
    rss_limit_mib: u64,
}

#[derive(Args, Debug)]
struct WorkerArgs {
    #[arg(long)]
    start: u64,
    #[arg(long)]
    end: u64,
    #[arg(long)]
    budget_ms: u64,
    #[arg(long)]
    work: PathBuf,
    #[arg(long)]
    findings: PathBuf,
    #[arg(long, conflicts_with = "files")]
    seed: Option<u64>,
    #[arg(long, num_args = 1..)]
    files: Vec<PathBuf>,
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn default_out() -> PathBuf {
    workspace_root().join("target/fuzz")
}

/// The committed inputs that once broke something, replayed by the tests.
fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Worker(args)) => {
            // Exit code 2 tells the driver the worker itself failed (not the code it runs).
            return match run_worker(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("worker: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        Some(Command::MakeSeeds { dir }) => seeds::make_seeds(&dir).map(|()| true),
        Some(Command::MakeInput { seed, index, dir }) => make_input(seed, index, &dir),
        Some(Command::Replay { paths, limits }) => replay(&paths, &limits),
        None => fuzz(&cli.fuzz),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_worker(args: WorkerArgs) -> Result<()> {
    let source = match args.seed {
        Some(seed) => Source::Generated { seed },
        None => Source::Files(args.files),
    };
    worker::run(&WorkerJob {
        source,
        start: args.start,
        end: args.end,
        budget: Duration::from_millis(args.budget_ms),
        work: args.work,
        findings: args.findings,
    })
}

fn settings(source: Source, count: u64, duration: Duration, limits: &Limits) -> Settings {
    Settings {
        source,
        count,
        duration,
        time_limit: Duration::from_secs(limits.time_limit),
        rss_limit: limits.rss_limit_mib << 20,
        out: limits.out.clone(),
    }
}

/// Regenerates one input of a run, e.g. to commit it under `regressions/`.
fn make_input(seed: u64, index: u64, dir: &Path) -> Result<bool> {
    let source = Source::Generated { seed };
    let (target, bytes) = source.input(index)?;
    std::fs::create_dir_all(dir)?;
    let name = worker::finding_name(target, "input", &source, index);
    std::fs::write(dir.join(&name), bytes)?;
    println!("{}", dir.join(name).display());
    Ok(true)
}

/// Fuzzes; true when nothing was found.
fn fuzz(args: &FuzzArgs) -> Result<bool> {
    let seconds = args.seconds.unwrap_or(args.minutes * 60.0);
    if !(seconds > 0.0 && seconds.is_finite()) {
        bail!("the run's length must be positive, not {seconds} s");
    }
    let settings = settings(
        Source::Generated { seed: args.seed },
        args.inputs.unwrap_or(u64::MAX),
        Duration::from_secs_f64(seconds),
        &args.limits,
    );
    let summary = drive(&settings)?;
    print_summary(&summary);
    if args.report {
        let length = match args.seconds {
            Some(s) => format!("--seconds {s}"),
            None => format!("--minutes {}", args.minutes),
        };
        let command = format!("cargo xtask fuzz {length} --seed {} --report", args.seed);
        let regressions = saved_inputs(&regressions_dir())?;
        let body = report::section(&settings, &summary, &command, &regressions);
        let path = workspace_root().join("docs/results.md");
        report::update_section(&path, &body)?;
        eprintln!("fuzz: wrote the Reliability section of {}", path.display());
    }
    Ok(summary.findings.is_empty())
}

/// The saved inputs in `paths` (files, or every file of a folder except its README).
fn saved_inputs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    Ok(files)
}

/// Replays saved inputs; true when none breaks anything any more.
fn replay(paths: &[PathBuf], limits: &Limits) -> Result<bool> {
    let paths = if paths.is_empty() {
        vec![regressions_dir()]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for p in &paths {
        if p.is_dir() {
            files.extend(saved_inputs(p)?);
        } else {
            files.push(p.clone());
        }
    }
    for f in &files {
        worker::target_of_file(f)?;
    }
    let settings = settings(
        Source::Files(files.clone()),
        files.len() as u64,
        Duration::MAX,
        limits,
    );
    let summary = drive(&settings)?;
    print_summary(&summary);
    Ok(summary.findings.is_empty())
}

fn print_summary(summary: &Summary) {
    eprintln!(
        "fuzz: {} inputs in {:.1} s, {} finding(s)",
        summary.inputs(),
        summary.elapsed.as_secs_f64(),
        summary.findings.len()
    );
    for (target, t) in &summary.tallies {
        if t.inputs > 0 {
            eprintln!(
                "  {:<20} {:>8} inputs {:>8} read {:>8} EMD",
                target.name, t.inputs, t.accepted, t.emd_runs
            );
        }
    }
    for (signature, count, first) in summary.distinct_findings() {
        let saved = first
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        eprintln!(
            "  {signature}: {count} input(s); first {} #{}: {} {saved}",
            first.target, first.index, first.detail
        );
    }
}

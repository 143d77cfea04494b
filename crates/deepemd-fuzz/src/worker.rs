//! The worker: a child process of the driver (the same binary, `worker` mode) that runs inputs
//! one after another. Before each input it writes the input to its work folder, so whatever
//! kills the process — an abort on an over-cap allocation, a crash in a C library, the driver
//! ending a hang — the driver finds the input there.
//!
//! It reports on stdout, one line per input, fields separated by tabs:
//! - `done I ACCEPTED EMD_RUNS` — input I finished (ACCEPTED is 0 or 1);
//! - `panic I FILE MESSAGE` — a reader or solver panicked (caught); the input is saved as FILE,
//!   or FILE is `-` when this worker already saved one for the same place in the code;
//! - `mismatch I FILE MESSAGE` — the two exact solvers disagreed; saved likewise.

use std::collections::HashSet;
use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::mutate::{mutate, rng_for};
use crate::targets::{TARGETS, Target, by_name, exercise, prepare_folder};

/// Where the inputs come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Input `i` mutates the seed of `TARGETS[i % len]` with the stream (seed, i).
    Generated {
        /// The run's seed.
        seed: u64,
    },
    /// Input `i` is the file `files[i]`, whose name starts with its target's name.
    Files(Vec<PathBuf>),
}

impl Source {
    /// The target and bytes of input `index`.
    pub fn input(&self, index: u64) -> Result<(&'static Target, Vec<u8>)> {
        match self {
            Source::Generated { seed } => {
                let target = target_of(index);
                Ok((target, mutate(target.seed, &mut rng_for(*seed, index))))
            }
            Source::Files(files) => {
                let path = &files[index as usize];
                let target = target_of_file(path)?;
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Ok((target, bytes))
            }
        }
    }

    /// The target of input `index`, without making the input.
    pub fn target(&self, index: u64) -> Result<&'static Target> {
        match self {
            Source::Generated { .. } => Ok(target_of(index)),
            Source::Files(files) => target_of_file(&files[index as usize]),
        }
    }
}

fn target_of(index: u64) -> &'static Target {
    &TARGETS[(index % TARGETS.len() as u64) as usize]
}

/// A saved input is named `TARGET-…`; its target is the part before the first '-'.
pub fn target_of_file(path: &Path) -> Result<&'static Target> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = name.split('-').next().unwrap_or("");
    match by_name(prefix) {
        Some(t) => Ok(t),
        None => bail!(
            "{}: a saved input's name starts with its target ({})",
            path.display(),
            TARGETS
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Where input files of `target` are written inside the work folder `work`.
pub fn input_path(work: &Path, target: &Target) -> PathBuf {
    let folder = work.join(target.name);
    match target.kind {
        // `load_shapenet_part` looks for an `hdf5_data` folder.
        crate::targets::Kind::ShapeNetPart => folder.join("hdf5_data").join(target.file),
        _ => folder.join(target.file),
    }
}

/// The name a finding is saved under: its target first, so a replay knows how to read it.
pub fn finding_name(target: &Target, kind: &str, source: &Source, index: u64) -> String {
    let ext = Path::new(target.file)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    match source {
        Source::Generated { seed } => format!("{}-{kind}-s{seed}-i{index}.{ext}", target.name),
        Source::Files(files) => {
            let stem = files[index as usize]
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            format!("{stem}-{kind}.{ext}")
        }
    }
}

/// What makes two findings the same bug: a panic's place in the code (the hook ends its
/// message with " at FILE:LINE"), otherwise the kind and the target.
pub fn signature(kind: &str, target: &str, detail: &str) -> String {
    match detail.rsplit_once(" at ") {
        Some((_, place)) if kind == "panic" => format!("panic at {place}"),
        _ => format!("{kind} on {target}"),
    }
}

/// The worker's settings, given by the driver on the command line.
#[derive(Debug)]
pub struct WorkerJob {
    /// Where inputs come from.
    pub source: Source,
    /// The first input.
    pub start: u64,
    /// One past the last input.
    pub end: u64,
    /// Stop starting inputs after this long.
    pub budget: Duration,
    /// Where inputs are written before they run.
    pub work: PathBuf,
    /// Where panicking inputs are saved.
    pub findings: PathBuf,
}

/// The last panic's message and place, recorded by the hook (which prints nothing).
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Runs the worker loop.
pub fn run(job: &WorkerJob) -> Result<()> {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = format!("{message}{place}");
        }
    }));
    for target in TARGETS {
        let path = input_path(&job.work, target);
        prepare_folder(target, path.parent().unwrap_or(&job.work))?;
    }
    std::fs::create_dir_all(&job.findings)?;
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    // One saved input per place in the code is enough to reproduce it; the rest are counted.
    let mut saved_signatures = HashSet::new();
    for index in job.start..job.end {
        if started.elapsed() >= job.budget {
            break;
        }
        let (target, bytes) = job.source.input(index)?;
        let path = input_path(&job.work, target);
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| exercise(target, &path)));
        let mut save = |kind: &str, detail: &str| -> Result<String> {
            if !saved_signatures.insert(signature(kind, target.name, detail)) {
                return Ok("-".into());
            }
            let saved = job
                .findings
                .join(finding_name(target, kind, &job.source, index));
            std::fs::write(&saved, &bytes)?;
            Ok(saved.display().to_string())
        };
        let line = match outcome {
            Ok(o) => match o.mismatch {
                None => format!("done\t{index}\t{}\t{}", u8::from(o.accepted), o.emd_runs),
                Some(m) => format!("mismatch\t{index}\t{}\t{m}", save("mismatch", &m)?),
            },
            Err(_) => {
                let message = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
                let message = message.replace(['\n', '\r', '\t'], " ");
                format!("panic\t{index}\t{}\t{message}", save("panic", &message)?)
            }
        };
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

//! `gen_metrics` from Python. The work runs on a thread of its own while the calling thread
//! checks for Ctrl-C and reports progress on `sys.stderr`: Python runs signal handlers on the
//! main thread only, between bytecodes, so a long call that never returns to the interpreter
//! would ignore Ctrl-C until its end.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deepemd_core::PointCloud;
use deepemd_data::sharding::Shard;
use deepemd_metrics::{
    GenerationMetrics, Search, Watch, WorkFolder, generation_metrics_watched, progress_steps,
};
use pyo3::prelude::*;

use crate::errors;

/// How often the calling thread looks at signals and the progress.
const POLL: Duration = Duration::from_millis(50);
/// Work shorter than this prints no progress.
const QUIET_FOR: Duration = Duration::from_secs(1);
/// The least time between two progress lines.
const REDRAW: Duration = Duration::from_millis(500);

/// The metrics of `reference` against `generated`, in memory or in the work folder `out`.
pub fn run(
    py: Python<'_>,
    reference: &[PointCloud],
    generated: &[PointCloud],
    brute_force: bool,
    out: Option<&Path>,
    chunk_size: Option<usize>,
    progress: bool,
) -> PyResult<GenerationMetrics> {
    let stop = AtomicBool::new(false);
    let (done, total) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let names = ("reference", "generated");
    let search = if brute_force {
        Search::BruteForce
    } else {
        Search::Pruned
    };
    let work = || -> deepemd_metrics::Result<GenerationMetrics> {
        let Some(out) = out else {
            total.store(
                progress_steps(reference.len(), generated.len(), search),
                Ordering::Relaxed,
            );
            let tick = || {
                done.fetch_add(1, Ordering::Relaxed);
            };
            let watch = Watch::new(&tick).with_stop(&stop);
            return generation_metrics_watched(reference, generated, names, search, &watch);
        };
        let kind = WorkFolder::choose(out, brute_force)?;
        let unit_size = kind.unit_size(out, chunk_size)?;
        let tick = |d: usize, t: usize| {
            done.store(d, Ordering::Relaxed);
            total.store(t, Ordering::Relaxed);
        };
        let run = kind.compute(
            reference,
            generated,
            names,
            out,
            Shard::WHOLE,
            unit_size,
            &tick,
            &stop,
        )?;
        kind.metrics(out, reference, generated, run.seconds)
    };
    let mut report = Report::new(progress);
    let (outcome, interrupt) = std::thread::scope(|s| {
        let worker = s.spawn(work);
        let mut interrupt = None;
        while !worker.is_finished() {
            py.detach(|| std::thread::sleep(POLL));
            if interrupt.is_none()
                && let Err(e) = py.check_signals()
            {
                // Stop the work within one item; the exception is raised once it has.
                stop.store(true, Ordering::Relaxed);
                interrupt = Some(e);
            }
            report.show(
                py,
                done.load(Ordering::Relaxed),
                total.load(Ordering::Relaxed),
            );
        }
        (worker.join(), interrupt)
    });
    report.finish(py, interrupt.is_none());
    if let Some(e) = interrupt {
        return Err(e);
    }
    match outcome {
        Ok(m) => m.map_err(errors::metrics),
        Err(_) => Err(pyo3::exceptions::PyRuntimeError::new_err(
            "the generation metrics failed (a panic in the worker thread; see stderr)",
        )),
    }
}

/// Progress lines on `sys.stderr` (so that notebooks show them), redrawn in place.
struct Report {
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Report {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            started: Instant::now(),
            last: None,
        }
    }

    fn show(&mut self, py: Python<'_>, done: usize, total: usize) {
        let elapsed = self.started.elapsed();
        if !self.enabled || elapsed < QUIET_FOR || self.last.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.last = Some(Instant::now());
        let secs = elapsed.as_secs_f64();
        let line = if total > 0 && done > 0 {
            let left = secs * (total - done.min(total)) as f64 / done as f64;
            format!(
                "\rdeepemd.gen_metrics: {done}/{total} ({:.0} %), {secs:.0} s, ~{left:.0} s left   ",
                100.0 * done as f64 / total as f64
            )
        } else {
            format!("\rdeepemd.gen_metrics: starting, {secs:.0} s   ")
        };
        write_stderr(py, &line);
    }

    fn finish(&self, py: Python<'_>, complete: bool) {
        if self.last.is_some() {
            let how = if complete { "done" } else { "interrupted" };
            let line = format!(
                "\rdeepemd.gen_metrics: {how} in {:.1} s{:40}\n",
                self.started.elapsed().as_secs_f64(),
                ""
            );
            write_stderr(py, &line);
        }
    }
}

/// Writes to Python's `sys.stderr`; progress is best effort, so failures are ignored.
fn write_stderr(py: Python<'_>, text: &str) {
    if let Ok(stderr) = py.import("sys").and_then(|sys| sys.getattr("stderr")) {
        let _ = stderr.call_method1("write", (text,));
        let _ = stderr.call_method0("flush");
    }
}

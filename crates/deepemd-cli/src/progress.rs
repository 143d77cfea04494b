//! Progress bars for long work (hidden when stderr is not a terminal, so logs stay clean).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `total` items of `unit` with rate and ETA.
pub fn bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!(
        "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A training run's progress on stderr, for `train` and `vae train` alike: a bar of steps
/// (hidden with `--quiet`) with a message, and a line for each evaluation.
#[cfg(feature = "hdf5")]
pub struct StepProgress {
    bar: ProgressBar,
    quiet: bool,
    /// When this session started, and at which step: the rate counts this session only.
    since: std::time::Instant,
    first_step: std::cell::Cell<usize>,
}

#[cfg(feature = "hdf5")]
impl StepProgress {
    /// A bar of `steps` steps, hidden when `quiet`.
    pub fn new(steps: usize, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(steps as u64)
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:25}] {msg} (ETA {eta})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Self {
            bar,
            quiet,
            since: std::time::Instant::now(),
            first_step: std::cell::Cell::new(0),
        }
    }

    /// Shows one event of a training loop: a step as `step_message(record)` = (its step,
    /// from 0, and a message), an evaluation as the line `eval_line(record)`.
    pub fn observe<S, E>(
        &self,
        event: deepemd_train::LoopEvent<'_, S, E>,
        step_message: impl Fn(&S) -> (usize, String),
        eval_line: impl Fn(&E) -> String,
    ) {
        use deepemd_train::LoopEvent;
        match event {
            LoopEvent::Started { step, steps } => {
                self.first_step.set(step);
                self.bar.set_length(steps as u64);
                self.bar.set_position(step as u64);
            }
            LoopEvent::Step(record) => {
                let (step, message) = step_message(record);
                self.bar.set_message(message);
                self.bar.set_position(step as u64 + 1);
            }
            LoopEvent::Eval(record) => self.line(eval_line(record)),
            LoopEvent::Checkpoint { .. } => {}
            LoopEvent::Stopped { step } => self
                .bar
                .abandon_with_message(format!("stopped at step {step}; checkpoint written")),
            LoopEvent::Finished => self.bar.finish_and_clear(),
        }
    }

    /// Steps per second in this session, once step `step` (from 0) is done.
    pub fn steps_per_second(&self, step: usize) -> f64 {
        let done = (step + 1).saturating_sub(self.first_step.get());
        done as f64 / self.since.elapsed().as_secs_f64().max(1e-9)
    }

    /// A line of its own (an evaluation), above the bar.
    fn line(&self, line: String) {
        // A hidden bar swallows println, so print directly when there is no bar.
        if self.quiet {
            eprintln!("{line}")
        } else {
            self.bar.println(line)
        }
    }
}

/// What a resumed run starts from: `read` of the checkpoint in `run` (the caller applies the
/// command's changes; training refuses any that alter the run). Shared by `train` and `vae
/// train`.
#[cfg(feature = "hdf5")]
pub fn from_checkpoint<S, E>(
    run: &std::path::Path,
    read: impl FnOnce(&std::path::Path) -> Result<S, E>,
) -> anyhow::Result<S>
where
    E: std::error::Error + Send + Sync + 'static,
{
    use anyhow::Context;
    let dir = deepemd_train::find_checkpoint(run)
        .with_context(|| format!("{}: no checkpoint to resume", run.display()))?;
    Ok(read(&dir)?)
}

/// A flag that Ctrl-C sets: the training loops poll it, write a final checkpoint and stop.
#[cfg(feature = "hdf5")]
pub fn stop_on_ctrl_c() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use anyhow::Context;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst))
        .context("installing the Ctrl-C handler")?;
    Ok(stop)
}

/// Says on stderr that `remade` unit files of a long job were found but not trusted (no
/// receipt, another job's, damaged) and were made again, with the first reason.
#[cfg(feature = "hdf5")]
pub fn warn_remade(unit: &str, remade: usize, first: Option<&str>) {
    if remade > 0 {
        let (plural, were) = if remade == 1 {
            ("", "was")
        } else {
            ("s", "were")
        };
        eprintln!(
            "warning: {remade} {unit} file{plural} in the folder did not verify and {were} made \
             again (first: {})",
            first.unwrap_or("?")
        );
    }
}

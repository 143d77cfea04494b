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
        Self { bar, quiet }
    }

    /// The run starts (or resumes) at `step` of `steps`.
    pub fn started(&self, step: usize, steps: usize) {
        self.bar.set_length(steps as u64);
        self.bar.set_position(step as u64);
    }

    /// Step `step` (from 0) is done; `message` describes it.
    pub fn step(&self, step: usize, message: String) {
        self.bar.set_message(message);
        self.bar.set_position(step as u64 + 1);
    }

    /// A line of its own (an evaluation), above the bar.
    pub fn line(&self, line: String) {
        // A hidden bar swallows println, so print directly when there is no bar.
        if self.quiet {
            eprintln!("{line}")
        } else {
            self.bar.println(line)
        }
    }

    /// Stopped on request after `step` steps.
    pub fn stopped(&self, step: usize) {
        self.bar
            .abandon_with_message(format!("stopped at step {step}; checkpoint written"));
    }

    /// Every step done.
    pub fn finished(&self) {
        self.bar.finish_and_clear();
    }
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

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

/// Says on stderr that `remade` unit files of a long job were found but not trusted (no
/// receipt, another job's, damaged) and were made again, with the first reason.
#[cfg(feature = "hdf5")]
pub fn warn_remade(unit: &str, remade: usize, first: Option<&str>) {
    if remade > 0 {
        let plural = if remade == 1 { "" } else { "s" };
        eprintln!(
            "warning: {remade} {unit} file{plural} in the folder did not verify and were made \
             again (first: {})",
            first.unwrap_or("?")
        );
    }
}

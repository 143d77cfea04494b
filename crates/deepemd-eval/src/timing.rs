//! Wall-clock medians. Timings are only compared within one run (ratios), never asserted.

use std::time::Instant;

/// Runs `f` `repeats` times (at least once) and returns the median seconds and the last result.
pub fn median_seconds<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(repeats.max(1));
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed().as_secs_f64());
    }
    (
        deepemd_core::metrics::median(&times),
        last.expect("ran at least once"),
    )
}

/// One line describing this machine, printed beside every timing table.
pub fn hardware_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_gib = proc_kib("/proc/meminfo", "MemTotal").map_or(String::new(), |kb| {
        format!(", {:.0} GiB", kb / 1024.0 / 1024.0)
    });
    format!("{cpu}, {threads} threads{mem_gib}")
}

/// The kB value of line `key` in a Linux `/proc` file such as `/proc/meminfo`.
pub(crate) fn proc_kib(file: &str, key: &str) -> Option<f64> {
    std::fs::read_to_string(file).ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
    })
}

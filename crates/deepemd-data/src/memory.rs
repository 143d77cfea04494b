//! The machine's memory: what a size read from a file or a manifest is checked against before
//! anything is allocated for it.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::header::human_bytes;

/// The machine's memory from `/proc/meminfo`; `None` where that file does not exist (then only
/// the other bounds apply).
pub fn total_memory() -> Option<u64> {
    static TOTAL: OnceLock<Option<u64>> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kb: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        kb.checked_mul(1024)
    })
}

/// Checks that `bytes` (`None`: more than a `u64` counts) fit in this machine's memory; the
/// error names `path` and says `what` needs them.
pub fn check_fits_in_memory(path: &std::path::Path, what: &str, bytes: Option<u64>) -> Result<()> {
    let memory = total_memory();
    match (bytes, memory) {
        (None, _) => Err(Error::format(
            path,
            format!("{what} needs more bytes than can be counted"),
        )),
        (Some(b), Some(m)) if b > m => Err(Error::format(
            path,
            format!(
                "{what} needs {}, more than this machine's {} of memory",
                human_bytes(b),
                human_bytes(m)
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_beyond_the_memory_or_a_u64_are_refused() {
        let p = std::path::Path::new("d/distances.json");
        check_fits_in_memory(p, "reading the set", Some(1024)).unwrap();
        let e = check_fits_in_memory(p, "reading the set", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("d/distances.json: reading the set needs more bytes"),
            "{e}"
        );
        if total_memory().is_some() {
            let e = check_fits_in_memory(p, "reading the set", Some(u64::MAX))
                .unwrap_err()
                .to_string();
            assert!(e.contains("more than this machine's"), "{e}");
        }
    }
}

//! Arithmetic on numbers read from a file's header (counts, shapes, sizes). They are untrusted:
//! every product and sum is checked, and memory reserved up front never exceeds what the bytes
//! that follow could hold, so a 200-byte file cannot make a reader reserve 400 MB.

use std::path::Path;

use crate::error::{Error, Result};

/// The product of `factors`, or an error naming the file and what `what` sizes.
pub(crate) fn product(path: &Path, what: impl Fn() -> String, factors: &[usize]) -> Result<usize> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| {
            Error::format(
                path,
                format!("{} needs more bytes than any file holds", what()),
            )
        })
}

/// How many of `count` items to reserve room for when `bytes` remain and each item takes at
/// least `min_bytes` of them: a header may promise more items than the file holds.
pub(crate) fn capacity(count: usize, bytes: usize, min_bytes: usize) -> usize {
    count.min(bytes / min_bytes.max(1))
}

/// `bytes` for a message: "512 B", "30.0 kB", "24.0 GB".
#[cfg_attr(not(feature = "hdf5"), allow(dead_code))] // only the HDF5 checks print sizes
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_overflow_into_errors_and_capacities_follow_the_bytes() {
        let p = Path::new("x.npy");
        assert_eq!(product(p, || "shape".into(), &[3, 4, 8]).unwrap(), 96);
        let err = product(p, || "shape (2^60, 2)".into(), &[1 << 60, 2, 8]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.npy: shape (2^60, 2) needs more bytes than any file holds"
        );
        assert_eq!(capacity(16_000_000, 200, 12), 16);
        assert_eq!(capacity(5, 200, 0), 5);
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(24_000_000_000), "24.0 GB");
    }
}

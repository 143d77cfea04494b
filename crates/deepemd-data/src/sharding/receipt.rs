//! Receipts: what makes a unit file of a long job prove itself.
//!
//! Beside each unit file `NAME` a job writes `NAME.receipt`, one line of JSON: the job's
//! identity (the SHA-256 of its manifest), the unit's index and file name, and the file's size
//! and SHA-256. The receipt is written after the unit file (both atomically), so a run killed
//! between the two leaves a unit without a receipt, which is made again. A unit is trusted only
//! when [`verify_unit`] passes: a file zero-filled, rewritten, truncated or bit-flipped changes its
//! hash; files swapped between units carry another unit's receipt; files of another job (the
//! same names, another manifest) carry another job's identity.

use std::path::Path;

use super::manifest::JobId;
use crate::error::{Error, Result};
use crate::formats::{read_bytes, write_atomic};

/// Largest receipt file read (a real one is about 250 bytes).
const MAX_RECEIPT_BYTES: u64 = 4096;

/// The receipt of one unit file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The job's identity: SHA-256 of its manifest's bytes.
    pub job: String,
    /// The unit's index in the job.
    pub unit: usize,
    /// The unit's file name.
    pub file: String,
    /// The file's size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The receipt's file name of unit file `unit_file`.
pub fn receipt_name(unit_file: &str) -> String {
    format!("{unit_file}.receipt")
}

impl Receipt {
    /// The receipt of the unit file `dir/name` as it is now, for unit `unit` of job `job`.
    pub fn of_file(dir: &Path, job: &JobId, unit: usize, name: &str) -> Result<Self> {
        let path = dir.join(name);
        let bytes = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        Ok(Self {
            job: job.as_str().to_string(),
            unit,
            file: name.to_string(),
            bytes,
            sha256: sha256_of_file(&path)?,
        })
    }

    /// Records the unit file `dir/name` as it is now: writes its receipt (atomically).
    pub fn record(dir: &Path, job: &JobId, unit: usize, name: &str) -> Result<Self> {
        let receipt = Self::of_file(dir, job, unit, name)?;
        let mut text = serde_json::to_string(&receipt).expect("a receipt serializes");
        text.push('\n');
        write_atomic(&dir.join(receipt_name(name)), text.as_bytes())?;
        Ok(receipt)
    }

    /// Reads the receipt at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if size > MAX_RECEIPT_BYTES {
            return Err(Error::format(
                path,
                format!("{size} bytes: not a receipt (at most {MAX_RECEIPT_BYTES})"),
            ));
        }
        let bytes = read_bytes(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not a unit receipt ({e})")))
    }
}

/// Checks that `dir/name` is unit `unit` of job `job` exactly as it was written: its receipt
/// is there, names this job, this unit and this file, and the file's size and SHA-256 match it.
/// The error names the file and says why it is not trusted. Returns the receipt.
pub fn verify_unit(dir: &Path, job: &JobId, unit: usize, name: &str) -> Result<Receipt> {
    let path = dir.join(name);
    let receipt_path = dir.join(receipt_name(name));
    let untrusted = |why: String| Error::format(&path, format!("not trusted: {why}"));
    if !path.exists() {
        return Err(untrusted("missing".into()));
    }
    if !receipt_path.exists() {
        return Err(untrusted(format!(
            "it has no receipt ({} is missing: the run stopped before recording it, or another \
             program wrote the file)",
            receipt_name(name)
        )));
    }
    let receipt = Receipt::read(&receipt_path)?;
    // The size first: a stray huge file is refused before a byte of it is read.
    let size = std::fs::metadata(&path)
        .map_err(|e| Error::io(&path, e))?
        .len();
    if size != receipt.bytes {
        return Err(untrusted(format!(
            "its size changed after it was written ({size} bytes; the receipt recorded {})",
            receipt.bytes
        )));
    }
    if receipt.job != job.as_str() {
        return Err(untrusted(format!(
            "it was made by another job (its receipt names job {}…, this folder's manifest is \
             job {}…)",
            cut(&receipt.job),
            cut(job.as_str())
        )));
    }
    if receipt.unit != unit || receipt.file != name {
        return Err(untrusted(format!(
            "its receipt is that of unit {} ({}): files were moved or swapped",
            receipt.unit, receipt.file
        )));
    }
    let sha256 = sha256_of_file(&path)?;
    if sha256 != receipt.sha256 {
        return Err(untrusted(format!(
            "its content changed after it was written (SHA-256 {}…; the receipt recorded {}…)",
            cut(&sha256),
            cut(&receipt.sha256)
        )));
    }
    Ok(receipt)
}

/// SHA-256 of a file's bytes, hex, read in blocks (a unit may be large).
fn sha256_of_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hash = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut block).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hash.update(&block[..n]);
    }
    Ok(super::manifest::hex(&hash.finalize()))
}

/// The first 12 hex digits of a digest, enough to tell two apart in a message.
fn cut(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharding::sha256_hex;

    fn setup() -> (tempfile::TempDir, JobId) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("job.json"), b"{\"n\": 3}").unwrap();
        let job = JobId::of_manifest(&dir.path().join("job.json")).unwrap();
        for k in 0..3 {
            let name = format!("u-{k}.bin");
            std::fs::write(dir.path().join(&name), vec![k as u8 + 1; 64]).unwrap();
            Receipt::record(dir.path(), &job, k, &name).unwrap();
        }
        (dir, job)
    }

    fn why(dir: &Path, job: &JobId, k: usize) -> String {
        verify_unit(dir, job, k, &format!("u-{k}.bin"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn recorded_units_verify_and_every_kind_of_damage_is_named() {
        let (dir, job) = setup();
        let d = dir.path();
        for k in 0..3 {
            verify_unit(d, &job, k, &format!("u-{k}.bin")).unwrap();
        }
        // Content: zero-filled, one bit flipped, truncated, extended.
        let original = std::fs::read(d.join("u-0.bin")).unwrap();
        let mut flipped = original.clone();
        flipped[17] ^= 0x10;
        for bad in [
            vec![0u8; 64],
            flipped,
            original[..60].to_vec(),
            [original.clone(), vec![0]].concat(),
        ] {
            std::fs::write(d.join("u-0.bin"), &bad).unwrap();
            let e = why(d, &job, 0);
            assert!(e.contains("changed after it was written"), "{e}");
        }
        std::fs::write(d.join("u-0.bin"), &original).unwrap();
        verify_unit(d, &job, 0, "u-0.bin").unwrap();

        // Two units swapped, with their receipts.
        for ext in ["", ".receipt"] {
            let (a, b) = (
                d.join(format!("u-1.bin{ext}")),
                d.join(format!("u-2.bin{ext}")),
            );
            let t = d.join("swap");
            std::fs::rename(&a, &t).unwrap();
            std::fs::rename(&b, &a).unwrap();
            std::fs::rename(&t, &b).unwrap();
        }
        assert!(
            why(d, &job, 1).contains("that of unit 2 (u-2.bin)"),
            "{}",
            why(d, &job, 1)
        );

        // Another job's identity, a missing or garbled receipt, a missing file.
        let other = JobId(sha256_hex(b"another manifest"));
        assert!(
            why(d, &other, 0).contains("made by another job"),
            "{}",
            why(d, &other, 0)
        );
        std::fs::remove_file(d.join("u-0.bin.receipt")).unwrap();
        assert!(
            why(d, &job, 0).contains("no receipt"),
            "{}",
            why(d, &job, 0)
        );
        std::fs::write(d.join("u-0.bin.receipt"), b"{\"job\": 1}").unwrap();
        assert!(
            why(d, &job, 0).contains("not a unit receipt"),
            "{}",
            why(d, &job, 0)
        );
        std::fs::write(d.join("u-0.bin.receipt"), vec![b' '; 5000]).unwrap();
        assert!(
            why(d, &job, 0).contains("not a receipt"),
            "{}",
            why(d, &job, 0)
        );
        std::fs::remove_file(d.join("u-0.bin")).unwrap();
        assert!(why(d, &job, 0).contains("missing"), "{}", why(d, &job, 0));
    }
}

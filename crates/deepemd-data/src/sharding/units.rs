//! The resumable loop of a sharded job: each unit this run owns is skipped when its file proves
//! itself, and made (then recorded) otherwise.

use std::path::Path;

use super::manifest::JobId;
use super::receipt::{Receipt, receipt_name, verify_unit};
use super::shard::Shard;
use crate::error::{Error, Result};

/// Removes what a killed run left of `name` in `dir`: the temporary files of
/// `write_atomic_with` (`.{name}.{pid}-{nonce}.tmp`). Call it only for units this run owns: another
/// shard may be writing its own units into the same folder.
pub fn remove_stale_temporaries(dir: &Path, name: &str) -> Result<()> {
    let prefix = format!(".{name}.");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// A job made of unit files, as [`run_units`] runs it.
pub trait UnitJob: Sync {
    /// The job's error type.
    type Error: From<Error> + std::fmt::Display;
    /// Units in the whole job.
    fn units(&self) -> usize;
    /// File name of unit `k`.
    fn unit_name(&self, k: usize) -> String;
    /// Items (pairs) in unit `k`, for the progress count.
    fn unit_items(&self, k: usize) -> usize;
    /// Checks the content of unit file `k` at `path` (its shape, its values), once its receipt
    /// has verified; the error says what is wrong.
    fn check(&self, k: usize, path: &Path) -> Result<(), Self::Error>;
    /// Makes unit `k` and writes it to `path` atomically, calling `tick` once per item.
    fn make(&self, k: usize, path: &Path, tick: &(dyn Fn() + Sync)) -> Result<(), Self::Error>;
}

/// What [`run_units`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitsRun {
    /// Units this run is responsible for (all of them when unsharded).
    pub owned: usize,
    /// Of those, the ones found complete and skipped.
    pub skipped: usize,
    /// Items made by this run.
    pub items_made: usize,
    /// Units whose file was there but not trusted (no receipt: interrupted; another job's;
    /// damaged), and so were made again.
    pub remade: usize,
    /// Why the first of those was not trusted.
    pub first_remade: Option<String>,
}

/// The resumable loop of a sharded job in `dir`, whose manifest has the identity `id`: every
/// unit `shard` owns is skipped when its file verifies ([`verify_unit`], then
/// [`UnitJob::check`]); otherwise what a killed run left of it is removed, it is made, and its
/// receipt is recorded. `progress(done, total)` counts this run's items, skipped units included,
/// from any thread.
pub fn run_units<J: UnitJob>(
    job: &J,
    dir: &Path,
    id: &JobId,
    shard: Shard,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<UnitsRun, J::Error> {
    let owned: Vec<usize> = (0..job.units()).filter(|&k| shard.owns(k)).collect();
    let total: usize = owned.iter().map(|&k| job.unit_items(k)).sum();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let add = |n: usize| done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
    let mut run = UnitsRun {
        owned: owned.len(),
        skipped: 0,
        items_made: 0,
        remade: 0,
        first_remade: None,
    };
    for k in owned {
        let (name, items) = (job.unit_name(k), job.unit_items(k));
        let path = dir.join(&name);
        let receipt = dir.join(receipt_name(&name));
        if path.exists() || receipt.exists() {
            let trusted = verify_unit(dir, id, k, &name)
                .map_err(J::Error::from)
                .and_then(|_| job.check(k, &path));
            match trusted {
                Ok(()) => {
                    run.skipped += 1;
                    progress(add(items), total);
                    continue;
                }
                Err(why) => {
                    run.remade += 1;
                    run.first_remade.get_or_insert_with(|| why.to_string());
                }
            }
        }
        remove_stale_temporaries(dir, &name)?;
        remove_stale_temporaries(dir, &receipt_name(&name))?;
        // The old receipt goes first: a kill after the new file leaves a unit without one.
        remove_if_present(&receipt)?;
        job.make(k, &path, &|| progress(add(1), total))?;
        Receipt::record(dir, id, k, &name)?;
        run.items_made += items;
    }
    Ok(run)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_one_unit_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            ".u-1.bin.123.tmp",
            ".u-2.bin.123.tmp",
            "u-1.bin",
            ".u-1.bin.x",
        ] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        remove_stale_temporaries(dir.path(), "u-1.bin").unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".u-1.bin.x", ".u-2.bin.123.tmp", "u-1.bin"]);
    }

    /// A toy job of 6 units: unit k is `u-k.txt` holding "k"; counts the units made.
    struct Toy {
        made: std::sync::Mutex<Vec<usize>>,
    }

    impl UnitJob for Toy {
        type Error = Error;
        fn units(&self) -> usize {
            6
        }
        fn unit_name(&self, k: usize) -> String {
            format!("u-{k}.txt")
        }
        fn unit_items(&self, _: usize) -> usize {
            2
        }
        fn check(&self, k: usize, path: &Path) -> Result<()> {
            match crate::formats::read_text(path)? == k.to_string() {
                true => Ok(()),
                false => Err(Error::format(path, "wrong content")),
            }
        }
        fn make(&self, k: usize, path: &Path, tick: &(dyn Fn() + Sync)) -> Result<()> {
            tick();
            tick();
            self.made.lock().unwrap().push(k);
            crate::formats::write_atomic(path, k.to_string().as_bytes())
        }
    }

    #[test]
    fn units_that_do_not_prove_themselves_are_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("job.json"), "6").unwrap();
        let id = JobId::of_manifest(&d.join("job.json")).unwrap();
        let toy = Toy {
            made: Default::default(),
        };
        let run = |shard| run_units(&toy, d, &id, shard, &|_, _| {}).unwrap();
        let first = run(Shard::new(0, 2).unwrap());
        assert_eq!(
            (first.owned, first.skipped, first.items_made, first.remade),
            (3, 0, 6, 0)
        );
        let whole = run(Shard::WHOLE);
        assert_eq!((whole.skipped, whole.remade), (3, 0));
        assert_eq!(*toy.made.lock().unwrap(), [0, 2, 4, 1, 3, 5]);

        // Damage of every kind: a receipt lost (killed before recording it), content changed,
        // two units swapped with their receipts, a unit of another job with its receipt.
        std::fs::remove_file(d.join("u-0.txt.receipt")).unwrap();
        std::fs::write(d.join("u-1.txt"), "7").unwrap();
        for ext in ["", ".receipt"] {
            let (a, b) = (
                d.join(format!("u-2.txt{ext}")),
                d.join(format!("u-3.txt{ext}")),
            );
            let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            std::fs::write(&a, y).unwrap();
            std::fs::write(&b, x).unwrap();
        }
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("job.json"), "7").unwrap();
        let other_id = JobId::of_manifest(&other.path().join("job.json")).unwrap();
        std::fs::write(d.join("u-4.txt"), "4").unwrap();
        Receipt::record(d, &other_id, 4, "u-4.txt").unwrap();
        toy.made.lock().unwrap().clear();
        let again = run(Shard::WHOLE);
        assert_eq!((again.skipped, again.remade), (1, 5));
        assert!(
            again
                .first_remade
                .unwrap()
                .contains("u-0.txt: not trusted: it has no receipt")
        );
        assert_eq!(*toy.made.lock().unwrap(), [0, 1, 2, 3, 4]);
        for k in 0..6 {
            verify_unit(d, &id, k, &format!("u-{k}.txt")).unwrap();
            assert_eq!(
                std::fs::read_to_string(d.join(format!("u-{k}.txt"))).unwrap(),
                k.to_string()
            );
        }
    }
}

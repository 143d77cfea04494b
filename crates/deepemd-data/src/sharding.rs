//! Splitting a long job into N deterministic slices for a batch scheduler (Slurm job arrays,
//! Kubernetes Indexed Jobs), and merging their output folders.
//!
//! A sharded job writes a *manifest* (its settings, the same bytes in every shard) and one file
//! per *unit* of work, named by the unit's index alone. Shard `I` of `N` makes the units `k`
//! with `k mod N = I`: round-robin, so every shard gets an equal share even when the cost of the
//! units drifts along the job. Each unit file is written atomically and a rerun skips the
//! complete ones, so a killed shard is resumed by running it again; and the union of the N
//! folders is exactly what one unsharded run writes. [`merge_shards`] checks that union — no
//! unit missing, none made twice, every file readable — before copying it into one folder.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::formats::{read_text, write_atomic, write_atomic_with};

/// Shard `index` of `count` (0 ≤ index < count); [`Shard::WHOLE`] is the unsharded job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The whole job in one run.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::InvalidParameter(format!(
                "shard {index}/{count}: the index must be in 0..{count} and the count at least 1 \
                 (e.g. --shard 0/{}, the first of {})",
                count.max(1),
                count.max(1)
            )));
        }
        Ok(Self { index, count })
    }

    /// This shard's index, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many shards the job is split into.
    pub fn count(&self) -> usize {
        self.count
    }

    /// True for the unsharded job.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// True when unit `unit` is this shard's to make.
    pub fn owns(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }

    /// The shard of `count` that makes unit `unit`.
    pub fn of_unit(unit: usize, count: usize) -> Shard {
        Shard {
            index: unit % count,
            count,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `I/N`, as `--shard $SLURM_ARRAY_TASK_ID/N` or `--shard $JOB_COMPLETION_INDEX/N` give it.
impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidParameter(format!(
                "'{s}' is not a shard: write I/N with 0 ≤ I < N (e.g. 0/8 for the first of 8)"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let parse = |t: &str| t.trim().parse::<usize>().map_err(|_| bad());
        Shard::new(parse(i)?, parse(n)?)
    }
}

/// Writes `config` as the manifest at `path`, or, when one is there, checks that it holds the
/// same settings: a rerun resumes only what the same settings started. `what` names the job in
/// the error ("pairs", "distances").
pub fn ensure_manifest<T>(path: &Path, config: &T, what: &str) -> Result<()>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
{
    if path.exists() {
        let old: T = serde_json::from_str(&read_text(path)?)
            .map_err(|e| Error::format(path, format!("not a description of {what} ({e})")))?;
        if &old != config {
            return Err(Error::format(
                path,
                format!(
                    "this folder holds {what} made with other settings; choose another output \
                     folder or delete it"
                ),
            ));
        }
        return Ok(());
    }
    let text = serde_json::to_string_pretty(config).expect("a manifest serializes");
    write_atomic(path, text.as_bytes())
}

/// Removes what a killed run left of `name` in `dir`: the temporary files of
/// [`write_atomic_with`] (`.{name}.{pid}-{nonce}.tmp`). Call it only for units this run owns: another
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
    type Error: From<Error>;
    /// Units in the whole job.
    fn units(&self) -> usize;
    /// File name of unit `k`.
    fn unit_name(&self, k: usize) -> String;
    /// Items (pairs) in unit `k`, for the progress count.
    fn unit_items(&self, k: usize) -> usize;
    /// Whether `path` already holds a complete unit `k`.
    fn is_complete(&self, k: usize, path: &Path) -> bool;
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
}

/// The resumable loop of a sharded job in `dir`: every unit `shard` owns is skipped when
/// complete, otherwise what a killed run left of it is removed and it is made.
/// `progress(done, total)` counts this run's items, skipped units included, from any thread.
pub fn run_units<J: UnitJob>(
    job: &J,
    dir: &Path,
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
    };
    for k in owned {
        let (name, items) = (job.unit_name(k), job.unit_items(k));
        let path = dir.join(&name);
        if job.is_complete(k, &path) {
            run.skipped += 1;
            progress(add(items), total);
            continue;
        }
        remove_stale_temporaries(dir, &name)?;
        job.make(k, &path, &|| progress(add(1), total))?;
        run.items_made += items;
    }
    Ok(run)
}

/// One kind of sharded output, as [`merge_shards`] sees it.
pub trait ShardedOutput {
    /// The manifest's file name; its presence marks a folder of this kind.
    fn manifest_name(&self) -> &'static str;
    /// The unit files the manifest at `manifest` calls for, in unit order.
    fn unit_files(&self, manifest: &Path) -> Result<Vec<String>>;
    /// Checks that `path` is a complete, readable file for unit `unit` of that job.
    fn check_unit(&self, manifest: &Path, unit: usize, path: &Path) -> Result<()>;
}

/// What [`merge_shards`] found and did.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeReport {
    /// The manifest's file name (which kind of output was merged).
    pub manifest: &'static str,
    /// Unit files in the job.
    pub units: usize,
    /// Shards the job was split into.
    pub shards: usize,
    /// Files copied into the output folder (0 when only checking).
    pub copied: usize,
}

/// Checks that `folders`, the outputs of the `shards` shards of one job, hold together every
/// unit of it exactly once, each complete; then, with `out`, copies them into `out` (file by
/// file, atomically). `kinds` lists the outputs a folder may hold. The error names each shard
/// that is missing (not run, or stopped before it finished) or duplicated (in two folders), and
/// each unreadable file.
pub fn merge_shards(
    kinds: &[&dyn ShardedOutput],
    folders: &[PathBuf],
    shards: usize,
    out: Option<&Path>,
) -> Result<MergeReport> {
    if folders.is_empty() {
        return Err(Error::InvalidParameter(
            "no shard folders given to merge".into(),
        ));
    }
    Shard::new(0, shards)?;
    for (k, f) in folders.iter().enumerate() {
        if folders[..k].iter().any(|g| same_file(f, g)) {
            return Err(Error::InvalidParameter(format!(
                "{} is given twice; pass each shard's folder once",
                f.display()
            )));
        }
    }
    let (kind, manifest) = common_manifest(kinds, folders)?;
    let names = kind.unit_files(&manifest)?;

    // Which folders hold each unit, and which of those copies are broken.
    let mut holders: Vec<Vec<&PathBuf>> = vec![Vec::new(); names.len()];
    let mut broken: Vec<String> = Vec::new();
    for folder in folders {
        for (k, name) in names.iter().enumerate() {
            let path = folder.join(name);
            if !path.exists() {
                continue;
            }
            if let Err(e) = kind.check_unit(&manifest, k, &path) {
                broken.push(format!(
                    "{e} (unit of shard {}; run that shard again, it resumes)",
                    Shard::of_unit(k, shards)
                ));
            }
            holders[k].push(folder);
        }
    }
    let mut missing: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    let mut duplicated: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (k, held) in holders.iter().enumerate() {
        let shard = k % shards;
        match held.len() {
            0 => missing.entry(shard).or_default().push(&names[k]),
            1 => {}
            _ => {
                let places = held.iter().map(|f| f.display().to_string()).collect();
                let seen = duplicated.entry(shard).or_default();
                if seen.is_empty() {
                    *seen = places;
                }
            }
        }
    }
    let mut problems: Vec<String> = Vec::new();
    for (shard, files) in &missing {
        let owned = (0..names.len()).filter(|k| k % shards == *shard).count();
        problems.push(format!(
            "shard {shard}/{shards} is missing: {} of its {owned} files are in none of the folders \
             ({}); run it (again) with --shard {shard}/{shards}",
            files.len(),
            abbreviated(files)
        ));
    }
    for (shard, places) in &duplicated {
        problems.push(format!(
            "shard {shard}/{shards} is duplicated: its files are in {}; pass one folder per shard",
            places.join(" and ")
        ));
    }
    problems.extend(broken);
    if !problems.is_empty() && folders.len() > 1 {
        // One folder per shard should hold the units of one shard; if not, N may be wrong.
        for (folder, held) in folders.iter().map(|f| {
            let owners: std::collections::BTreeSet<usize> = holders
                .iter()
                .enumerate()
                .filter(|(_, h)| h.contains(&f))
                .map(|(k, _)| k % shards)
                .collect();
            (f, owners)
        }) {
            if held.len() > 1 {
                problems.push(format!(
                    "note: {} holds units of {} shards of {shards}; is {shards} the N the shards \
                     were run with (--shard I/N)?",
                    folder.display(),
                    held.len()
                ));
                break;
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidParameter(format!(
            "the {} shard folders do not make one complete job: {}",
            folders.len(),
            problems.join("; ")
        )));
    }

    let mut copied = 0;
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let target = out.join(kind.manifest_name());
        if target.exists() && read_text(&target)? != read_text(&manifest)? {
            return Err(Error::format(
                &target,
                "the output folder holds another job's manifest; choose another output folder",
            ));
        }
        for (name, held) in names.iter().zip(&holders) {
            let source = held[0].join(name);
            let target = out.join(name);
            if !same_file(&source, &target) {
                copy_atomic(&source, &target)?;
                copied += 1;
            }
        }
        // The manifest last: a merge stopped midway leaves no folder that looks like a set.
        copy_atomic(&manifest, &target)?;
    }
    Ok(MergeReport {
        manifest: kind.manifest_name(),
        units: names.len(),
        shards,
        copied,
    })
}

/// The kind of output the folders hold and the manifest they share (byte for byte).
fn common_manifest<'a>(
    kinds: &[&'a dyn ShardedOutput],
    folders: &[PathBuf],
) -> Result<(&'a dyn ShardedOutput, PathBuf)> {
    let first = &folders[0];
    let kind = *kinds
        .iter()
        .find(|k| first.join(k.manifest_name()).exists())
        .ok_or_else(|| {
            let names: Vec<&str> = kinds.iter().map(|k| k.manifest_name()).collect();
            Error::format(
                first,
                format!(
                    "holds no {}: not the output folder of a sharded run (did the shard start?)",
                    names.join(" or ")
                ),
            )
        })?;
    let manifest = first.join(kind.manifest_name());
    let text = read_text(&manifest)?;
    for folder in &folders[1..] {
        let other = folder.join(kind.manifest_name());
        if !other.exists() {
            return Err(Error::format(
                folder,
                format!(
                    "holds no {} while {} does: not a shard of the same job",
                    kind.manifest_name(),
                    first.display()
                ),
            ));
        }
        if read_text(&other)? != text {
            return Err(Error::format(
                &other,
                format!(
                    "differs from {}: the shards were run with other settings",
                    manifest.display()
                ),
            ));
        }
    }
    Ok((kind, manifest))
}

/// Up to four names, then how many more.
fn abbreviated(names: &[&str]) -> String {
    let shown = names.iter().take(4).copied().collect::<Vec<_>>().join(", ");
    match names.len() {
        0..=4 => shown,
        n => format!("{shown} and {} more", n - 4),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn copy_atomic(source: &Path, target: &Path) -> Result<()> {
    write_atomic_with(target, |tmp| {
        std::fs::copy(source, tmp)
            .map(drop)
            .map_err(|e| Error::io(source, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_units_round_robin() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!((s.index(), s.count()), (2, 3));
        assert_eq!(s.to_string(), "2/3");
        let owned: Vec<usize> = (0..10).filter(|&k| s.owns(k)).collect();
        assert_eq!(owned, [2, 5, 8]);
        // Every unit has exactly one owner.
        for k in 0..50 {
            let owners = (0..4)
                .filter(|&i| Shard::new(i, 4).unwrap().owns(k))
                .count();
            assert_eq!(owners, 1);
        }
        assert!(Shard::WHOLE.is_whole() && Shard::WHOLE.owns(7));
        for bad in ["3/3", "1/0", "x/2", "2", "-1/3", "1/3/4"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("I/N") || e.contains("index"), "{bad}: {e}");
        }
    }

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

    /// A toy job: `job.json` holds the unit count; unit k is `u-k.txt` holding "k".
    struct Toy;

    impl ShardedOutput for Toy {
        fn manifest_name(&self) -> &'static str {
            "job.json"
        }
        fn unit_files(&self, manifest: &Path) -> Result<Vec<String>> {
            let n: usize = read_text(manifest)?.trim().parse().unwrap();
            Ok((0..n).map(|k| format!("u-{k}.txt")).collect())
        }
        fn check_unit(&self, _: &Path, unit: usize, path: &Path) -> Result<()> {
            if read_text(path)? == unit.to_string() {
                Ok(())
            } else {
                Err(Error::format(path, "wrong content"))
            }
        }
    }

    fn toy_shard(root: &Path, name: &str, shard: Shard, units: usize) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("job.json"), units.to_string()).unwrap();
        for k in (0..units).filter(|&k| shard.owns(k)) {
            std::fs::write(dir.join(format!("u-{k}.txt")), k.to_string()).unwrap();
        }
        dir
    }

    #[test]
    fn merge_copies_a_complete_job_and_names_missing_duplicated_and_broken_shards() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let s: Vec<PathBuf> = (0..3)
            .map(|i| toy_shard(r, &format!("s{i}"), Shard::new(i, 3).unwrap(), 10))
            .collect();
        let out = r.join("merged");
        let report = merge_shards(&[&Toy], &s, 3, Some(&out)).unwrap();
        assert_eq!((report.units, report.copied), (10, 10));
        let whole = toy_shard(r, "whole", Shard::WHOLE, 10);
        for f in std::fs::read_dir(&whole).unwrap() {
            let name = f.unwrap().file_name();
            assert_eq!(
                std::fs::read(out.join(&name)).unwrap(),
                std::fs::read(whole.join(&name)).unwrap()
            );
        }

        // Shard 1 run twice (once in place of shard 2): 1 duplicated, 2 missing.
        let again = toy_shard(r, "s1-again", Shard::new(1, 3).unwrap(), 10);
        let folders = [s[0].clone(), s[1].clone(), again];
        let e = merge_shards(&[&Toy], &folders, 3, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shard 2/3 is missing: 3 of its 3 files"), "{e}");
        assert!(e.contains("u-2.txt, u-5.txt, u-8.txt"), "{e}");
        assert!(e.contains("shard 1/3 is duplicated"), "{e}");
        assert!(e.contains("s1-again"), "{e}");

        // A corrupt unit is named with its shard.
        std::fs::write(s[2].join("u-5.txt"), "garbage").unwrap();
        let e = merge_shards(&[&Toy], &s, 3, None).unwrap_err().to_string();
        assert!(
            e.contains("u-5.txt: wrong content (unit of shard 2/3"),
            "{e}"
        );

        // Other settings, or no manifest at all.
        std::fs::write(s[2].join("job.json"), "11").unwrap();
        let e = merge_shards(&[&Toy], &s, 3, None).unwrap_err().to_string();
        assert!(e.contains("other settings"), "{e}");
        let empty = r.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let e = merge_shards(&[&Toy], &[empty], 1, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no job.json"), "{e}");
    }
}

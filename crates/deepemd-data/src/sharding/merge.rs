//! Merging the output folders of a sharded job into one, trusting only verified files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::manifest::JobId;
use super::receipt::{receipt_name, verify_unit};
use super::shard::Shard;
use crate::error::{Error, Result};
use crate::formats::{read_bytes, write_atomic_with};

/// One kind of sharded output, as [`merge_shards`] sees it.
pub trait ShardedOutput {
    /// The manifest's file name; its presence marks a folder of this kind.
    fn manifest_name(&self) -> &'static str;
    /// The unit files the manifest at `manifest` calls for, in unit order (at most
    /// [`super::MAX_UNITS`]: check the count before building the names).
    fn unit_files(&self, manifest: &Path) -> Result<Vec<String>>;
    /// Checks the content of `path`, a file whose receipt verified as unit `unit` of that job
    /// (its shape, its values).
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
    /// Files copied into the output folder (0 when only checking, or when it held them all).
    pub copied: usize,
    /// Copies that did not verify while another copy of the same unit did; they were not used
    /// (one line each, naming the file and why).
    pub ignored: Vec<String>,
}

/// Checks that `folders`, the outputs of the `shards` shards of one job, hold together every
/// unit of it, each with at least one copy that verifies (its receipt names this job and unit and
/// matches its bytes, and its content checks) and all verified copies of a unit identical; then,
/// with `out`, copies one verified copy of each unit and its receipt into `out` (atomically; the
/// manifest last). `out` may be one of the folders, and a folder may already hold the merged
/// job: merging again copies nothing and succeeds. `kinds` lists the outputs a folder may hold.
/// The error names each shard that is missing (not run, or stopped before it finished) and each
/// file that no verified copy replaces.
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
    // A folder named twice is the same folder: merging is idempotent.
    let mut unique: Vec<&PathBuf> = Vec::new();
    for f in folders {
        if !unique.iter().any(|g| same_file(f, g)) {
            unique.push(f);
        }
    }
    let given = unique.len();
    // A merged folder is a source too: a requeued merge step succeeds even after the shard
    // folders were cleaned up (those that no longer exist are then passed over).
    let out_buf = out.map(Path::to_path_buf);
    let merged_before = out_buf
        .as_ref()
        .filter(|o| kinds.iter().any(|k| o.join(k.manifest_name()).exists()));
    if let Some(o) = merged_before {
        unique.retain(|f| f.exists());
        let same_job = |f: &PathBuf| {
            kinds.iter().any(|k| {
                let (a, b) = (f.join(k.manifest_name()), o.join(k.manifest_name()));
                a.exists() && b.exists() && read_bytes(&a).ok() == read_bytes(&b).ok()
            })
        };
        let joins = unique.first().is_none_or(|f| same_job(f));
        if joins && !unique.iter().any(|f| same_file(f, o)) {
            unique.push(o);
        }
    }
    let (kind, manifest) = common_manifest(kinds, &unique)?;
    let job = JobId::of_manifest(&manifest)?;
    // Each kind bounds its unit count before it builds the names.
    let names = kind.unit_files(&manifest)?;

    // For each unit: the folders whose copy verifies (with its SHA-256), and the broken copies.
    let mut good: Vec<Vec<(&PathBuf, String)>> = vec![Vec::new(); names.len()];
    let mut broken: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for &folder in &unique {
        for (k, name) in names.iter().enumerate() {
            let path = folder.join(name);
            // A receipt without its file (the file deleted) is a missing unit, not a broken one.
            if !path.exists() {
                continue;
            }
            let verified = verify_unit(folder, &job, k, name)
                .and_then(|r| kind.check_unit(&manifest, k, &path).map(|()| r));
            match verified {
                Ok(receipt) => good[k].push((folder, receipt.sha256)),
                Err(e) => broken[k].push(e.to_string()),
            }
        }
    }
    let mut problems: Vec<String> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    let mut missing: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for k in 0..names.len() {
        let shard = Shard::of_unit(k, shards);
        match good[k].first() {
            None if broken[k].is_empty() => {
                missing.entry(shard.index()).or_default().push(&names[k])
            }
            None => problems.extend(broken[k].iter().map(|e| {
                format!("{e} (unit of shard {shard}; run that shard again, it remakes it)")
            })),
            Some((first, sha)) => {
                if let Some((other, _)) = good[k].iter().find(|(_, s)| s != sha) {
                    problems.push(format!(
                        "{} differs between {} and {}, both verified: the job is not \
                         deterministic; report it",
                        names[k],
                        first.display(),
                        other.display()
                    ));
                }
                ignored.extend(broken[k].iter().cloned());
            }
        }
    }
    let mut report_missing = Vec::new();
    for (shard, files) in &missing {
        // Units k < len with k mod N = shard.
        let owned = names.len() / shards + usize::from(*shard < names.len() % shards);
        report_missing.push(format!(
            "shard {shard}/{shards} is missing: {} of its {owned} files are in none of the folders \
             ({}); run it (again) with --shard {shard}/{shards}",
            files.len(),
            abbreviated(files)
        ));
    }
    if !report_missing.is_empty() && given != shards {
        report_missing.push(format!(
            "note: {given} folders were given for {shards} shards; is {shards} the N the shards \
             were run with (--shard I/N)?"
        ));
    }
    report_missing.extend(problems);
    if !report_missing.is_empty() {
        return Err(Error::InvalidInput(format!(
            "the {} shard folders do not make one complete job: {}",
            given,
            report_missing.join("; ")
        )));
    }

    let mut copied = 0;
    if let Some(out) = out {
        copied = copy_merged(kind, &manifest, &job, &names, &good, out)?;
    }
    Ok(MergeReport {
        manifest: kind.manifest_name(),
        units: names.len(),
        shards,
        copied,
        ignored,
    })
}

/// Copies one verified copy of each unit, with its receipt, into `out`, unless `out` already
/// holds a verified identical copy; the manifest last, so a merge stopped midway leaves no folder
/// that looks like a complete job. Returns the unit files copied.
fn copy_merged(
    kind: &dyn ShardedOutput,
    manifest: &Path,
    job: &JobId,
    names: &[String],
    good: &[Vec<(&PathBuf, String)>],
    out: &Path,
) -> Result<usize> {
    crate::formats::create_folder(out)?;
    let target_manifest = out.join(kind.manifest_name());
    if target_manifest.exists() && read_bytes(&target_manifest)? != read_bytes(manifest)? {
        return Err(Error::format(
            &target_manifest,
            "the output folder holds another job's manifest; choose another output folder",
        ));
    }
    let mut copied = 0;
    for (k, (name, held)) in names.iter().zip(good).enumerate() {
        let (source, sha) = &held[0];
        let in_place = verify_unit(out, job, k, name).is_ok_and(|r| &r.sha256 == sha);
        if in_place {
            continue;
        }
        copy_atomic(&source.join(name), &out.join(name))?;
        copy_atomic(
            &source.join(receipt_name(name)),
            &out.join(receipt_name(name)),
        )?;
        copied += 1;
    }
    if !same_file(manifest, &target_manifest) {
        copy_atomic(manifest, &target_manifest)?;
    }
    Ok(copied)
}

/// The kind of output the folders hold and the manifest they share (byte for byte).
fn common_manifest<'a>(
    kinds: &[&'a dyn ShardedOutput],
    folders: &[&PathBuf],
) -> Result<(&'a dyn ShardedOutput, PathBuf)> {
    let first = folders[0];
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
    let bytes = read_bytes(&manifest)?;
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
        if read_bytes(&other)? != bytes {
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
    use crate::sharding::{Receipt, check_unit_count};

    /// A toy job: `job.json` holds the unit count; unit k is `u-k.txt` holding "k".
    struct Toy;

    impl ShardedOutput for Toy {
        fn manifest_name(&self) -> &'static str {
            "job.json"
        }
        fn unit_files(&self, manifest: &Path) -> Result<Vec<String>> {
            let n: usize = crate::formats::read_text(manifest)?.trim().parse().unwrap();
            check_unit_count(manifest, n, "units")?;
            Ok((0..n).map(|k| format!("u-{k}.txt")).collect())
        }
        fn check_unit(&self, _: &Path, unit: usize, path: &Path) -> Result<()> {
            if crate::formats::read_text(path)? == unit.to_string() {
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
        let job = JobId::of_manifest(&dir.join("job.json")).unwrap();
        for k in (0..units).filter(|&k| shard.owns(k)) {
            let name = format!("u-{k}.txt");
            std::fs::write(dir.join(&name), k.to_string()).unwrap();
            Receipt::record(&dir, &job, k, &name).unwrap();
        }
        dir
    }

    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|f| {
                let f = f.unwrap();
                let name = f.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(f.path()).unwrap())
            })
            .collect()
    }

    fn shards(r: &Path, n: usize, units: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| toy_shard(r, &format!("s{i}"), Shard::new(i, n).unwrap(), units))
            .collect()
    }

    #[test]
    fn merge_copies_a_complete_job_byte_for_byte_and_merging_again_is_harmless() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let s = shards(r, 3, 10);
        let out = r.join("merged");
        let report = merge_shards(&[&Toy], &s, 3, Some(&out)).unwrap();
        assert_eq!((report.units, report.copied), (10, 10));
        let whole = toy_shard(r, "whole", Shard::WHOLE, 10);
        assert_eq!(files(&out), files(&whole));
        // Into one of the shard folders, twice (a requeued merge step), a folder named twice.
        let again = [s[0].clone(), s[0].clone(), s[1].clone(), s[2].clone()];
        let first = merge_shards(&[&Toy], &again, 3, Some(&s[0])).unwrap();
        assert_eq!(first.copied, 6);
        let second = merge_shards(&[&Toy], &again, 3, Some(&s[0])).unwrap();
        assert_eq!(second.copied, 0);
        assert_eq!(files(&s[0]), files(&whole));
        // The merged folder merges with itself and with shards run twice.
        let twice = toy_shard(r, "s1-again", Shard::new(1, 3).unwrap(), 10);
        let all = [out.clone(), s[1].clone(), twice];
        assert_eq!(
            merge_shards(&[&Toy], &all, 3, Some(&out)).unwrap().copied,
            0
        );
        // The same merge again after the shard folders were cleaned up: the merged folder is
        // its own source.
        for f in &s {
            std::fs::remove_dir_all(f).unwrap();
        }
        assert_eq!(merge_shards(&[&Toy], &s, 3, Some(&out)).unwrap().copied, 0);
        assert_eq!(files(&out), files(&whole));
    }

    #[test]
    fn missing_shards_and_untrusted_files_are_named_and_good_copies_win() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let s = shards(r, 3, 10);

        // Shard 1 run twice (once in place of shard 2): 2 missing, with the hint about N.
        let again = toy_shard(r, "s1-again", Shard::new(1, 3).unwrap(), 10);
        let folders = [s[0].clone(), s[1].clone(), again];
        let e = merge_shards(&[&Toy], &folders, 3, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shard 2/3 is missing: 3 of its 3 files"), "{e}");
        assert!(e.contains("u-2.txt, u-5.txt, u-8.txt"), "{e}");
        let e = merge_shards(&[&Toy], &s[..2], 3, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 folders were given for 3 shards"), "{e}");

        // A unit whose content changed (same length: only the hash tells) and no other copy.
        std::fs::write(s[2].join("u-5.txt"), "6").unwrap();
        let e = merge_shards(&[&Toy], &s, 3, None).unwrap_err().to_string();
        assert!(
            e.contains("u-5.txt: not trusted: its content changed") && e.contains("shard 2/3"),
            "{e}"
        );
        // With a verified copy elsewhere, the broken one is ignored (and reported) and the
        // merged folder gets the good one.
        let good = toy_shard(r, "s2-again", Shard::new(2, 3).unwrap(), 10);
        let folders = [s[0].clone(), s[1].clone(), s[2].clone(), good];
        let report = merge_shards(&[&Toy], &folders, 3, Some(&s[2])).unwrap();
        assert_eq!(report.ignored.len(), 1, "{:?}", report.ignored);
        assert_eq!(std::fs::read_to_string(s[2].join("u-5.txt")).unwrap(), "5");

        // A unit file of another job with the same name (its receipt names that job).
        let fresh = r.join("fresh");
        let s = shards(&fresh, 3, 10);
        let other = toy_shard(r, "other", Shard::WHOLE, 11);
        std::fs::copy(other.join("u-4.txt.receipt"), s[1].join("u-4.txt.receipt")).unwrap();
        let e = merge_shards(&[&Toy], &s, 3, None).unwrap_err().to_string();
        assert!(
            e.contains("u-4.txt: not trusted: it was made by another job"),
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
        // A manifest asking for more units than a job may have is refused before any list.
        let huge = r.join("huge");
        std::fs::create_dir_all(&huge).unwrap();
        std::fs::write(huge.join("job.json"), "1000000000000").unwrap();
        let e = merge_shards(&[&Toy], &[huge], 1, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than the 1048576"), "{e}");
    }
}

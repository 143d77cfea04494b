//! The long jobs' files as fuzz targets: a distance set's and a nearest set's manifest, one of
//! their units and one receipt, a pair set's manifest, an `emd-batch` list file, and the *stale
//! folder* scenario —
//! files of job A mixed into the folder of job B (two jobs on sets of the same sizes, as in a
//! rerun after `distances.json` was deleted), some damaged, in one folder or across shard
//! folders. The oracle is stronger than "no panic": whatever a final read, a resume or a merge
//! accepts must be the truth of the job that the folder's manifest describes; accepting anything
//! else is a `mismatch` finding.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use deepemd_core::PointCloud;
use deepemd_core::synthetic::uniform_cube;
use deepemd_data::pairs::{
    PAIRS_MANIFEST, PairMix, PairSetOutput, PairShard, PairsConfig, read_pair_set,
};
use deepemd_data::sharding::JobId;
use deepemd_data::sharding::{Receipt, Shard, ShardedOutput, merge_shards};
use deepemd_metrics::{
    DISTANCES_MANIFEST, DistanceMatrices, DistanceSetConfig, DistanceSetOutput, GenerationMetrics,
    NEAREST_MANIFEST, NearestSetConfig, NearestSetOutput, compute_distance_set,
    compute_nearest_set, nearest_set_metrics, read_distance_set,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The two kinds of set `gen-metrics --out` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// Every distance (`--brute-force`): `distances.json`, `distances-CCCCC.npy`.
    Distances,
    /// The pruned search's answers: `nearest.json`, `nearest-UUUUU.json`.
    Nearest,
}

impl SetKind {
    fn output(self) -> &'static dyn ShardedOutput {
        match self {
            SetKind::Distances => &DistanceSetOutput,
            SetKind::Nearest => &NearestSetOutput,
        }
    }
}

/// What a complete folder says: every distance, or the metrics of the answers (run time and
/// JSD, which a folder does not hold, left out).
#[derive(Clone, Debug, PartialEq)]
enum Truth {
    Distances(DistanceMatrices, DistanceMatrices),
    Metrics(GenerationMetrics),
}

/// A final read of the folder `dir` of a `kind` set.
fn read_truth(kind: SetKind, dir: &Path) -> Result<Truth, String> {
    match kind {
        SetKind::Distances => read_distance_set(dir).map(|(_, emd, cd)| Truth::Distances(emd, cd)),
        SetKind::Nearest => nearest_set_metrics(dir)
            .map(|m| Truth::Metrics(GenerationMetrics { seconds: 0.0, ..m })),
    }
    .map_err(|e| e.to_string())
}

/// A set's settings, of either kind.
#[derive(Clone, Debug, PartialEq)]
enum SetConfig {
    Distances(DistanceSetConfig),
    Nearest(NearestSetConfig),
}

/// One small set made in full: its clouds, settings, files and what it says.
pub struct SetJob {
    kind: SetKind,
    reference: Vec<PointCloud>,
    generated: Vec<PointCloud>,
    config: SetConfig,
    /// Every file of the complete folder, by name.
    pub files: BTreeMap<String, Vec<u8>>,
    truth: Truth,
}

fn clouds(count: usize, seed: u64) -> Vec<PointCloud> {
    (0..count as u64)
        .map(|k| uniform_cube(6, 3, &mut ChaCha8Rng::seed_from_u64(seed + k)).expect("6 points"))
        .collect()
}

impl SetJob {
    /// 3 reference and 3 generated clouds of 6 points; a distance set in chunks of 2 pairs (8
    /// chunk files) or a nearest set in units of 2 queries (6 unit files). `generated_seed`
    /// tells job A from job B (same sizes, other generated clouds).
    fn make(kind: SetKind, generated_seed: u64) -> Self {
        let (reference, generated) = (clouds(3, 100), clouds(3, generated_seed));
        let names = ("r", "g");
        let config = match kind {
            SetKind::Distances => SetConfig::Distances(
                DistanceSetConfig::new(&reference, &generated, names, 2).expect("valid sets"),
            ),
            SetKind::Nearest => SetConfig::Nearest(
                NearestSetConfig::new(&reference, &generated, names, 2).expect("valid sets"),
            ),
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        compute_set(&config, &reference, &generated, dir.path()).expect("the set is made");
        let files = std::fs::read_dir(dir.path())
            .expect("readable")
            .map(|f| {
                let f = f.expect("an entry");
                (
                    f.file_name().to_string_lossy().into_owned(),
                    std::fs::read(f.path()).expect("readable"),
                )
            })
            .collect();
        let truth = read_truth(kind, dir.path()).expect("the set reads back");
        Self {
            kind,
            reference,
            generated,
            config,
            files,
            truth,
        }
    }

    /// Computes (or resumes) the whole set in `dir`.
    fn compute(&self, dir: &Path) -> Result<(), String> {
        compute_set(&self.config, &self.reference, &self.generated, dir)
    }
}

/// Computes (or resumes) the whole set of `config` in `dir`.
fn compute_set(
    config: &SetConfig,
    r: &[PointCloud],
    g: &[PointCloud],
    dir: &Path,
) -> Result<(), String> {
    let never = std::sync::atomic::AtomicBool::new(false);
    match config {
        SetConfig::Distances(c) => {
            compute_distance_set(r, g, c, dir, Shard::WHOLE, &|_, _| {}, &never).map(drop)
        }
        SetConfig::Nearest(c) => {
            compute_nearest_set(r, g, c, dir, Shard::WHOLE, &|_, _| {}, &never).map(drop)
        }
    }
    .map_err(|e| e.to_string())
}

/// Job A (the seeds' job) and job B of each kind.
pub fn set_jobs(kind: SetKind) -> &'static [SetJob; 2] {
    static DISTANCES: OnceLock<[SetJob; 2]> = OnceLock::new();
    static NEAREST: OnceLock<[SetJob; 2]> = OnceLock::new();
    let cell = match kind {
        SetKind::Distances => &DISTANCES,
        SetKind::Nearest => &NEAREST,
    };
    cell.get_or_init(|| [SetJob::make(kind, 200), SetJob::make(kind, 300)])
}

/// Empties `dir` and writes `files` into it, but for `keep` (the mutant, already there).
fn reset_folder(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    keep: Option<&str>,
) -> std::io::Result<()> {
    if dir.exists() {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if Some(entry.file_name().to_string_lossy().as_ref()) == keep {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in files {
        if Some(name.as_str()) != keep {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    Ok(())
}

/// The job whose settings the manifest in `dir` holds, if it is A or B of `kind`.
fn job_of_folder(kind: SetKind, dir: &Path) -> Option<&'static SetJob> {
    let config = match kind {
        SetKind::Distances => {
            SetConfig::Distances(DistanceSetConfig::read(&dir.join(DISTANCES_MANIFEST)).ok()?)
        }
        SetKind::Nearest => {
            SetConfig::Nearest(NearestSetConfig::read(&dir.join(NEAREST_MANIFEST)).ok()?)
        }
    };
    set_jobs(kind).iter().find(|j| j.config == config)
}

/// What the checks of one folder found: reads tried and accepted, and a wrong acceptance.
#[derive(Default)]
pub struct Checked {
    pub tried: usize,
    pub ok: usize,
    pub wrong: Option<String>,
}

impl Checked {
    /// A final read of `dir`: if it is accepted, it must be the truth of the folder's job.
    fn read(&mut self, kind: SetKind, dir: &Path, what: &str) {
        self.tried += 1;
        let Ok(truth) = read_truth(kind, dir) else {
            return;
        };
        self.ok += 1;
        if !job_of_folder(kind, dir).is_some_and(|job| job.truth == truth) {
            self.wrong.get_or_insert(format!(
                "{what}: accepted a set that is not the truth of the folder's job"
            ));
        }
    }

    /// Merges `folders` into `out` (N = the folders' count); if it is accepted, the merged folder
    /// must read as its job's truth.
    fn merge(&mut self, kind: SetKind, folders: &[std::path::PathBuf], out: &Path) {
        self.tried += 1;
        if merge_shards(&[kind.output()], folders, folders.len(), Some(out)).is_ok() {
            self.ok += 1;
            match read_truth(kind, out) {
                Ok(_) => self.read(kind, out, "a merged folder"),
                Err(e) => {
                    self.wrong.get_or_insert(format!(
                        "a merge succeeded but its folder does not read: {e}"
                    ));
                }
            }
        }
    }

    /// Resumes `dir` as `job`; if the resume is accepted, the folder must then read as `job`.
    fn resume(&mut self, dir: &Path, job: &SetJob) {
        self.tried += 1;
        if job.compute(dir).is_ok() {
            self.ok += 1;
            if read_truth(job.kind, dir).as_ref() != Ok(&job.truth) {
                self.wrong.get_or_insert(
                    "a resume succeeded but the folder is not its job's truth".into(),
                );
            }
        }
    }
}

/// A mutated file of job A's `kind` set at `path` (its real name), the rest of the folder
/// complete: a final read, a merge and a resume.
pub fn exercise_set(kind: SetKind, path: &Path) -> Checked {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let [a, _] = set_jobs(kind);
    let mut checked = Checked::default();
    if reset_folder(dir, &a.files, name.as_deref()).is_err() {
        return checked;
    }
    checked.read(kind, dir, "a final read");
    checked.merge(kind, &[dir.to_path_buf()], &dir.join("merged"));
    checked.resume(dir, a);
    checked
}

/// The stale-folder scenario drawn from `bytes` (the mutant as a random source): folders made
/// of files of jobs A and B, some damaged, read, merged and resumed as B.
pub fn exercise_stale_folder(path: &Path, bytes: &[u8]) -> Checked {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let mut rng = ChaCha8Rng::seed_from_u64(h.finish());
    let root = path.parent().unwrap_or(Path::new(".")).join("scenario");
    let kind = if rng.random_bool(0.5) {
        SetKind::Distances
    } else {
        SetKind::Nearest
    };
    let [a, b] = set_jobs(kind);
    let mut checked = Checked::default();
    let shards = rng.random_range(1..=3usize);
    let folders: Vec<_> = (0..shards).map(|i| root.join(format!("s{i}"))).collect();
    for folder in &folders {
        let mut files = BTreeMap::new();
        let (pb, pa) = (rng.random_range(0.3..=1.0), rng.random_range(0.0..=0.7));
        for (job, p) in [(b, pb), (a, pa)] {
            for (name, content) in &job.files {
                if rng.random_bool(p) {
                    files.insert(name.clone(), content.clone());
                }
            }
        }
        if rng.random_bool(0.3) && !files.is_empty() {
            let k = rng.random_range(0..files.len());
            let content = files.values_mut().nth(k).expect("k < len");
            if !content.is_empty() {
                let at = rng.random_range(0..content.len());
                content[at] ^= 1 << rng.random_range(0..8);
            }
        }
        if reset_folder(folder, &files, None).is_err() {
            return checked;
        }
    }
    for folder in &folders {
        checked.read(kind, folder, "a final read of a stale folder");
    }
    checked.merge(kind, &folders, &root.join("merged"));
    checked.resume(&folders[0], b);
    let _ = std::fs::remove_dir_all(&root);
    checked
}

/// The pair set of the fuzzer's seed shard: its settings (what `pairs.json` holds).
pub fn seed_pairs_config(shard: &PairShard) -> PairsConfig {
    PairsConfig {
        source: "fuzz seed".into(),
        shapes_sha256: "the fuzzer's seed shard".into(),
        points: shard.n,
        pairs: shard.len(),
        shard_size: shard.len(),
        seed: 0,
        mix: PairMix::default(),
    }
}

/// A mutated `pairs.json` at `path`, beside the seed shard `shard_seed` recorded for the seed
/// manifest `manifest_seed`: a final read and a merge. The receipt names the seed manifest's
/// SHA-256, so either may accept only the seed's own bytes, and then only the seed's pairs.
pub fn exercise_pairs_manifest(path: &Path, manifest_seed: &[u8], shard_seed: &[u8]) -> Checked {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut checked = Checked::default();
    let Ok(mutant) = std::fs::read(path) else {
        return checked;
    };
    if pair_set_folder(dir, manifest_seed, shard_seed).is_err() {
        return checked;
    }
    let Ok(truth) = read_pair_set(dir) else {
        return checked;
    };
    if std::fs::write(path, &mutant).is_err() {
        return checked;
    }
    let mut check = |folder: &Path, what: &str| {
        checked.tried += 1;
        if let Ok(shards) = read_pair_set(folder) {
            checked.ok += 1;
            let manifest = std::fs::read(folder.join(PAIRS_MANIFEST)).ok();
            if manifest.as_deref() != Some(manifest_seed) || shards != truth {
                checked
                    .wrong
                    .get_or_insert(format!("{what}: accepted a pair set other than the seed's"));
            }
        }
    };
    check(dir, "a final read");
    let out = dir.join("merged");
    let merged = merge_shards(
        &[&PairSetOutput as &dyn ShardedOutput],
        &[dir.to_path_buf()],
        1,
        Some(&out),
    );
    if merged.is_ok() {
        check(&out, "a merged folder");
    }
    let _ = std::fs::remove_dir_all(&out);
    checked
}

/// Makes `dir` the complete pair set of the seed manifest and the seed shard, with its receipt.
fn pair_set_folder(dir: &Path, manifest_seed: &[u8], shard_seed: &[u8]) -> std::io::Result<()> {
    reset_folder(dir, &BTreeMap::new(), None)?;
    let manifest = dir.join(PAIRS_MANIFEST);
    std::fs::write(&manifest, manifest_seed)?;
    let name = PairsConfig::shard_name(0);
    std::fs::write(dir.join(&name), shard_seed)?;
    let job = JobId::of_manifest(&manifest).map_err(std::io::Error::other)?;
    Receipt::record(dir, &job, 0, &name).map_err(std::io::Error::other)?;
    Ok(())
}

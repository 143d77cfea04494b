//! What is fuzzed: one target per committed seed file (every format the readers know), and
//! what runs on a mutated copy — every reader that accepts the format, then the exact solvers
//! on each cloud that was read.

use std::path::Path;

use deepemd_core::synthetic::uniform_cube;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, PointCloud, Unequal, tolerance};
use deepemd_data::hdf5::{ShapeFile, load_modelnet40, load_shapenet_part};
use deepemd_data::pairs::PairShard;
use deepemd_data::{Mesh, read_cloud, read_cloud_spec, read_pair_list};
use deepemd_solvers::{Exact, Hungarian, MAX_UNIFORM_LCM};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::jobs;

/// Which readers a target's file goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `read_cloud` and `read_cloud_spec`.
    Cloud,
    /// Those, plus the mesh reader and surface sampling.
    Mesh,
    /// An HDF5 file in the ModelNet40 layout: `ShapeFile::read`, the `#K` and `:dataset#K`
    /// selectors, and `load_modelnet40` on its folder.
    ModelNet40,
    /// An HDF5 file in the ShapeNet part layout: `load_shapenet_part` and the selector.
    ShapeNetPart,
    /// A shard of training pairs: `PairShard::read` and its pairs.
    Shard,
    /// A file of a complete distance set (`jobs::exercise_set`): final read, merge, resume;
    /// whatever is accepted must be the truth of the folder's job.
    DistanceSet,
    /// The same for a file of a nearest set (the pruned search's answers).
    NearestSet,
    /// `pairs.json` beside a shard and its receipt (`jobs::exercise_pairs_manifest`).
    PairsManifest,
    /// An `emd-batch` list file (`read_pair_list`), then the clouds it names.
    PairList,
    /// The mutant is only a random source for a stale-folder scenario
    /// (`jobs::exercise_stale_folder`).
    StaleFolder,
}

/// One seed file and how its mutants are read.
#[derive(Debug)]
pub struct Target {
    /// Short name, used in file names of findings (`ply_binary-panic-…`): no '-'.
    pub name: &'static str,
    /// The format, for the report.
    pub format: &'static str,
    /// The seed's file name under `seeds/`.
    pub seed_file: &'static str,
    /// The seed's bytes.
    pub seed: &'static [u8],
    /// The name a mutant gets in its work folder (the layouts need their real names).
    pub file: &'static str,
    /// Which readers run.
    pub kind: Kind,
}

macro_rules! target {
    ($name:literal, $format:literal, $seed:literal, $file:literal, $kind:ident) => {
        Target {
            name: $name,
            format: $format,
            seed_file: $seed,
            seed: include_bytes!(concat!("../seeds/", $seed)),
            file: $file,
            kind: Kind::$kind,
        }
    };
}

/// Every target; input `i` of a run mutates the seed of `TARGETS[i % TARGETS.len()]`.
pub const TARGETS: &[Target] = &[
    target!(
        "ply_ascii",
        "PLY ascii (mesh)",
        "mesh_ascii.ply",
        "mesh.ply",
        Mesh
    ),
    target!(
        "ply_binary",
        "PLY binary LE (mesh)",
        "mesh_binary.ply",
        "mesh.ply",
        Mesh
    ),
    target!(
        "ply_binary_be",
        "PLY binary BE",
        "cloud_be.ply",
        "cloud.ply",
        Cloud
    ),
    target!("off", "OFF (mesh)", "mesh.off", "mesh.off", Mesh),
    target!("xyz", "XYZ", "cloud.xyz", "cloud.xyz", Cloud),
    target!("txt", "TXT (2-D)", "cloud2d.txt", "cloud.txt", Cloud),
    target!("csv", "CSV", "cloud.csv", "cloud.csv", Cloud),
    target!("npy_f32", "NPY f32", "cloud_f32.npy", "cloud.npy", Cloud),
    target!(
        "npy_f64",
        "NPY f64 (2-D)",
        "cloud_f64.npy",
        "cloud.npy",
        Cloud
    ),
    target!("pcd", "PCD ascii", "cloud.pcd", "cloud.pcd", Cloud),
    target!(
        "h5_modelnet40",
        "HDF5 ModelNet40",
        "modelnet40.h5",
        "ply_data_train0.h5",
        ModelNet40
    ),
    target!(
        "h5_modelnet40_gzip",
        "HDF5 ModelNet40 (gzip)",
        "modelnet40_gzip.h5",
        "ply_data_train0.h5",
        ModelNet40
    ),
    target!(
        "h5_shapenet",
        "HDF5 ShapeNet part",
        "shapenet_part.h5",
        "ply_data_train0.h5",
        ShapeNetPart
    ),
    target!(
        "h5_shard",
        "HDF5 pair shard",
        "shard.h5",
        "pairs-00000.h5",
        Shard
    ),
    target!(
        "distances_json",
        "distance-set manifest",
        "distances.json",
        "distances.json",
        DistanceSet
    ),
    target!(
        "distances_chunk",
        "distance-set chunk (NPY)",
        "distances_chunk.npy",
        "distances-00001.npy",
        DistanceSet
    ),
    target!(
        "distances_receipt",
        "unit receipt",
        "distances_chunk.npy.receipt",
        "distances-00001.npy.receipt",
        DistanceSet
    ),
    target!(
        "nearest_json",
        "nearest-set manifest",
        "nearest.json",
        "nearest.json",
        NearestSet
    ),
    target!(
        "nearest_unit",
        "nearest-set unit (JSON)",
        "nearest_unit.json",
        "nearest-00001.json",
        NearestSet
    ),
    target!(
        "nearest_receipt",
        "unit receipt (nearest set)",
        "nearest_unit.json.receipt",
        "nearest-00001.json.receipt",
        NearestSet
    ),
    target!(
        "pairs_json",
        "pair-set manifest",
        "pairs.json",
        "pairs.json",
        PairsManifest
    ),
    target!(
        "pair_list",
        "emd-batch list",
        "list.txt",
        "list.txt",
        PairList
    ),
    target!(
        "stale_folder",
        "stale folders (A's files in B's)",
        "scenario.bin",
        "scenario.bin",
        StaleFolder
    ),
];

/// The target called `name`.
pub fn by_name(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Clouds larger than this are read but not given to the solvers (Hungarian is O(n³)).
pub const MAX_EMD_POINTS: usize = 2000;
/// At most this many clouds of one input go to the solvers.
const MAX_EMD_CLOUDS: usize = 3;

/// What one input did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Whether at least one reader accepted the file.
    pub accepted: bool,
    /// Reader calls made, and how many of them succeeded.
    pub reads: (usize, usize),
    /// EMD problems solved (each by both exact solvers).
    pub emd_runs: usize,
    /// The two exact solvers disagreed: a description.
    pub mismatch: Option<String>,
}

/// Writes the folder around a target's file that its layout needs (class names, file list).
pub fn prepare_folder(target: &Target, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if target.kind == Kind::ModelNet40 {
        std::fs::write(dir.join("shape_names.txt"), "airplane\nbathtub\nbed\n")?;
        std::fs::write(dir.join("train_files.txt"), format!("{}\n", target.file))?;
    }
    if target.kind == Kind::PairList {
        // The clouds the seed list names.
        for t in TARGETS.iter().filter(|t| t.kind == Kind::Cloud) {
            std::fs::write(dir.join(t.seed_file), t.seed)?;
        }
    }
    Ok(())
}

/// Most pairs of a list file whose clouds are read.
const MAX_LISTED_READS: usize = 4;

/// What the readers of one input returned.
#[derive(Default)]
struct Reads {
    tried: usize,
    ok: usize,
    clouds: Vec<PointCloud>,
}

impl Reads {
    /// Counts a reader's result; keeps a cloud it returned.
    fn count<T>(&mut self, read: deepemd_data::Result<T>) -> Option<T> {
        self.tried += 1;
        self.ok += usize::from(read.is_ok());
        read.ok()
    }

    fn keep(&mut self, read: deepemd_data::Result<PointCloud>) {
        if let Some(cloud) = self.count(read) {
            self.clouds.push(cloud);
        }
    }
}

/// Runs every reader of `target` on `path`, then the exact solvers on what was read.
pub fn exercise(target: &Target, path: &Path) -> Outcome {
    let mut reads = Reads::default();
    let spec = path.to_string_lossy();
    let dir = path.parent().unwrap_or(Path::new("."));
    match target.kind {
        Kind::Cloud | Kind::Mesh => {
            reads.keep(read_cloud(path));
            reads.keep(read_cloud_spec(&spec));
            if target.kind == Kind::Mesh
                && let Some(mesh) = reads.count(Mesh::read(path))
            {
                let _ = (mesh.area(), mesh.is_closed());
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                reads.keep(mesh.sample_surface(32, &mut rng));
            }
        }
        Kind::ModelNet40 => {
            if let Some(shapes) = reads.count(ShapeFile::read(path)) {
                for k in 0..shapes.n_items.min(2) {
                    reads.keep(shapes.cloud(k));
                }
            }
            for selector in ["#0", "#1", ":normal#0"] {
                reads.keep(read_cloud_spec(&format!("{spec}{selector}")));
            }
            if let Some(split) = reads.count(load_modelnet40(dir, "train")) {
                let _ = split.class_of(0);
                reads.keep(split.shapes.cloud(0));
            }
        }
        Kind::ShapeNetPart => {
            if let Some(split) = reads.count(load_shapenet_part(dir, "train")) {
                reads.keep(split.shapes.cloud(0));
            }
            reads.keep(read_cloud_spec(&format!("{spec}#0")));
        }
        Kind::DistanceSet | Kind::NearestSet | Kind::PairsManifest | Kind::StaleFolder => {
            let checked = match target.kind {
                Kind::DistanceSet => jobs::exercise_set(jobs::SetKind::Distances, path),
                Kind::NearestSet => jobs::exercise_set(jobs::SetKind::Nearest, path),
                Kind::PairsManifest => {
                    let shard = by_name("h5_shard").expect("the shard target");
                    jobs::exercise_pairs_manifest(path, target.seed, shard.seed)
                }
                _ => jobs::exercise_stale_folder(path, &std::fs::read(path).unwrap_or_default()),
            };
            return Outcome {
                accepted: checked.ok > 0,
                reads: (checked.tried, checked.ok),
                emd_runs: 0,
                mismatch: checked.wrong,
            };
        }
        Kind::PairList => {
            if let Some(pairs) = reads.count(read_pair_list(path)) {
                // The clouds are the cloud targets' seeds: read, not solved again.
                for (_, a, b) in pairs.iter().take(MAX_LISTED_READS) {
                    reads.count(read_cloud_spec(a));
                    reads.count(read_cloud_spec(b));
                }
            }
        }
        Kind::Shard => {
            if let Some(shard) = reads.count(PairShard::read(path)) {
                for m in 0..shard.len().min(2) {
                    if let Ok((a, b, ..)) = shard.pair(m) {
                        reads.clouds.extend([a, b]);
                    }
                }
            }
            reads.keep(read_cloud_spec(&format!("{spec}:b#0")));
        }
    }
    let mut outcome = Outcome {
        accepted: reads.ok > 0,
        reads: (reads.tried, reads.ok),
        ..Outcome::default()
    };
    for cloud in reads
        .clouds
        .iter()
        .filter(|c| c.len() <= MAX_EMD_POINTS)
        .take(MAX_EMD_CLOUDS)
    {
        // A read cloud has points in 2-D or 3-D, so its partner always exists.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let Ok(other) = uniform_cube(cloud.len(), cloud.dim(), &mut rng) else {
            continue;
        };
        outcome.emd_runs += 1;
        if let Some(m) = compare_exact_solvers(cloud, &other, Unequal::Partial) {
            outcome.mismatch.get_or_insert(m);
        }
        // And against a cloud of another size, under both conventions (the uniform one where
        // the reference's expanded problem stays small).
        let Ok(larger) = uniform_cube(cloud.len() + 1, cloud.dim(), &mut rng) else {
            continue;
        };
        for unequal in Unequal::ALL {
            if unequal == Unequal::Uniform && cloud.len() * (cloud.len() + 1) > MAX_UNIFORM_LCM {
                continue;
            }
            if let Some(m) = compare_exact_solvers(cloud, &larger, unequal) {
                outcome.mismatch.get_or_insert(m);
            }
        }
    }
    outcome
}

/// Solves `a` against `b` with both exact solvers through the common trait; a description of
/// the difference when both succeed with values further apart than their tolerance.
fn compare_exact_solvers(a: &PointCloud, b: &PointCloud, unequal: Unequal) -> Option<String> {
    let request = EmdRequest::new(Cost::Euclidean).with_unequal(unequal);
    let solvers: [&dyn EmdEstimator; 2] = [&Exact::default(), &Hungarian];
    let [exact, hungarian] = solvers.map(|s| s.estimate(a, b, request).map(|e| e.distance));
    let (Ok(x), Ok(h)) = (exact, hungarian) else {
        return None;
    };
    let close = (x - h).abs() <= tolerance::EXACT_VALUE_REL * x.abs().max(h.abs()).max(1.0);
    (!close).then(|| {
        format!(
            "exact {x:e} vs hungarian {h:e} on {} vs {} points ({unequal})",
            a.len(),
            b.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unmutated, every seed is read and solved: mutants start from a file that works.
    #[test]
    fn every_seed_is_read_and_solved() {
        let dir = tempfile::tempdir().unwrap();
        for target in TARGETS {
            let path = crate::worker::input_path(dir.path(), target);
            prepare_folder(target, path.parent().unwrap()).unwrap();
            std::fs::write(&path, target.seed).unwrap();
            let outcome = exercise(target, &path);
            assert_eq!(outcome.mismatch, None, "{}", target.name);
            if target.kind == Kind::StaleFolder {
                // A scenario: some of its reads are refused by design.
                assert!(outcome.reads.0 > 0, "{}: {:?}", target.name, outcome.reads);
                continue;
            }
            assert_eq!(outcome.reads.0, outcome.reads.1, "{}", target.name);
            let solves = !matches!(
                target.kind,
                Kind::DistanceSet | Kind::NearestSet | Kind::PairsManifest | Kind::PairList
            );
            assert!(!solves || outcome.emd_runs > 0, "{}", target.name);
        }
    }
}

//! Real shapes: meshes → checked, sampled, normalized clouds in the ModelNet40 layout.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::manifest::MeshEntry;
use super::normalize::normalize_unit_sphere;
use crate::error::{Error, Result};
use crate::formats::write_atomic;
use crate::hdf5::{MODELNET40_SHAPES_PER_FILE, ShapeFile, WriteOptions, write_modelnet40_split};
use crate::mesh::Mesh;
use crate::sharding::sha256_hex;

/// How many points and samples to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeshDatasetOptions {
    /// Points per shape (ModelNet40: 2048).
    pub points: usize,
    /// Independent surface samples per training mesh.
    pub samples_train: usize,
    /// Independent surface samples per test or held-out mesh.
    pub samples_eval: usize,
    /// Seed of every sample.
    pub seed: u64,
}

impl Default for MeshDatasetOptions {
    fn default() -> Self {
        Self {
            points: 2048,
            samples_train: 8,
            samples_eval: 4,
            seed: 20231116,
        }
    }
}

/// Builds the real-mesh dataset: for every manifest entry, checks the file's SHA-256 and that
/// the mesh is closed, samples `samples_*` clouds of `points` points on its surface
/// (area-weighted, seeded by mesh and sample), normalizes each to zero mean and unit radius,
/// and writes splits `train`, `test` and `heldout` in the ModelNet40 layout under `out`, with
/// `shape_names.txt` (the categories) and `meshes.tsv` (the `mesh_id` of each mesh).
/// `progress` is told the name of each mesh as it is done.
pub fn build_mesh_dataset(
    meshes_dir: &Path,
    manifest: &[MeshEntry],
    out: &Path,
    options: MeshDatasetOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<PathBuf>> {
    if options.points == 0 || options.samples_train == 0 || options.samples_eval == 0 {
        return Err(Error::InvalidParameter(
            "points and samples must be at least 1".into(),
        ));
    }
    let sampled = sample_meshes(
        meshes_dir,
        manifest,
        options,
        |e| {
            Some(if e.split == "train" {
                options.samples_train
            } else {
                options.samples_eval
            })
        },
        progress,
    )?;

    let categories = categories(manifest);
    let mut written = Vec::new();
    for split in ["train", "test", "heldout"] {
        let shapes = assemble(manifest, &sampled, split, &categories, options.points);
        if shapes.n_items > 0 {
            written.extend(write_modelnet40_split(
                out,
                split,
                &categories,
                &shapes,
                MODELNET40_SHAPES_PER_FILE,
                WriteOptions::default(),
            )?);
        }
    }
    let table: String = std::iter::once("# mesh_id\tmesh\tcategory\tsplit\n".to_string())
        .chain(
            manifest
                .iter()
                .enumerate()
                .map(|(id, m)| format!("{id}\t{}\t{}\t{}\n", m.file, m.category, m.split)),
        )
        .collect();
    write_atomic(&out.join("meshes.tsv"), table.as_bytes())?;
    Ok(written)
}

/// The clouds drawn from one mesh: how many, and their coordinates back to back.
type SampledMesh = (usize, Vec<f32>);

/// Checks and samples the meshes: `samples(entry)` says how many clouds to draw from each
/// (`None` skips it). Each cloud is seeded by (seed, mesh index, sample) and normalized.
fn sample_meshes(
    meshes_dir: &Path,
    manifest: &[MeshEntry],
    options: MeshDatasetOptions,
    samples: impl Fn(&MeshEntry) -> Option<usize> + Sync,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Option<SampledMesh>>> {
    manifest
        .par_iter()
        .enumerate()
        .map(|(id, entry)| {
            let Some(count) = samples(entry) else {
                return Ok(None);
            };
            let path = meshes_dir.join(&entry.file);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let digest = sha256_hex(&bytes);
            if digest != entry.sha256 {
                return Err(Error::format(
                    &path,
                    format!(
                        "SHA-256 is {digest}, the manifest expects {} (another package version?)",
                        entry.sha256
                    ),
                ));
            }
            let mesh = Mesh::read(&path)?;
            if !mesh.is_closed() {
                return Err(Error::format(
                    &path,
                    "the mesh is not closed (an edge is not shared by exactly two triangles)",
                ));
            }
            let mut coords = Vec::with_capacity(count * options.points * 3);
            for s in 0..count {
                let seed = options.seed ^ ((id as u64) << 32) ^ (s as u64);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let cloud = normalize_unit_sphere(&mesh.sample_surface(options.points, &mut rng)?);
                coords.extend(cloud.to_f32());
            }
            progress(&entry.file);
            Ok(Some((count, coords)))
        })
        .collect()
}

/// The meshes of one split sampled in memory (`options.samples_eval` clouds of
/// `options.points` points each), as a shape file with labels and mesh ids: for evaluations at
/// sizes beyond what the prepared files hold.
pub fn sample_split(
    meshes_dir: &Path,
    manifest: &[MeshEntry],
    split: &str,
    options: MeshDatasetOptions,
) -> Result<ShapeFile> {
    let sampled = sample_meshes(
        meshes_dir,
        manifest,
        options,
        |e| (e.split == split).then_some(options.samples_eval),
        &|_| {},
    )?;
    let shapes = assemble(
        manifest,
        &sampled,
        split,
        &categories(manifest),
        options.points,
    );
    if shapes.n_items == 0 {
        return Err(Error::InvalidParameter(format!(
            "no mesh of the manifest is in split '{split}'"
        )));
    }
    Ok(shapes)
}

/// The sorted categories of the manifest: a shape's label is its category's index.
fn categories(manifest: &[MeshEntry]) -> Vec<String> {
    let mut c: Vec<String> = manifest.iter().map(|m| m.category.clone()).collect();
    c.sort();
    c.dedup();
    c
}

/// The sampled clouds of one split's meshes, with labels and mesh ids, in manifest order.
fn assemble(
    manifest: &[MeshEntry],
    sampled: &[Option<SampledMesh>],
    split: &str,
    categories: &[String],
    points: usize,
) -> ShapeFile {
    let mut shapes = ShapeFile {
        data: Vec::new(),
        n_items: 0,
        n_points: points,
        dim: 3,
        labels: Vec::new(),
        pid: None,
        mesh_id: Some(Vec::new()),
    };
    for (id, (entry, sample)) in manifest.iter().zip(sampled).enumerate() {
        let Some((count, coords)) = sample else {
            continue;
        };
        if entry.split != split {
            continue;
        }
        let label = categories
            .iter()
            .position(|c| *c == entry.category)
            .expect("listed") as u8;
        shapes.data.extend_from_slice(coords);
        shapes.n_items += count;
        shapes.labels.extend(std::iter::repeat_n(label, *count));
        if let Some(m) = shapes.mesh_id.as_mut() {
            m.extend(std::iter::repeat_n(id as i32, *count));
        }
    }
    shapes
}

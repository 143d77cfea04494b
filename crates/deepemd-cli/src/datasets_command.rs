//! `deepemd prepare-datasets`: the real-mesh dataset, the synthetic sets, and copies of
//! ModelNet40 / ShapeNet part when the user has them, all in the ModelNet40 HDF5 layout.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use deepemd_data::datasets::{
    MeshDatasetOptions, SyntheticOptions, build_mesh_dataset, build_synthetic_2d,
    build_synthetic_3d, read_manifest, renormalize_split,
};
use deepemd_data::hdf5::{load_modelnet40, load_shapenet_part};

use crate::progress::bar;

#[derive(Args, Debug)]
pub struct PrepareDatasetsArgs {
    /// Folder of the meshes listed in the manifest (CGAL's `data/meshes`).
    #[arg(long)]
    meshes: Option<PathBuf>,
    /// The mesh manifest (file, category, split, SHA-256, license).
    #[arg(long, default_value = "datasets/cgal/manifest.tsv")]
    manifest: PathBuf,
    /// Output folder; each dataset gets a subfolder (cgal, synthetic2d, synthetic3d, ...).
    #[arg(long, default_value = "datasets/generated")]
    out: PathBuf,
    /// Points per shape.
    #[arg(long, default_value_t = 2048)]
    points: usize,
    /// Surface samples per training mesh.
    #[arg(long, default_value_t = 8)]
    samples_train: usize,
    /// Surface samples per test or held-out mesh.
    #[arg(long, default_value_t = 4)]
    samples_eval: usize,
    /// Seed of every sample.
    #[arg(long, default_value_t = 20231116)]
    seed: u64,
    /// A `modelnet40_ply_hdf5_2048` folder to convert too.
    #[arg(long)]
    modelnet40: Option<PathBuf>,
    /// A ShapeNet part folder (holding `hdf5_data`) to convert too.
    #[arg(long)]
    shapenet: Option<PathBuf>,
    /// Skip the synthetic sets.
    #[arg(long)]
    no_synthetic: bool,
}

pub fn run(args: &PrepareDatasetsArgs) -> Result<()> {
    if let Some(meshes) = &args.meshes {
        let manifest = read_manifest(&args.manifest)?;
        let out = args.out.join("cgal");
        let progress = bar(manifest.len() as u64, "meshes");
        progress.set_message("sampling meshes");
        let options = MeshDatasetOptions {
            points: args.points,
            samples_train: args.samples_train,
            samples_eval: args.samples_eval,
            seed: args.seed,
        };
        let files = build_mesh_dataset(meshes, &manifest, &out, options, &|_| progress.inc(1))
            .with_context(|| format!("building the real-mesh dataset from {}", meshes.display()))?;
        progress.finish_and_clear();
        eprintln!(
            "real meshes: {} meshes → {} files in {}",
            manifest.len(),
            files.len(),
            out.display()
        );
    }
    if !args.no_synthetic {
        let options = SyntheticOptions {
            points: args.points,
            seed: args.seed,
            ..Default::default()
        };
        let out2 = args.out.join("synthetic2d");
        build_synthetic_2d(&out2, options)?;
        let out3 = args.out.join("synthetic3d");
        build_synthetic_3d(&out3, options)?;
        eprintln!("synthetic: {} and {}", out2.display(), out3.display());
    }
    if let Some(dir) = &args.modelnet40 {
        let out = args.out.join("modelnet40");
        for split in ["train", "test"] {
            renormalize_split(&load_modelnet40(dir, split)?, &out)?;
        }
        eprintln!("ModelNet40: {}", out.display());
    }
    if let Some(dir) = &args.shapenet {
        let out = args.out.join("shapenet");
        for split in ["train", "val", "test"] {
            renormalize_split(&load_shapenet_part(dir, split)?, &out)?;
        }
        eprintln!("ShapeNet part: {}", out.display());
    }
    Ok(())
}

//! How the `emd` commands read an input: a point-cloud file, an HDF5 item, or a mesh whose
//! surface is sampled.

use std::path::Path;

use anyhow::{Result, bail};
use clap::Args;
use deepemd_core::PointCloud;
use deepemd_data::{Mesh, MeshFile, read_cloud_spec, read_mesh_file};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What to do with meshes.
#[derive(Args, Clone, Copy, Debug)]
pub struct MeshOptions {
    /// Sample N points uniformly (by area) on the surface of each `.off` / `.ply` mesh input.
    /// Without it a mesh is read as its bare vertices (with a warning): meshes' vertices are
    /// usually many and unevenly spread, a poor sample of the shape.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed of `--sample`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn is_mesh_file(spec: &str) -> bool {
    let ext = Path::new(spec)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("off" | "ply"))
}

/// Reads `spec`. A mesh with faces is sampled on its surface with `--sample N`; without it, its
/// vertices are the cloud and a warning on stderr says so (a mesh's vertices are rarely a good
/// sample of its shape).
pub fn read_input(spec: &str, options: MeshOptions) -> Result<PointCloud> {
    if let Some(n) = options.sample
        && !(1..=Mesh::MAX_SAMPLES).contains(&n)
    {
        bail!(
            "--sample {n}: a mesh is sampled with 1 to {} (2^24) points",
            Mesh::MAX_SAMPLES
        );
    }
    if !is_mesh_file(spec) {
        if options.sample.is_some() {
            bail!("{spec}: --sample applies to .off and .ply meshes");
        }
        return Ok(read_cloud_spec(spec)?);
    }
    // One read gives both the vertices and the faces; a file whose faces do not parse is read
    // again as bare vertices, as `deepemd emd` always read it.
    match (options.sample, read_mesh_file(Path::new(spec))) {
        (
            Some(n),
            Ok(MeshFile {
                mesh: Some(mesh), ..
            }),
        ) => {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            Ok(mesh
                .sample_surface(n, &mut rng)
                .map_err(|e| anyhow::anyhow!("{spec}: cannot sample {n} points ({e})"))?)
        }
        (Some(_), Ok(MeshFile { mesh: None, .. })) => {
            bail!("--sample needs a mesh with faces: {spec} has none")
        }
        (Some(_), Err(e)) => bail!("--sample needs a mesh with faces: {e}"),
        (None, Ok(MeshFile { vertices, mesh })) => {
            if let Some(mesh) = mesh {
                eprintln!(
                    "warning: {spec} is a mesh of {} triangles, read as its {} vertices; \
                     --sample N samples N points on its surface instead",
                    mesh.triangles().len(),
                    mesh.vertices().len()
                );
            }
            Ok(vertices)
        }
        (None, Err(_)) => Ok(read_cloud_spec(spec)?),
    }
}

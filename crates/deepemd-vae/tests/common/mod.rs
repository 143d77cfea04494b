//! What the VAE tests share: a tiny mesh set (`fixtures/meshes`: a cube and a tetrahedron to
//! train on, an octahedron as the held-out mesh, a slab as the held-out category) and a small
//! configuration.
#![allow(dead_code)]

use std::path::Path;

use deepemd_vae::{LossKind, MeshSource, VaeTrainConfig};

/// The tiny mesh set and its manifest.
pub fn tiny_meshes() -> MeshSource {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meshes");
    MeshSource {
        meshes: dir.clone(),
        manifest: dir.join("manifest.tsv"),
    }
}

/// A small, fast configuration: 24 points, a narrow network.
pub fn tiny_config(loss: LossKind, source: MeshSource, steps: usize) -> VaeTrainConfig {
    let mut c = VaeTrainConfig::recipe(loss, source, 24, steps);
    c.network.latent = 8;
    c.network.encoder = vec![16, 32];
    c.network.decoder = vec![32];
    c.batch = 4;
    c.eval_clouds = 4;
    c.eval_every = 2;
    c
}

//! Building the datasets of this project in the ModelNet40 HDF5 layout: real shapes sampled from
//! the meshes of Debian's `libcgal-demo` package (listed, with categories, splits, checksums
//! and licenses, in `datasets/cgal/manifest.tsv`), synthetic 2-D shapes and 3-D primitives,
//! and re-normalized copies of ModelNet40 / ShapeNet part when the user has them.

mod manifest;
mod meshes;
mod normalize;
mod synthetic;

pub use manifest::{MeshEntry, read_manifest};
pub use meshes::{MeshDatasetOptions, build_mesh_dataset, sample_split};
pub use normalize::normalize_unit_sphere;
pub use synthetic::{
    SyntheticOptions, build_synthetic_2d, build_synthetic_3d, random_rotation_near_identity,
    renormalize_split,
};

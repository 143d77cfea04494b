//! # deepemd-data
//!
//! Reading and writing point clouds: the file formats of [`formats`] (one implementation
//! each), atomic writes, and the dataset and training-pair machinery built on them.

mod error;
pub mod formats;
mod mesh;

pub use error::{Error, Result};
pub use formats::{read_cloud, write_atomic};
pub use mesh::Mesh;

use std::path::Path;

use deepemd_core::PointCloud;

/// Reads a cloud named on the command line. A plain path picks the reader by extension.
pub fn read_cloud_spec(spec: &str) -> Result<PointCloud> {
    read_cloud(Path::new(spec))
}

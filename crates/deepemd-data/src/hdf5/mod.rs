//! HDF5 point-cloud files in the layouts of ModelNet40 (`modelnet40_ply_hdf5_2048`) and the
//! ShapeNet part benchmark (`hdf5_data`), read and written through `hdf5-metno`.
//!
//! Layout of one file (`ply_data_train0.h5`):
//! - `data`: float32 `[N, P, 3]` (P = 2048 in ModelNet40); 2-D sets here use `[N, P, 2]`;
//! - `label`: uint8 `[N, 1]`, the class index into `shape_names.txt`;
//! - optional `normal` float32 `[N, P, 3]`, `faceId` int32 `[N, P]` (ModelNet40);
//! - optional `pid` uint8 `[N, P]`, per-point part labels (ShapeNet part).
//!
//! Every malformed file is an error naming the file, the dataset and what was expected.

mod budget;
mod layout;
mod open;
mod preflight;
mod shape_file;
mod write;

pub(crate) use budget::{check_memory, check_stored};
pub use layout::{
    MODELNET40_SHAPES_PER_FILE, Split, load_modelnet40, load_shapenet_part, write_modelnet40_split,
};
pub(crate) use open::open_file;
pub use shape_file::{H5Item, ShapeFile, WriteOptions, read_h5_item, read_h5_items};
pub(crate) use write::write_dataset;

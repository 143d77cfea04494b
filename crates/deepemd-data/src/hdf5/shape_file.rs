//! One HDF5 file of shapes: checked reading and atomic writing.

use std::path::Path;

use deepemd_core::PointCloud;
use hdf5::types::{FloatSize, IntSize, TypeDescriptor};

use super::budget::{check_memory, check_stored, shape_text};
use super::open::open_file;
use super::write::write_dataset;
use crate::error::{Error, Result};
use crate::formats::{cloud_from_coords, write_atomic_with};

/// The shapes of one file: `n_items` clouds of `n_points` points of dimension `dim`.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeFile {
    /// Row-major `[n_items, n_points, dim]` coordinates.
    pub data: Vec<f32>,
    /// Number of shapes.
    pub n_items: usize,
    /// Points per shape.
    pub n_points: usize,
    /// 2 or 3.
    pub dim: usize,
    /// Class index of each shape.
    pub labels: Vec<u8>,
    /// Per-point part labels (ShapeNet part), `[n_items, n_points]`, when present.
    pub pid: Option<Vec<u8>>,
    /// Which source mesh each shape was sampled from (our datasets only), when present.
    pub mesh_id: Option<Vec<i32>>,
}

impl ShapeFile {
    /// SHA-256 (hex) of the shapes' dimension, sizes and coordinates: what identifies the shapes
    /// a job was made from, wherever the file lies.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for n in [self.n_items, self.n_points, self.dim] {
            hash.update((n as u64).to_le_bytes());
        }
        for x in &self.data {
            hash.update(x.to_le_bytes());
        }
        crate::sharding::hex(&hash.finalize())
    }
}

/// How to store the datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// gzip (level 4) with the shuffle filter in chunks of one shape; otherwise contiguous
    /// and uncompressed.
    pub compress: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self { compress: true }
    }
}

fn describe(td: &TypeDescriptor) -> String {
    match td {
        TypeDescriptor::Float(FloatSize::U4) => "float32".into(),
        TypeDescriptor::Float(FloatSize::U8) => "float64".into(),
        TypeDescriptor::Integer(s) => format!("int{}", *s as usize * 8),
        TypeDescriptor::Unsigned(s) => format!("uint{}", *s as usize * 8),
        other => format!("{other:?}"),
    }
}

/// A dataset of a file, with its path and name for error messages.
struct Checked<'a> {
    path: &'a Path,
    name: &'a str,
    ds: hdf5::Dataset,
    shape: Vec<usize>,
    dtype: TypeDescriptor,
}

impl<'a> Checked<'a> {
    fn open(file: &hdf5::File, path: &'a Path, name: &'a str) -> Result<Option<Self>> {
        if !file.link_exists(name) {
            return Ok(None);
        }
        let ds = file.dataset(name).map_err(|e| {
            Error::format(path, format!("'{name}' is not a readable dataset ({e})"))
        })?;
        let dtype = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| Error::format(path, format!("dataset '{name}': unreadable type ({e})")))?;
        let shape = ds.shape();
        Ok(Some(Self {
            path,
            name,
            ds,
            shape,
            dtype,
        }))
    }

    fn require(file: &hdf5::File, path: &'a Path, name: &'a str, expected: &str) -> Result<Self> {
        Self::open(file, path, name)?.ok_or_else(|| {
            Error::format(path, format!("no dataset '{name}' (expected {expected})"))
        })
    }

    fn fail(&self, expected: &str) -> Error {
        Error::format(
            self.path,
            format!(
                "dataset '{}' is {} of shape {}; expected {expected}",
                self.name,
                describe(&self.dtype),
                shape_text(&self.shape)
            ),
        )
    }

    /// Refuses a dataset that declares more than the file could hold.
    fn check_stored(&self) -> Result<()> {
        check_stored(
            self.path,
            self.name,
            &self.ds,
            &self.shape,
            self.dtype.size(),
        )
    }

    /// Reads the whole dataset, after checking its declared size against the file and the
    /// machine's memory.
    fn read_all<T: hdf5::H5Type>(&self) -> Result<Vec<T>> {
        self.check_stored()?;
        check_memory(self.path, self.name, &self.shape, std::mem::size_of::<T>())?;
        self.ds.read_raw::<T>().map_err(|e| self.read_error(e))
    }

    fn read_error(&self, e: hdf5::Error) -> Error {
        Error::format(
            self.path,
            format!("dataset '{}' could not be read ({e})", self.name),
        )
    }
}

/// Checks the `data` dataset (or `dataset`): float, rank 3, last dimension 2 or 3.
fn check_points<'a>(file: &hdf5::File, path: &'a Path, dataset: &'a str) -> Result<Checked<'a>> {
    let expected = "float32 of shape (N, P, 3) or (N, P, 2)";
    let d = Checked::require(file, path, dataset, expected)?;
    let float = matches!(d.dtype, TypeDescriptor::Float(_));
    let shape_ok = matches!(d.shape.as_slice(), [n, p, 2 | 3] if *n > 0 && *p > 0);
    if !float || !shape_ok {
        return Err(d.fail(expected));
    }
    d.check_stored()?;
    Ok(d)
}

impl ShapeFile {
    /// Reads and checks a whole file: `data`, `label`, and `pid`/`mesh_id` when present.
    pub fn read(path: &Path) -> Result<Self> {
        let file = open_file(path)?;
        let d = check_points(&file, path, "data")?;
        let (n_items, n_points, dim) = (d.shape[0], d.shape[1], d.shape[2]);
        let data: Vec<f32> = d.read_all()?;
        if data.len() != n_items * n_points * dim {
            return Err(d.fail("a complete array"));
        }
        if let Some(pos) = data.iter().position(|x| !x.is_finite()) {
            let (item, point) = (pos / (n_points * dim), pos / dim % n_points);
            return Err(Error::format(
                path,
                format!("dataset 'data': item {item}, point {point} has a non-finite coordinate"),
            ));
        }

        let l = Checked::require(&file, path, "label", "uint8 of shape (N, 1)")?;
        let expected = format!("uint8 of shape ({n_items}, 1)");
        if l.dtype != TypeDescriptor::Unsigned(IntSize::U1) || l.shape != [n_items, 1] {
            return Err(l.fail(&expected));
        }
        let labels = l.read_all::<u8>()?;

        let pid = match Checked::open(&file, path, "pid")? {
            None => None,
            Some(p) => {
                if p.dtype != TypeDescriptor::Unsigned(IntSize::U1)
                    || p.shape != [n_items, n_points]
                {
                    return Err(p.fail(&format!("uint8 of shape ({n_items}, {n_points})")));
                }
                Some(p.read_all::<u8>()?)
            }
        };
        let mesh_id = match Checked::open(&file, path, "mesh_id")? {
            None => None,
            Some(m) => {
                if !matches!(m.dtype, TypeDescriptor::Integer(_)) || m.shape != [n_items] {
                    return Err(m.fail(&format!("int32 of shape ({n_items},)")));
                }
                Some(m.read_all::<i32>()?)
            }
        };
        for (name, expected_last) in [("normal", Some(3)), ("faceId", None)] {
            if let Some(o) = Checked::open(&file, path, name)? {
                let ok = match expected_last {
                    Some(k) => o.shape == [n_items, n_points, k],
                    None => o.shape == [n_items, n_points],
                };
                if !ok {
                    let want = match expected_last {
                        Some(k) => format!("shape ({n_items}, {n_points}, {k})"),
                        None => format!("shape ({n_items}, {n_points})"),
                    };
                    return Err(o.fail(&want));
                }
            }
        }
        Ok(Self {
            data,
            n_items,
            n_points,
            dim,
            labels,
            pid,
            mesh_id,
        })
    }

    /// Shape `k` as a cloud.
    pub fn cloud(&self, k: usize) -> Result<PointCloud> {
        if k >= self.n_items {
            return Err(Error::InvalidInput(format!(
                "item {k} of a file of {} shapes",
                self.n_items
            )));
        }
        let stride = self.n_points * self.dim;
        Ok(PointCloud::from_flat_f32(
            self.dim,
            &self.data[k * stride..(k + 1) * stride],
        )?)
    }

    /// Checks the fields agree with each other (lengths, finiteness).
    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.dim != 2 && self.dim != 3 {
            return bad(format!("dimension {} (expected 2 or 3)", self.dim));
        }
        if self.n_items == 0 || self.n_points == 0 {
            return bad("an empty shape file".into());
        }
        if self.data.len() != self.n_items * self.n_points * self.dim {
            return bad(format!(
                "{} coordinates for {} × {} × {}",
                self.data.len(),
                self.n_items,
                self.n_points,
                self.dim
            ));
        }
        if self.labels.len() != self.n_items {
            return bad(format!(
                "{} labels for {} shapes",
                self.labels.len(),
                self.n_items
            ));
        }
        if self.data.iter().any(|x| !x.is_finite()) {
            return bad("a non-finite coordinate".into());
        }
        if self
            .pid
            .as_ref()
            .is_some_and(|p| p.len() != self.n_items * self.n_points)
        {
            return bad("pid length does not match the shapes".into());
        }
        if self
            .mesh_id
            .as_ref()
            .is_some_and(|m| m.len() != self.n_items)
        {
            return bad("mesh_id length does not match the shapes".into());
        }
        Ok(())
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename).
    pub fn write(&self, path: &Path, options: WriteOptions) -> Result<()> {
        self.check()?;
        write_atomic_with(path, |tmp| self.write_to(tmp, options))
    }

    fn write_to(&self, tmp: &Path, options: WriteOptions) -> Result<()> {
        let h5 = |e: hdf5::Error| Error::format(tmp, format!("HDF5 write failed ({e})"));
        let file = hdf5::File::create(tmp).map_err(h5)?;
        let (n, p, d) = (self.n_items, self.n_points, self.dim);
        // Chunks of one cloud (data, pid) or the whole dataset (label, mesh_id), as h5py's
        // ModelNet40 files do.
        let z = options.compress;
        write_dataset(
            &file,
            tmp,
            "data",
            &[n, p, d],
            z.then_some(&[1, p, d]),
            &self.data,
        )?;
        write_dataset(
            &file,
            tmp,
            "label",
            &[n, 1],
            z.then_some(&[n, 1]),
            &self.labels,
        )?;
        if let Some(pid) = &self.pid {
            write_dataset(&file, tmp, "pid", &[n, p], z.then_some(&[1, p]), pid)?;
        }
        if let Some(m) = &self.mesh_id {
            write_dataset(&file, tmp, "mesh_id", &[n], z.then_some(&[n]), m)?;
        }
        file.flush().map_err(h5)?;
        Ok(())
    }
}

/// One item of a dataset: the clouds of `dataset` (default `data`) in an HDF5 file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H5Item {
    /// Which dataset holds the clouds.
    pub dataset: String,
    /// Which item.
    pub index: usize,
}

/// Reads item `item.index` of `item.dataset` (float, `[N, P, 2|3]`) without loading the rest.
pub fn read_h5_item(path: &Path, item: &H5Item) -> Result<PointCloud> {
    let file = open_file(path)?;
    let d = check_points(&file, path, &item.dataset)?;
    let (n, p, dim) = (d.shape[0], d.shape[1], d.shape[2]);
    if item.index >= n {
        return Err(Error::format(
            path,
            format!(
                "dataset '{}' has {n} items; there is no item {}",
                item.dataset, item.index
            ),
        ));
    }
    check_memory(
        path,
        &item.dataset,
        &[1, p, dim],
        std::mem::size_of::<f64>(),
    )?;
    let slab: ndarray::Array3<f64> =
        d.ds.read_slice(ndarray::s![item.index..item.index + 1, .., ..])
            .map_err(|e| d.read_error(e))?;
    let coords: Vec<f64> = slab.iter().copied().collect();
    debug_assert_eq!(coords.len(), p * dim);
    cloud_from_coords(path, dim, coords, |i| {
        format!("item {} of '{}', point {i},", item.index, item.dataset)
    })
}

/// Reads every item of `dataset` (float, `[N, P, 2|3]`) as a cloud, after checking that the
/// whole array fits in memory.
pub fn read_h5_items(path: &Path, dataset: &str) -> Result<Vec<PointCloud>> {
    let file = open_file(path)?;
    let d = check_points(&file, path, dataset)?;
    let (n, p, dim) = (d.shape[0], d.shape[1], d.shape[2]);
    if n == 0 {
        return Err(Error::format(
            path,
            format!("dataset '{dataset}' holds no clouds"),
        ));
    }
    check_memory(path, dataset, &[n, p, dim], std::mem::size_of::<f64>())?;
    let all: ndarray::Array3<f64> = d.ds.read().map_err(|e| d.read_error(e))?;
    let coords: Vec<f64> = all.iter().copied().collect();
    coords
        .chunks(p * dim)
        .enumerate()
        .map(|(k, c)| {
            cloud_from_coords(path, dim, c.to_vec(), |i| {
                format!("item {k} of '{dataset}', point {i},")
            })
        })
        .collect()
}

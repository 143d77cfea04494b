//! A shard of training pairs in HDF5: `a`, `b` float32 `[M, n, dim]`, `matching` int32 `[M, n]`
//! (the exact optimal target in `b` of every point of `a`), `emd` float64 `[M]` (Euclidean
//! cost, mean convention) and `kind` uint8 `[M]` (a [`PairKind`] code).

use std::path::Path;

use deepemd_core::{Matching, PointCloud};
use hdf5::types::{FloatSize, IntSize, TypeDescriptor};

use super::generator::PairKind;
use crate::error::{Error, Result};
use crate::formats::write_atomic_with;
use crate::hdf5::{check_memory, check_stored, open_file, write_dataset};

/// Pairs with their exact matchings.
#[derive(Clone, Debug, PartialEq)]
pub struct PairShard {
    /// Points per cloud.
    pub n: usize,
    /// 2 or 3.
    pub dim: usize,
    /// First clouds, `[M, n, dim]`.
    pub a: Vec<f32>,
    /// Second clouds, `[M, n, dim]`.
    pub b: Vec<f32>,
    /// `matching[m * n + i]` is the point of `b` matched to `a_i` in pair `m`.
    pub matching: Vec<i32>,
    /// Exact EMD of each pair.
    pub emd: Vec<f64>,
    /// Kind code of each pair.
    pub kind: Vec<u8>,
}

impl PairShard {
    /// An empty shard for clouds of `n` points in `dim` dimensions.
    pub fn new(n: usize, dim: usize) -> Self {
        Self {
            n,
            dim,
            a: Vec::new(),
            b: Vec::new(),
            matching: Vec::new(),
            emd: Vec::new(),
            kind: Vec::new(),
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.emd.len()
    }

    /// True when the shard holds no pairs.
    pub fn is_empty(&self) -> bool {
        self.emd.is_empty()
    }

    /// Appends a pair.
    pub fn push(
        &mut self,
        a: &PointCloud,
        b: &PointCloud,
        matching: &Matching,
        emd: f64,
        kind: PairKind,
    ) {
        self.a.extend(a.to_f32());
        self.b.extend(b.to_f32());
        self.matching
            .extend(matching.targets().iter().map(|&t| t as i32));
        self.emd.push(emd);
        self.kind.push(kind as u8);
    }

    /// Pair `m` as clouds, matching, EMD and kind.
    pub fn pair(&self, m: usize) -> Result<(PointCloud, PointCloud, Matching, f64, PairKind)> {
        let s = self.n * self.dim;
        let a = PointCloud::from_flat_f32(self.dim, &self.a[m * s..(m + 1) * s])?;
        let b = PointCloud::from_flat_f32(self.dim, &self.b[m * s..(m + 1) * s])?;
        let t = self.matching[m * self.n..(m + 1) * self.n]
            .iter()
            .map(|&t| t as usize)
            .collect();
        let kind = PairKind::from_code(self.kind[m]).ok_or_else(|| {
            Error::InvalidInput(format!("pair {m} has unknown kind {}", self.kind[m]))
        })?;
        Ok((a, b, Matching::new(t)?, self.emd[m], kind))
    }

    /// Writes the shard atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic_with(path, |tmp| self.write_to(tmp))
    }

    fn write_to(&self, tmp: &Path) -> Result<()> {
        let m = self.len();
        let h5 = |e: hdf5::Error| Error::format(tmp, format!("HDF5 write failed ({e})"));
        let f = hdf5::File::create(tmp).map_err(h5)?;
        let (n, d) = (self.n, self.dim);
        write_dataset(&f, tmp, "a", &[m, n, d], None, &self.a)?;
        write_dataset(&f, tmp, "b", &[m, n, d], None, &self.b)?;
        write_dataset(&f, tmp, "matching", &[m, n], None, &self.matching)?;
        write_dataset(&f, tmp, "emd", &[m], None, &self.emd)?;
        write_dataset(&f, tmp, "kind", &[m], None, &self.kind)?;
        f.flush().map_err(h5)
    }

    /// Reads and checks a shard: shapes agree, matchings are permutations, kinds are known.
    pub fn read(path: &Path) -> Result<Self> {
        let fail = |m: String| Error::format(path, m);
        let f = open_file(path)?;
        let get = |name: &str, want: TypeDescriptor| -> Result<(hdf5::Dataset, Vec<usize>)> {
            let ds = f
                .dataset(name)
                .map_err(|_| fail(format!("no dataset '{name}'")))?;
            let td = ds
                .dtype()
                .and_then(|t| t.to_descriptor())
                .map_err(|e| fail(format!("'{name}': {e}")))?;
            if td != want {
                return Err(fail(format!(
                    "dataset '{name}' has type {td:?}, expected {want:?}"
                )));
            }
            Ok((ds.clone(), ds.shape()))
        };
        let (a, sa) = get("a", TypeDescriptor::Float(FloatSize::U4))?;
        let (b, sb) = get("b", TypeDescriptor::Float(FloatSize::U4))?;
        let (mt, sm) = get("matching", TypeDescriptor::Integer(IntSize::U4))?;
        let (e, se) = get("emd", TypeDescriptor::Float(FloatSize::U8))?;
        let (k, sk) = get("kind", TypeDescriptor::Unsigned(IntSize::U1))?;
        let [m, n, dim] = sa[..] else {
            return Err(fail(format!(
                "dataset 'a' has shape {sa:?}, expected [M, n, dim]"
            )));
        };
        if sb != sa || sm != [m, n] || se != [m] || sk != [m] || !(dim == 2 || dim == 3) {
            return Err(fail(format!(
                "inconsistent shapes: a {sa:?}, b {sb:?}, matching {sm:?}, emd {se:?}, kind {sk:?}"
            )));
        }
        // Each dataset is read whole, so its declared size must fit the file and the memory.
        fn read<T: hdf5::H5Type>(
            path: &Path,
            name: &str,
            ds: &hdf5::Dataset,
            shape: &[usize],
        ) -> Result<Vec<T>> {
            let bytes = std::mem::size_of::<T>();
            check_stored(path, name, ds, shape, bytes)?;
            check_memory(path, name, shape, bytes)?;
            ds.read_raw().map_err(|e| {
                Error::format(path, format!("dataset '{name}' could not be read ({e})"))
            })
        }
        let shard = Self {
            n,
            dim,
            a: read(path, "a", &a, &sa)?,
            b: read(path, "b", &b, &sb)?,
            matching: read(path, "matching", &mt, &sm)?,
            emd: read(path, "emd", &e, &se)?,
            kind: read(path, "kind", &k, &sk)?,
        };
        for p in 0..m {
            let t: Vec<usize> = shard.matching[p * n..(p + 1) * n]
                .iter()
                .map(|&t| t as usize)
                .collect();
            Matching::new(t).map_err(|e| fail(format!("pair {p}: {e}")))?;
            if PairKind::from_code(shard.kind[p]).is_none() || !shard.emd[p].is_finite() {
                return Err(fail(format!(
                    "pair {p} has an unknown kind or a non-finite EMD"
                )));
            }
        }
        Ok(shard)
    }
}

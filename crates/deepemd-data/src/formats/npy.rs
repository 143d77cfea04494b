//! NumPy `.npy` (format versions 1–3): an array of `f4` or `f8`, shape `[n, 2|3]` (a cloud) or
//! `[B, n, 2|3]` (a batch of clouds), either byte order, C or Fortran order.

use std::path::Path;

use deepemd_core::PointCloud;

use super::{cloud_from_coords, read_bytes, write_atomic};
use crate::error::{Error, Result};
use crate::header::product;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a `.npy` array of shape `[n, 2]` or `[n, 3]`.
pub fn read_npy(path: &Path) -> Result<PointCloud> {
    let array = read_npy_array(path, "(n, 2) or (n, 3)", |d| matches!(d, [_, 2 | 3]))?;
    let dim = array.dims[1];
    cloud_from_coords(path, dim, array.values, |i| format!("row {i}"))
}

/// Reads a `.npy` batch of clouds, shape `[B, n, 2]` or `[B, n, 3]`: cloud k is `array[k]`.
pub fn read_npy_batch(path: &Path) -> Result<Vec<PointCloud>> {
    let array = read_npy_array(path, "(B, n, 2) or (B, n, 3)", |d| {
        matches!(d, [_, _, 2 | 3])
    })?;
    let (b, n, dim) = (array.dims[0], array.dims[1], array.dims[2]);
    if b == 0 {
        return Err(Error::format(path, "the batch holds no clouds"));
    }
    if n == 0 {
        return Err(Error::format(
            path,
            format!("the batch's {b} clouds hold no points (shape ({b}, 0, {dim}))"),
        ));
    }
    array
        .values
        .chunks(n * dim)
        .enumerate()
        .map(|(k, c)| cloud_from_coords(path, dim, c.to_vec(), |i| format!("cloud {k}, row {i}")))
        .collect()
}

/// Reads cloud `k` of a `.npy` batch `[B, n, 2|3]` (the `file.npy#K` of the command line).
pub fn read_npy_item(path: &Path, k: usize) -> Result<PointCloud> {
    let array = read_npy_array(path, "(B, n, 2) or (B, n, 3)", |d| {
        matches!(d, [_, _, 2 | 3])
    })?;
    let (b, n, dim) = (array.dims[0], array.dims[1], array.dims[2]);
    if k >= b {
        return Err(Error::format(
            path,
            format!(
                "#{k} selects no cloud: the batch holds {b} (#0 to #{})",
                b.max(1) - 1
            ),
        ));
    }
    let item = array.values[k * n * dim..(k + 1) * n * dim].to_vec();
    cloud_from_coords(path, dim, item, |i| format!("cloud {k}, row {i}"))
}

/// A `.npy` float array: its shape and its values in C order, as f64.
struct NpyArray {
    dims: Vec<usize>,
    values: Vec<f64>,
}

/// Parses a `.npy` file of `f4` or `f8` values whose shape `accept`s (`expected` describes it
/// in the error).
fn read_npy_array(
    path: &Path,
    expected: &str,
    accept: impl Fn(&[usize]) -> bool,
) -> Result<NpyArray> {
    let bytes = read_bytes(path)?;
    let fail = |m: String| Error::format(path, m);
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(fail("not a NumPy .npy file (bad magic bytes)".into()));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(fail(format!("unsupported .npy format version {major}"))),
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| fail("truncated or non-text .npy header".into()))?;
    let descr = dict_value(header, "descr").ok_or_else(|| fail("header has no 'descr'".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order")
        .ok_or_else(|| fail("header has no 'fortran_order'".into()))?
        == "True";
    let shape = dict_value(header, "shape").ok_or_else(|| fail("header has no 'shape'".into()))?;
    let dims: Vec<usize> = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| fail(format!("bad shape {shape}")))?;
    if !accept(&dims) {
        return Err(fail(format!("array of shape {shape}; expected {expected}")));
    }
    let (size, little) = match descr {
        "<f4" | "|f4" | "=f4" => (4, true),
        ">f4" => (4, false),
        "<f8" | "|f8" | "=f8" => (8, true),
        ">f8" => (8, false),
        other => {
            return Err(fail(format!(
                "dtype '{other}'; expected float32 or float64"
            )));
        }
    };
    let data = &bytes[data_start..];
    let mut factors = dims.clone();
    factors.push(size);
    let need = product(
        path,
        || format!("shape {shape} of {size}-byte floats"),
        &factors,
    )?;
    if data.len() < need {
        return Err(fail(format!(
            "truncated: {} data bytes for an array of shape {shape} of {size}-byte floats \
             ({need} needed)",
            data.len()
        )));
    }
    let value = |k: usize| -> f64 {
        let b = &data[k * size..(k + 1) * size];
        match (size, little) {
            (4, true) => f32::from_le_bytes(b.try_into().unwrap()) as f64,
            (4, false) => f32::from_be_bytes(b.try_into().unwrap()) as f64,
            (8, true) => f64::from_le_bytes(b.try_into().unwrap()),
            _ => f64::from_be_bytes(b.try_into().unwrap()),
        }
    };
    let total = need / size;
    let values = (0..total)
        .map(|c| if fortran { fortran_offset(c, &dims) } else { c })
        .map(value)
        .collect();
    Ok(NpyArray { dims, values })
}

/// Where the element of C-order index `c` lies in a Fortran-order array of shape `dims`.
fn fortran_offset(mut c: usize, dims: &[usize]) -> usize {
    let mut index = vec![0; dims.len()];
    for j in (0..dims.len()).rev() {
        index[j] = c % dims[j];
        c /= dims[j];
    }
    let (mut offset, mut stride) = (0, 1);
    for (i, d) in index.iter().zip(dims) {
        offset += i * stride;
        stride *= d;
    }
    offset
}

/// The text of `key`'s value in a Python dict literal (good enough for .npy headers).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Writes `values` (row-major, `cols` per row) as a little-endian `f8` array of shape
/// `[rows, cols]`, atomically.
pub fn write_npy_matrix_f64(path: &Path, cols: usize, values: &[f64]) -> Result<()> {
    let data: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy(path, "<f8", values.len() / cols.max(1), cols, &data)
}

/// Reads a `.npy` array of shape `[rows, cols]` (`f4` or `f8`) as row-major f64 values.
pub fn read_npy_matrix_f64(path: &Path, cols: usize) -> Result<Vec<f64>> {
    let expected = format!("(rows, {cols})");
    Ok(read_npy_array(path, &expected, |d| matches!(d, [_, c] if *c == cols))?.values)
}

fn write_npy(path: &Path, descr: &str, n: usize, dim: usize, data: &[u8]) -> Result<()> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({n}, {dim}), }}");
    // Pad so the data starts on a 64-byte boundary, the header ending in '\n'.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    write_atomic(path, &out)
}

/// Writes the cloud as a little-endian `f8` array of shape `[n, dim]`, atomically.
pub fn write_npy_f64(path: &Path, cloud: &PointCloud) -> Result<()> {
    let data: Vec<u8> = cloud
        .as_flat()
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    write_npy(path, "<f8", cloud.len(), cloud.dim(), &data)
}

/// Writes the cloud as a little-endian `f4` array of shape `[n, dim]`, atomically.
pub fn write_npy_f32(path: &Path, cloud: &PointCloud) -> Result<()> {
    let data: Vec<u8> = cloud
        .as_flat()
        .iter()
        .flat_map(|&x| (x as f32).to_le_bytes())
        .collect();
    write_npy(path, "<f4", cloud.len(), cloud.dim(), &data)
}

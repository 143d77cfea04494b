//! Point-cloud file formats, one implementation each: PLY (ASCII and binary little-endian),
//! OFF, XYZ/TXT/CSV, NPY and ASCII PCD. [`read_cloud`] picks the reader by extension.

mod npy;
mod off;
mod pcd;
mod ply;
mod xyz;

use std::path::Path;

use deepemd_core::{NonFiniteKind, PointCloud};

use crate::error::{Error, Result};

pub use npy::{
    read_npy, read_npy_batch, read_npy_item, read_npy_matrix_f64, write_npy_f32, write_npy_f64,
    write_npy_matrix_f64,
};
pub use off::{read_off, read_off_mesh};
pub use pcd::read_pcd;
pub use ply::{read_ply, read_ply_mesh, write_ply_binary};
pub use xyz::{read_xyz, write_xyz};

use crate::mesh::Mesh;

/// An `.off` or `.ply` file read once: its vertices as a cloud, and the mesh when it has faces.
#[derive(Clone, Debug)]
pub struct MeshFile {
    /// The vertices, as `read_cloud` reads them.
    pub vertices: PointCloud,
    /// The triangulated faces, when there are any.
    pub mesh: Option<Mesh>,
}

/// Reads an `.off` or `.ply` file's vertices and faces in one pass. A file whose faces are
/// malformed is an error here even when its vertices alone would read (`read_cloud` reads those).
pub fn read_mesh_file(path: &Path) -> Result<MeshFile> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (vertices, faces) = match ext.as_deref() {
        Some("off") => off::read_off_parts(path, true)?,
        Some("ply") => ply::read_ply_parts(path)?,
        _ => {
            return Err(Error::format(
                path,
                "meshes are read from .off or .ply files",
            ));
        }
    };
    let coords = vertices.iter().flatten().copied().collect();
    let cloud = cloud_from_coords(path, 3, coords, |i| format!("vertex {i}"))?;
    let mesh = if faces.is_empty() {
        None
    } else {
        Some(Mesh::new(path, vertices, faces)?)
    };
    Ok(MeshFile {
        vertices: cloud,
        mesh,
    })
}

/// The extensions [`read_cloud`] reads, lower case.
pub(crate) const EXTENSIONS: [&str; 7] = ["ply", "off", "xyz", "txt", "csv", "npy", "pcd"];

/// Reads a cloud, choosing the format from the extension: `.ply`, `.off`, `.xyz`/`.txt`/`.csv`,
/// `.npy`, `.pcd`. HDF5 items are addressed with a selector, see [`crate::read_cloud_spec`].
pub fn read_cloud(path: &Path) -> Result<PointCloud> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "ply" => read_ply(path),
        "off" => read_off(path),
        "xyz" | "txt" | "csv" => read_xyz(path),
        "npy" => read_npy(path),
        "pcd" => read_pcd(path),
        other => Err(Error::format(
            path,
            format!(
                "unknown extension '{other}' (expected .ply, .off, .xyz, .txt, .csv, .npy, .pcd or .h5)"
            ),
        )),
    }
}

/// Builds a cloud from parsed coordinates, naming the offending element in the error
/// ("vertex 17 has a NaN coordinate") the way the format numbers its elements.
pub(crate) fn cloud_from_coords(
    path: &Path,
    dim: usize,
    coords: Vec<f64>,
    element: impl Fn(usize) -> String,
) -> Result<PointCloud> {
    if coords.is_empty() {
        return Err(Error::format(path, "the file holds no points"));
    }
    if let Some((pos, kind)) = coords
        .iter()
        .enumerate()
        .find_map(|(pos, &x)| NonFiniteKind::of(x).map(|k| (pos, k)))
    {
        return Err(Error::format(
            path,
            format!("{} has {kind} coordinate", element(pos / dim)),
        ));
    }
    PointCloud::from_flat(dim, coords).map_err(|e| Error::format(path, e.to_string()))
}

/// Reads a whole file, with the path in the error.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads a whole UTF-8 text file, with the path in the error. A byte-order mark at the start
/// (which Windows editors write) is dropped, so it never becomes part of the first value, path or
/// keyword; every text reader of the workspace reads through this.
pub fn read_text(path: &Path) -> Result<String> {
    let mut bytes = read_bytes(path)?;
    if bytes.starts_with(UTF8_BOM) {
        bytes.drain(..UTF8_BOM.len());
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::format(
            path,
            format!(
                "not UTF-8 text (byte {} is invalid)",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// UTF-8's byte-order mark, U+FEFF.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Creates the folder `path` (and its parents) where it does not exist. A path that names a
/// file, or lies under one, is an error that says so (the system's own message is "File
/// exists" or "Not a directory", naming neither).
pub fn create_folder(path: &Path) -> Result<()> {
    let file_in_the_way = path
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists() && !a.is_dir());
    if let Some(file) = file_in_the_way {
        let message = if file == path {
            "is a file, not a folder: name a folder (new or existing) for the output".to_string()
        } else {
            format!(
                "is a file, so {} cannot be a folder under it",
                path.display()
            )
        };
        return Err(Error::format(file, message));
    }
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e))
    })
}

/// A random number (std's per-process random hash keys, mixed with a counter).
fn nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.finish()
}

/// A temporary name beside `path`, `.{name}.{pid}-{nonce}.tmp`: unique across processes and
/// machines (pods of a Kubernetes Job see the same PIDs, and several may write into one shared
/// folder), and recognizable by `sharding::remove_stale_temporaries`.
fn temporary_beside(path: &Path) -> Result<std::path::PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::format(path, "not a file path"))?
        .to_string_lossy();
    Ok(dir.join(format!(
        ".{name}.{}-{:016x}.tmp",
        std::process::id(),
        nonce()
    )))
}

/// Lets `write` fill a temporary file beside `path`, then renames it onto `path`; on any error
/// the temporary file is removed and `path` is untouched.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temporary_beside(path)?;
    let result =
        write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` holding `bytes` unless a file is already there, atomically (a temporary
/// file, then a hard link, which fails when the name exists): of several processes creating the
/// same file at once exactly one succeeds and the others see its bytes. `Ok(false)` when the
/// file was already there. On a file system without hard links it falls back to a rename after
/// an existence check (racy there).
pub fn create_new_atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    let tmp = temporary_beside(path)?;
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    let linked = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) if !path.exists() => std::fs::rename(&tmp, path)
            .map(|()| true)
            .map_err(|e| Error::io(path, e)),
        Err(_) => Ok(false),
    };
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Replaces the text between `<!-- begin NAME -->` and `<!-- end NAME -->` in the Markdown
/// file at `path` with `body` (appending the section when it is missing), atomically: each
/// experiment owns one section of `docs/results.md` and rewrites only that.
pub fn update_marked_section(path: &Path, name: &str, body: &str) -> Result<()> {
    let begin = format!("<!-- begin {name} -->");
    let end = format!("<!-- end {name} -->");
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Results\n".into());
    let block = format!("{begin}\n{}\n{end}", body.trim_end());
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &old[..b], &old[e + end.len()..]),
        _ => format!("{}\n\n{block}\n", old.trim_end()),
    };
    write_atomic(path, new.as_bytes())
}

/// Parses one number of a text format, naming line and token on failure.
pub(crate) fn parse_number(path: &Path, line: usize, token: &str) -> Result<f64> {
    token
        .parse::<f64>()
        .map_err(|_| Error::format(path, format!("line {line}: '{token}' is not a number")))
}

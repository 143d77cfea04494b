//! Whole datasets: the file lists and class names around the HDF5 files.

use std::path::{Path, PathBuf};

use super::shape_file::{ShapeFile, WriteOptions};
use crate::error::{Error, Result};
use crate::formats::{read_text, write_atomic};

/// One split of a dataset: its shapes (all files concatenated) and the class names.
#[derive(Clone, Debug)]
pub struct Split {
    /// "train", "test", "val", "heldout", ...
    pub name: String,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// All shapes of the split.
    pub shapes: ShapeFile,
}

impl Split {
    /// The class name of shape `k`.
    pub fn class_of(&self, k: usize) -> &str {
        &self.class_names[self.shapes.labels[k] as usize]
    }
}

fn concat(files: &[(PathBuf, ShapeFile)]) -> Result<ShapeFile> {
    let (first_path, first) = &files[0];
    let mut out = ShapeFile {
        data: Vec::new(),
        n_items: 0,
        n_points: first.n_points,
        dim: first.dim,
        labels: Vec::new(),
        pid: first.pid.as_ref().map(|_| Vec::new()),
        mesh_id: first.mesh_id.as_ref().map(|_| Vec::new()),
    };
    for (path, f) in files {
        if (f.n_points, f.dim) != (out.n_points, out.dim) {
            return Err(Error::format(
                path,
                format!(
                    "shapes of {} points in {}-D, but {} holds {} points in {}-D",
                    f.n_points,
                    f.dim,
                    first_path.display(),
                    out.n_points,
                    out.dim
                ),
            ));
        }
        out.data.extend_from_slice(&f.data);
        out.labels.extend_from_slice(&f.labels);
        out.n_items += f.n_items;
        match (&mut out.pid, &f.pid) {
            (Some(all), Some(p)) => all.extend_from_slice(p),
            (None, None) => {}
            _ => {
                return Err(Error::format(
                    path,
                    "'pid' is present in some files of the split only",
                ));
            }
        }
        match (&mut out.mesh_id, &f.mesh_id) {
            (Some(all), Some(m)) => all.extend_from_slice(m),
            (None, None) => {}
            _ => {
                return Err(Error::format(
                    path,
                    "'mesh_id' is present in some files of the split only",
                ));
            }
        }
    }
    Ok(out)
}

fn check_labels(split: &Split) -> Result<()> {
    if let Some((k, &l)) = split
        .shapes
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= split.class_names.len())
    {
        let (file, local) = locate(split, k);
        return Err(Error::format(
            &file,
            format!(
                "dataset 'label': shape {local} has label {l}, but there are {} class names",
                split.class_names.len()
            ),
        ));
    }
    Ok(())
}

/// The file and local index of global shape `k` (files are read fully, so re-read sizes).
fn locate(split: &Split, k: usize) -> (PathBuf, usize) {
    let mut start = 0;
    for f in &split.files {
        if let Ok(s) = ShapeFile::read(f) {
            if k < start + s.n_items {
                return (f.clone(), k - start);
            }
            start += s.n_items;
        }
    }
    (split.files.last().cloned().unwrap_or_default(), k)
}

fn read_names(path: &Path) -> Result<Vec<String>> {
    let names: Vec<String> = read_text(path)?
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if names.is_empty() {
        return Err(Error::format(path, "no class names"));
    }
    Ok(names)
}

/// Loads a split of ModelNet40's `modelnet40_ply_hdf5_2048` folder (or one written by
/// [`write_modelnet40_split`]): `shape_names.txt`, `{split}_files.txt`, and the files it lists
/// (entries such as `data/modelnet40_ply_hdf5_2048/ply_data_train0.h5` are resolved inside `dir`).
pub fn load_modelnet40(dir: &Path, split: &str) -> Result<Split> {
    let class_names = read_names(&dir.join("shape_names.txt"))?;
    let list = dir.join(format!("{split}_files.txt"));
    let mut files = Vec::new();
    for line in read_text(&list)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let direct = dir.join(line);
        let by_name = dir.join(Path::new(line).file_name().unwrap_or_default());
        files.push(if direct.exists() { direct } else { by_name });
    }
    if files.is_empty() {
        return Err(Error::format(&list, "lists no files"));
    }
    finish(split, class_names, files)
}

fn finish(split: &str, class_names: Vec<String>, files: Vec<PathBuf>) -> Result<Split> {
    let read = files
        .iter()
        .map(|f| ShapeFile::read(f).map(|s| (f.clone(), s)))
        .collect::<Result<Vec<_>>>()?;
    let out = Split {
        name: split.to_string(),
        class_names,
        shapes: concat(&read)?,
        files,
    };
    check_labels(&out)?;
    Ok(out)
}

/// Loads a split of the ShapeNet part benchmark (`hdf5_data/ply_data_{split}{K}.h5` with
/// `data`, `label`, `pid`). `dir` is `hdf5_data` or its parent. Class names come from
/// `all_object_categories.txt` when present.
pub fn load_shapenet_part(dir: &Path, split: &str) -> Result<Split> {
    let dir = if dir.join("hdf5_data").is_dir() {
        dir.join("hdf5_data")
    } else {
        dir.to_path_buf()
    };
    let prefix = format!("ply_data_{split}");
    let mut numbered: Vec<(usize, PathBuf)> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(&dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let k = name
                .strip_prefix(&prefix)?
                .strip_suffix(".h5")?
                .parse()
                .ok()?;
            Some((k, e.path()))
        })
        .collect();
    numbered.sort();
    if numbered.is_empty() {
        return Err(Error::format(&dir, format!("no {prefix}K.h5 files")));
    }
    let files: Vec<PathBuf> = numbered.into_iter().map(|(_, p)| p).collect();
    let names_file = dir.join("all_object_categories.txt");
    let class_names = if names_file.exists() {
        read_names(&names_file)?
    } else {
        (0..=u8::MAX).map(|k| format!("class{k}")).collect()
    };
    finish(split, class_names, files)
}

/// Shapes per file in ModelNet40's own release (`ply_data_train0.h5` holds 2048, the last file
/// of a split fewer); the datasets we write follow it.
pub const MODELNET40_SHAPES_PER_FILE: usize = 2048;

/// Writes `shapes` as split `split` of a ModelNet40-layout folder: `ply_data_{split}{k}.h5`
/// files of at most `per_file` shapes (the last holds fewer), `{split}_files.txt`, and
/// `shape_names.txt`. Every file is written atomically.
pub fn write_modelnet40_split(
    dir: &Path,
    split: &str,
    class_names: &[String],
    shapes: &ShapeFile,
    per_file: usize,
    options: WriteOptions,
) -> Result<Vec<PathBuf>> {
    if per_file == 0 {
        return Err(Error::InvalidParameter(
            "per_file must be at least 1".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let stride = shapes.n_points * shapes.dim;
    let mut written = Vec::new();
    for (k, start) in (0..shapes.n_items).step_by(per_file).enumerate() {
        let end = (start + per_file).min(shapes.n_items);
        let part = ShapeFile {
            data: shapes.data[start * stride..end * stride].to_vec(),
            n_items: end - start,
            n_points: shapes.n_points,
            dim: shapes.dim,
            labels: shapes.labels[start..end].to_vec(),
            pid: shapes
                .pid
                .as_ref()
                .map(|p| p[start * shapes.n_points..end * shapes.n_points].to_vec()),
            mesh_id: shapes.mesh_id.as_ref().map(|m| m[start..end].to_vec()),
        };
        let path = dir.join(format!("ply_data_{split}{k}.h5"));
        part.write(&path, options)?;
        written.push(path);
    }
    let list: String = written
        .iter()
        .map(|p| format!("{}\n", p.file_name().unwrap().to_string_lossy()))
        .collect();
    write_atomic(&dir.join(format!("{split}_files.txt")), list.as_bytes())?;
    let names: String = class_names.iter().map(|n| format!("{n}\n")).collect();
    write_atomic(&dir.join("shape_names.txt"), names.as_bytes())?;
    Ok(written)
}

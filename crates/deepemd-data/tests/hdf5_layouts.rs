//! The HDF5 readers on files h5py wrote in the real layouts (fixtures/h5/make_h5.py), on files
//! this crate writes, and on every malformed case, truncations included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use deepemd_data::hdf5::{
    H5Item, ShapeFile, WriteOptions, load_modelnet40, load_shapenet_part, read_h5_item,
    write_modelnet40_split,
};
use deepemd_data::read_cloud_spec;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/h5")
}

#[derive(serde::Deserialize)]
struct Expected {
    data: Vec<Vec<Vec<f32>>>,
    label: Vec<u8>,
    pid: Option<Vec<Vec<u8>>>,
}

fn expected() -> HashMap<String, Expected> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn flat(e: &Expected) -> Vec<f32> {
    e.data.iter().flatten().flatten().copied().collect()
}

#[test]
fn modelnet40_layout_written_by_h5py() {
    let exp = expected();
    let train = load_modelnet40(&fixtures().join("modelnet40"), "train").unwrap();
    assert_eq!(train.class_names, ["airplane", "bathtub", "bed"]);
    assert_eq!(train.files.len(), 2);
    assert_eq!(
        (
            train.shapes.n_items,
            train.shapes.n_points,
            train.shapes.dim
        ),
        (6, 64, 3)
    );
    let (e0, e1) = (
        &exp["modelnet40/ply_data_train0.h5"],
        &exp["modelnet40/ply_data_train1.h5"],
    );
    let mut want = flat(e0);
    want.extend(flat(e1));
    assert_eq!(train.shapes.data, want);
    assert_eq!(
        train.shapes.labels,
        [e0.label.clone(), e1.label.clone()].concat()
    );
    assert_eq!(train.class_of(0), train.class_names[e0.label[0] as usize]);
    let test = load_modelnet40(&fixtures().join("modelnet40"), "test").unwrap();
    assert_eq!(test.shapes.n_items, 3);
    assert_eq!(test.shapes.data, flat(&exp["modelnet40/ply_data_test0.h5"]));
}

#[test]
fn shapenet_part_layout_written_by_h5py() {
    let exp = expected();
    for (split, n) in [("train", 3), ("val", 2), ("test", 2)] {
        // Both the hdf5_data folder and its parent are accepted.
        for dir in [
            fixtures().join("shapenet_part"),
            fixtures().join("shapenet_part/hdf5_data"),
        ] {
            let s = load_shapenet_part(&dir, split).unwrap();
            let e = &exp[&format!("shapenet_part/hdf5_data/ply_data_{split}0.h5")];
            assert_eq!(s.shapes.n_items, n);
            assert_eq!(s.shapes.data, flat(e));
            assert_eq!(s.shapes.labels, e.label);
            let pid: Vec<u8> = e.pid.as_ref().unwrap().iter().flatten().copied().collect();
            assert_eq!(s.shapes.pid.as_ref().unwrap(), &pid);
            assert_eq!(s.class_names[0], "Airplane");
        }
    }
}

#[test]
fn single_items_and_the_cli_selector() {
    let exp = expected();
    let path = fixtures().join("modelnet40/ply_data_train0.h5");
    let e = &exp["modelnet40/ply_data_train0.h5"];
    let item = read_h5_item(
        &path,
        &H5Item {
            dataset: "data".into(),
            index: 2,
        },
    )
    .unwrap();
    let want: Vec<f64> = e.data[2].iter().flatten().map(|&x| f64::from(x)).collect();
    assert_eq!(item.as_flat(), want.as_slice());
    let spec = format!("{}#2", path.display());
    assert_eq!(read_cloud_spec(&spec).unwrap(), item);
    let normals = read_cloud_spec(&format!("{}:normal#1", path.display())).unwrap();
    assert_eq!(normals.len(), 64);
    for (bad, want) in [
        (
            format!("{}#9", path.display()),
            "has 4 items; there is no item 9",
        ),
        (format!("{}", path.display()), "select one cloud"),
        (format!("{}#x", path.display()), "select one cloud"),
        (
            format!("{}:faceId#0", path.display()),
            "dataset 'faceId' is int32 of shape (4, 64)",
        ),
        (
            format!("{}:nothing#0", path.display()),
            "no dataset 'nothing'",
        ),
    ] {
        let err = read_cloud_spec(&bad).unwrap_err().to_string();
        assert!(err.contains(want), "{bad}: {err}");
        assert!(err.contains("ply_data_train0.h5"), "{err}");
    }
}

#[test]
fn files_we_write_round_trip_compressed_and_not() {
    let dir = tempfile::tempdir().unwrap();
    let source = load_modelnet40(&fixtures().join("modelnet40"), "train").unwrap();
    let mut shapes = source.shapes.clone();
    shapes.mesh_id = Some((0..shapes.n_items as i32).collect());
    for compress in [true, false] {
        let out = dir.path().join(format!("c{compress}"));
        let files = write_modelnet40_split(
            &out,
            "train",
            &source.class_names,
            &shapes,
            4,
            WriteOptions { compress },
        )
        .unwrap();
        assert_eq!(files.len(), 2, "4 + 2 shapes");
        let back = load_modelnet40(&out, "train").unwrap();
        assert_eq!(back.shapes, shapes);
        assert_eq!(back.class_names, source.class_names);
        assert_eq!(ShapeFile::read(&files[1]).unwrap().n_items, 2);
    }
}

#[test]
fn malformed_files_name_file_dataset_and_expectation() {
    let m = fixtures().join("malformed");
    let cases = [
        (
            "label_int64.h5",
            "dataset 'label' is int64 of shape (3,); expected uint8 of shape (3, 1)",
        ),
        (
            "no_data.h5",
            "no dataset 'data' (expected float32 of shape (N, P, 3) or (N, P, 2))",
        ),
        ("no_label.h5", "no dataset 'label'"),
        (
            "data_rank2.h5",
            "dataset 'data' is float32 of shape (3, 64); expected float32 of shape (N, P, 3)",
        ),
        ("data_int.h5", "dataset 'data' is int32 of shape (3, 64, 3)"),
        (
            "length_mismatch.h5",
            "dataset 'label' is uint8 of shape (2, 1); expected uint8 of shape (3, 1)",
        ),
        (
            "nan_point.h5",
            "dataset 'data': item 0, point 33 has a non-finite coordinate",
        ),
        ("not_hdf5.h5", "not a readable HDF5 file"),
    ];
    for (file, want) in cases {
        let err = ShapeFile::read(&m.join(file)).unwrap_err().to_string();
        assert!(err.contains(file), "{err}");
        assert!(!err.contains('\n'), "not one line: {err}");
        assert!(err.contains(want), "{file}: got '{err}', want '{want}'");
    }
    let err = load_modelnet40(&fixtures().join("modelnet40"), "val")
        .unwrap_err()
        .to_string();
    assert!(err.contains("val_files.txt"), "{err}");
    let err = load_shapenet_part(&m, "train").unwrap_err().to_string();
    assert!(err.contains("no ply_data_trainK.h5 files"), "{err}");
}

#[test]
fn every_truncation_of_a_file_is_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "modelnet40/ply_data_train0.h5",
        "modelnet40/ply_data_train1.h5",
    ] {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        let cut = dir.path().join("cut.h5");
        for len in 0..bytes.len() {
            std::fs::write(&cut, &bytes[..len]).unwrap();
            let result = std::panic::catch_unwind(|| ShapeFile::read(&cut));
            let result = result.unwrap_or_else(|_| panic!("{name} cut at {len} panicked"));
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{name} cut at {len} was accepted"));
            assert!(err.to_string().contains("cut.h5"), "{err}");
            assert!(!err.to_string().contains('\n'), "not one line: {err}");
        }
    }
}

/// A chunk declared larger than the dataset makes HDF5 1.10 read past its decompression buffer
/// (a segfault, found by the fuzzer); such a file is refused before any read.
#[test]
fn chunks_larger_than_the_dataset_are_refused_before_reading() {
    let bytes = std::fs::read(fixtures().join("modelnet40/ply_data_train0.h5")).unwrap();
    // The chunk dimensions (1, 64, 3) and element size 4 of `data`'s layout message.
    let dims: Vec<u8> = [1u32, 64, 3, 4]
        .iter()
        .flat_map(|d| d.to_le_bytes())
        .collect();
    let at = bytes
        .windows(dims.len())
        .position(|w| w == dims.as_slice())
        .expect("the layout message of 'data'");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big_chunk.h5");
    let mut patched = bytes.clone();
    patched[at + 10] = 0x0c; // chunk (1, 64, 786435) on data of shape (4, 64, 3)
    std::fs::write(&path, patched).unwrap();
    let err = ShapeFile::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("big_chunk.h5") && err.contains("'data'") && err.contains("chunk"),
        "{err}"
    );
    let spec = format!("{}#0", path.display());
    assert!(
        read_cloud_spec(&spec)
            .unwrap_err()
            .to_string()
            .contains("chunk")
    );
}

/// `bytes` with the first occurrence of `from` replaced by `to` (same length).
fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the pattern to patch");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// HDF5 1.10 copies a dataset's declared size out of its stored block without comparing the
/// two (a segfault when the block is smaller, found by the fuzzer).
#[test]
fn storage_that_disagrees_with_the_shape_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    // ply_data_train1.h5 stores `data` (2, 64, 3) contiguously: 1536 bytes. Declare 8.
    let contiguous = std::fs::read(fixtures().join("modelnet40/ply_data_train1.h5")).unwrap();
    let size = 1536u64.to_le_bytes();
    let at = contiguous
        .windows(2 + 8 + 8)
        .position(|w| w[..2] == [3, 1] && w[10..] == size)
        .expect("the contiguous layout message of 'data'");
    let mut short = contiguous.clone();
    short[at + 10..at + 18].copy_from_slice(&8u64.to_le_bytes());
    // ply_data_train0.h5 chunks `data`; make its layout compact with no stored bytes.
    let chunked = std::fs::read(fixtures().join("modelnet40/ply_data_train0.h5")).unwrap();
    let compact = patched(&chunked, &[3, 2, 4, 0x78, 5], &[3, 0, 0, 0, 0]);
    for (name, bytes) in [("short.h5", short), ("compact.h5", compact)] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = ShapeFile::read(&path).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("dataset 'data' of shape"),
            "{err}"
        );
    }
}

/// HDF5 1.10 follows an undefined (all ones) address in version-0 metadata and reads out of
/// bounds (a segfault, found by the fuzzer); the file is refused before the library opens it.
#[test]
fn undefined_metadata_addresses_are_refused_before_the_library_follows_them() {
    let bytes = std::fs::read(fixtures().join("modelnet40/ply_data_train1.h5")).unwrap();
    // The root group's symbol table message: type 0x11, 16 bytes, then B-tree and heap addresses.
    let header = [0x11, 0, 0x10, 0, 0, 0, 0, 0];
    let at = bytes
        .windows(8)
        .position(|w| w == header)
        .expect("the root symbol table message");
    let dir = tempfile::tempdir().unwrap();
    for (name, field) in [("no_tree.h5", at + 8), ("no_heap.h5", at + 16)] {
        let mut broken = bytes.clone();
        broken[field..field + 8].copy_from_slice(&[0xff; 8]);
        let path = dir.path().join(name);
        std::fs::write(&path, broken).unwrap();
        let err = ShapeFile::read(&path).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("corrupt metadata"),
            "{err}"
        );
        let spec = format!("{}#0", path.display());
        assert!(read_cloud_spec(&spec).is_err());
    }
}

/// A soft link is a symbol-table entry without an object header (its address is undefined by
/// design), and an external link turns the group into one of link messages; the metadata check
/// must take neither for corruption.
#[test]
fn files_with_soft_hard_and_external_links_are_read() {
    let dir = tempfile::tempdir().unwrap();
    for external in [false, true] {
        let path = dir.path().join(format!("linked_{external}.h5"));
        std::fs::copy(fixtures().join("modelnet40/ply_data_train1.h5"), &path).unwrap();
        let file = hdf5::File::append(&path).unwrap();
        file.link_soft("/data", "alias").unwrap();
        file.link_hard("label", "label_again").unwrap();
        if external {
            file.link_external("other.h5", "/data", "elsewhere")
                .unwrap();
        }
        drop(file);
        let shapes = ShapeFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shapes.n_items, 2);
        let spec = format!("{}:alias#1", path.display());
        assert_eq!(read_cloud_spec(&spec).unwrap(), shapes.cloud(1).unwrap());
    }
}

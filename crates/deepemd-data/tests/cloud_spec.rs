//! `read_cloud_spec`: only an explicit `#K` or `:dataset#K` after an HDF5 file name selects an
//! HDF5 item; every other path is read by its own extension, whatever its folders are called.

use deepemd_data::read_cloud_spec;

const CLOUD: &[u8] = b"0 0 0\n1 0 0\n0 1 0\n";

#[test]
fn paths_that_merely_contain_h5_are_read_by_their_own_extension() {
    let dir = tempfile::tempdir().unwrap();
    let ply = b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 0 0\n0 1 0\n";
    let cases: [(&str, &[u8]); 6] = [
        ("data.h5.xyz", CLOUD),
        ("out.h5d/cloud.xyz", CLOUD),
        ("foo.h5/a.ply", ply),
        ("scan#1.xyz", CLOUD),
        ("run#7/x.hdf5:y#2.csv", CLOUD),
        ("DATA.H5.TXT", CLOUD),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let spec = path.to_str().unwrap();
        let cloud = read_cloud_spec(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cloud.len(), 3, "{name}");
    }
}

#[test]
fn hdf5_selectors_still_need_an_item() {
    let dir = tempfile::tempdir().unwrap();
    for spec in ["a.h5", "a.hdf5#", "a.h5#x", "a.h5:#3", "a.h5:data"] {
        let spec = dir.path().join(spec);
        let err = read_cloud_spec(spec.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("select one cloud"),
            "{}: {err}",
            spec.display()
        );
    }
    // A well-formed selector on a missing file is the missing file's error.
    let spec = dir.path().join("a.h5:normal#3");
    let err = read_cloud_spec(spec.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.h5") && !err.contains("normal#3"), "{err}");
}

/// `file.npy#K` is cloud K of a batch; an item past the end says how many there are.
#[test]
fn npy_selectors_pick_one_cloud_of_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.npy");
    // A (2, 3, 3) float64 batch, written as NumPy writes it: cloud k holds k + the row index.
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 3), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let len = (header.len() + pad + 1) as u16;
    bytes.extend(len.to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', pad));
    bytes.push(b'\n');
    for k in 0..2 {
        for i in 0..3 {
            for _ in 0..3 {
                bytes.extend(((k * 10 + i) as f64).to_le_bytes());
            }
        }
    }
    std::fs::write(&path, bytes).unwrap();
    let spec = |k: &str| format!("{}#{k}", path.display());
    let second = read_cloud_spec(&spec("1")).unwrap();
    assert_eq!(
        second.as_flat(),
        &[10.0, 10.0, 10.0, 11.0, 11.0, 11.0, 12.0, 12.0, 12.0]
    );
    let e = read_cloud_spec(&spec("2")).unwrap_err().to_string();
    assert!(
        e.contains("batch.npy") && e.contains("#2 selects no cloud: the batch holds 2"),
        "{e}"
    );
}

/// Rows with normals (or any columns past the third) are read as their first three columns;
/// ragged rows are still refused.
#[test]
fn xyz_rows_with_normals_are_read_as_their_points() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.xyz");
    let normals = dir.path().join("normals.xyz");
    std::fs::write(&plain, CLOUD).unwrap();
    std::fs::write(
        &normals,
        b"x y z nx ny nz\n0 0 0 0 0 1\n1 0 0 0 0 1\n0 1 0 0.5 0.5 0.7071\n",
    )
    .unwrap();
    let a = read_cloud_spec(plain.to_str().unwrap()).unwrap();
    let b = read_cloud_spec(normals.to_str().unwrap()).unwrap();
    assert_eq!((b.dim(), b.as_flat()), (3, a.as_flat()));
    std::fs::write(&normals, b"0 0 0 0 0 1\n1 0 0 0 0\n").unwrap();
    let e = read_cloud_spec(normals.to_str().unwrap()).unwrap_err();
    assert!(e.to_string().contains("line 2 has 5 values"), "{e}");
    // A label column is not read; the point's own values still must be numbers.
    std::fs::write(&normals, b"0 0 0 chair\n1 0 0 table\n").unwrap();
    assert_eq!(read_cloud_spec(normals.to_str().unwrap()).unwrap().len(), 2);
    std::fs::write(&normals, b"0 0 z 1\n").unwrap();
    let e = read_cloud_spec(normals.to_str().unwrap()).unwrap_err();
    assert!(e.to_string().contains("'z' is not a number"), "{e}");
}

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

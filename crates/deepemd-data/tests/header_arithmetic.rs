//! Numbers read from a file's header (counts, shapes, sizes) are never trusted: an overflowing
//! product or sum is an error naming the file, and work is bounded by the bytes present.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use deepemd_data::{Mesh, read_cloud};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs `f` on a thread and fails the test if it panics or takes more than two seconds (a
/// reader that loops over a header count would otherwise hang the test for an hour).
fn within_two_seconds<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(2)) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => panic!("{what}: the reader panicked"),
        Err(_) => panic!("{what}: the reader is still running after two seconds"),
    }
}

/// The error of reading `path`, which must be one line naming the file.
fn error_of(path: PathBuf) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let err = within_two_seconds(&name, move || read_cloud(&path))
        .expect_err("accepted")
        .to_string();
    assert!(err.contains(&name), "{err}");
    assert!(!err.contains('\n'), "{err}");
    err
}

fn npy(shape: &str) -> Vec<u8> {
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0u8; 64]);
    bytes
}

#[test]
fn npy_shapes_whose_byte_count_overflows_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (k, shape) in [
        "(1152921504606846976, 2)",
        "(18446744073709551615, 3)",
        "(9223372036854775807, 2)",
    ]
    .iter()
    .enumerate()
    {
        let err = error_of(write(dir.path(), &format!("big{k}.npy"), &npy(shape)));
        assert!(err.contains("bytes"), "{err}");
    }
}

#[test]
fn pcd_count_sums_that_overflow_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = error_of(write(
        dir.path(),
        "sum.pcd",
        b"FIELDS a x y z\nCOUNT 18446744073709551615 1 1 1\nPOINTS 1\nDATA ascii\n0 0 0 0\n",
    ));
    assert!(err.contains("COUNT"), "{err}");
    let err = error_of(write(
        dir.path(),
        "width.pcd",
        b"FIELDS x y z a\nCOUNT 1 1 1 18446744073709551615\nPOINTS 1\nDATA ascii\n0 0 0 0\n",
    ));
    assert!(err.contains("COUNT"), "{err}");
    // A coordinate field of COUNT 0 has no column to read.
    let err = error_of(write(
        dir.path(),
        "zero.pcd",
        b"FIELDS x y z\nCOUNT 1 1 0\nPOINTS 1\nDATA ascii\n0 0\n",
    ));
    assert!(err.contains("COUNT"), "{err}");
}

#[test]
fn binary_ply_elements_are_bounded_by_the_bytes_present() {
    let dir = tempfile::tempdir().unwrap();
    let vertex = "element vertex 1\nproperty float x\nproperty float y\nproperty float z\n";
    let mut body = Vec::new();
    for x in [1.0f32, 2.0, 3.0] {
        body.extend_from_slice(&x.to_le_bytes());
    }
    // An element without properties occupies no bytes: a trillion of them cost nothing.
    let mut empty = format!(
        "ply\nformat binary_little_endian 1.0\n{vertex}element junk 1000000000000\nend_header\n"
    )
    .into_bytes();
    empty.extend_from_slice(&body);
    let p = write(dir.path(), "junk.ply", &empty);
    let cloud = within_two_seconds("junk.ply", move || read_cloud(&p)).unwrap();
    assert_eq!(cloud.as_flat(), &[1.0, 2.0, 3.0]);
    // An element that needs more bytes than follow the header is refused before reading.
    let mut long = format!(
        "ply\nformat binary_little_endian 1.0\n{vertex}element junk 1000000000000\nproperty uchar a\nend_header\n"
    )
    .into_bytes();
    long.extend_from_slice(&body);
    let err = error_of(write(dir.path(), "long.ply", &long));
    assert!(err.contains("the file ends inside junk 0"), "{err}");
    // Counts whose byte size overflows are refused too.
    let mut huge = b"ply\nformat binary_little_endian 1.0\nelement vertex 18446744073709551615\nproperty double x\nproperty double y\nproperty double z\nend_header\n".to_vec();
    huge.extend_from_slice(&body);
    let err = error_of(write(dir.path(), "huge.ply", &huge));
    assert!(err.contains("the file ends inside vertex 0"), "{err}");
    // With a list, records have no one size: the error says what was declared.
    let mut listed = format!(
        "ply\nformat binary_little_endian 1.0\n{vertex}element face 1000000000000\nproperty list uchar int vertex_indices\nend_header\n"
    )
    .into_bytes();
    listed.extend_from_slice(&body);
    let err = error_of(write(dir.path(), "listed.ply", &listed));
    assert!(
        err.contains("element face declares 1000000000000 records"),
        "{err}"
    );
}

#[test]
fn a_second_vertex_element_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let err = error_of(write(
        dir.path(),
        "twice.ply",
        b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nelement vertex 1\nproperty float w\nend_header\n0 0 0\n1\n",
    ));
    assert!(err.contains("vertex"), "{err}");
}

#[test]
fn off_face_sizes_that_overflow_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "face.off",
        b"OFF\n3 1 0\n0 0 0\n1 0 0\n1 1 0\n18446744073709551615 0 1 2\n",
    );
    let err = within_two_seconds("face.off", move || Mesh::read(&p))
        .expect_err("accepted")
        .to_string();
    assert!(err.contains("face.off") && err.contains("face 0"), "{err}");
}

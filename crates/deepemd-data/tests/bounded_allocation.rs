//! A header's count or shape never makes a reader allocate more than the file's bytes can
//! hold: a 200-byte PLY or OFF promising 16 million vertices, and an HDF5 dataset declared
//! (1, 2e9, 3) in a small file, are errors before any large allocation.
//!
//! This file holds one test on purpose: the allocator below measures the whole process, so no
//! other test may run beside it.

// A global allocator is an `unsafe impl`; this one only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use deepemd_data::hdf5::{H5Item, ShapeFile, read_h5_item};
use deepemd_data::pairs::PairShard;
use deepemd_data::{Mesh, read_cloud, read_cloud_spec};

/// Records the largest single request and refuses any above 1 GiB, so a reader that trusts a
/// header aborts this test instead of exhausting the machine.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
const REFUSED_ABOVE: usize = 1 << 30;

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > REFUSED_ABOVE {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        if new_size > REFUSED_ABOVE {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// The most any case may allocate at once: far above what its few-kilobyte file holds.
const BUDGET: usize = 8 << 20;

fn check<T: std::fmt::Debug>(what: &str, read: impl FnOnce() -> deepemd_data::Result<T>) {
    LARGEST.store(0, Ordering::Relaxed);
    let err = read().expect_err(what).to_string();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= BUDGET,
        "{what}: allocated {largest} bytes at once"
    );
    assert!(!err.contains('\n'), "{what}: {err}");
    println!("{what}: largest allocation {largest} bytes: {err}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// An HDF5 file whose `data` is declared (1, 2e9, 3) float32 and never written (chunked, or
/// contiguous with late allocation), so the file stays a few kilobytes.
fn huge_h5(dir: &Path, name: &str, chunked: bool) -> PathBuf {
    let p = dir.join(name);
    let file = hdf5::File::create(&p).unwrap();
    let mut data = file.new_dataset::<f32>().shape([1, 2_000_000_000, 3]);
    if chunked {
        data = data.chunk([1, 1024, 3]);
    }
    data.create("data").unwrap();
    file.new_dataset::<u8>()
        .shape([1, 1])
        .create("label")
        .unwrap()
        .write_raw(&[0u8])
        .unwrap();
    drop(file);
    assert!(std::fs::metadata(&p).unwrap().len() < 100_000);
    p
}

/// A pair shard whose datasets are declared with (1, 2e9, 3) clouds and never written.
fn huge_shard(dir: &Path) -> PathBuf {
    let p = dir.join("shard.h5");
    let file = hdf5::File::create(&p).unwrap();
    let n = 2_000_000_000;
    for name in ["a", "b"] {
        file.new_dataset::<f32>()
            .shape([1, n, 3])
            .chunk([1, 1024, 3])
            .create(name)
            .unwrap();
    }
    file.new_dataset::<i32>()
        .shape([1, n])
        .chunk([1, 1024])
        .create("matching")
        .unwrap();
    file.new_dataset::<f64>().shape([1]).create("emd").unwrap();
    file.new_dataset::<u8>().shape([1]).create("kind").unwrap();
    drop(file);
    p
}

#[test]
fn header_counts_never_drive_large_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ply = write(
        dir,
        "many.ply",
        b"ply\nformat ascii 1.0\nelement vertex 16000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 1 1\n",
    );
    check("ascii PLY of 16M vertices", || read_cloud(&ply));
    let bin = write(
        dir,
        "many_bin.ply",
        b"ply\nformat binary_little_endian 1.0\nelement vertex 16000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n\0\0\0\0",
    );
    check("binary PLY of 16M vertices", || read_cloud(&bin));
    let off = write(dir, "many.off", b"OFF\n16000000 1 0\n0 0 0\n1 1 1\n");
    check("OFF of 16M vertices", || read_cloud(&off));
    check("OFF mesh of 16M vertices", || Mesh::read(&off));

    for chunked in [true, false] {
        let h5 = huge_h5(dir, &format!("huge_{chunked}.h5"), chunked);
        check("HDF5 file of (1, 2e9, 3)", || ShapeFile::read(&h5));
        let item = H5Item {
            dataset: "data".into(),
            index: 0,
        };
        check("HDF5 item of 2e9 points", || read_h5_item(&h5, &item));
        let spec = format!("{}#0", h5.display());
        check("HDF5 selector of 2e9 points", || read_cloud_spec(&spec));
        let err = ShapeFile::read(&h5).unwrap_err().to_string();
        assert!(
            err.contains(&format!("huge_{chunked}.h5"))
                && err.contains("'data'")
                && err.contains("(1, 2000000000, 3)"),
            "{err}"
        );
    }
    let shard = huge_shard(dir);
    check("pair shard of 2e9 points", || PairShard::read(&shard));
}

//! Round trips through our writers, and every truncation of a file is an error, not a panic.

use deepemd_core::PointCloud;
use deepemd_core::synthetic::uniform_cube;
use deepemd_data::formats::{
    read_npy, read_ply, read_xyz, write_npy_f32, write_npy_f64, write_ply_binary, write_xyz,
};
use deepemd_data::{Mesh, read_cloud};
use rand::SeedableRng;

fn cloud(n: usize, dim: usize) -> PointCloud {
    uniform_cube(
        n,
        dim,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(n as u64),
    )
    .unwrap()
}

fn f32_rounded(c: &PointCloud) -> PointCloud {
    PointCloud::from_flat_f32(c.dim(), &c.to_f32()).unwrap()
}

#[test]
fn writers_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for dim in [2, 3] {
        let c = cloud(57, dim);
        let p = dir.path().join(format!("c{dim}.xyz"));
        write_xyz(&p, &c).unwrap();
        assert_eq!(read_xyz(&p).unwrap(), c);
        let p = dir.path().join(format!("c{dim}.npy"));
        write_npy_f64(&p, &c).unwrap();
        assert_eq!(read_npy(&p).unwrap(), c);
        write_npy_f32(&p, &c).unwrap();
        assert_eq!(read_npy(&p).unwrap(), f32_rounded(&c));
    }
    let c = cloud(40, 3);
    let p = dir.path().join("c.ply");
    write_ply_binary(&p, &c).unwrap();
    assert_eq!(read_ply(&p).unwrap(), f32_rounded(&c));
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let c = cloud(6, 3);
    for (name, write) in [
        (
            "t.ply",
            write_ply_binary as fn(&std::path::Path, &PointCloud) -> _,
        ),
        ("t.npy", write_npy_f64),
    ] {
        let full = dir.path().join(name);
        write(&full, &c).unwrap();
        let bytes = std::fs::read(&full).unwrap();
        let cut = dir.path().join(format!("cut_{name}"));
        for len in 0..bytes.len() {
            std::fs::write(&cut, &bytes[..len]).unwrap();
            let result = std::panic::catch_unwind(|| read_cloud(&cut));
            let result = result.unwrap_or_else(|_| panic!("{name} cut at {len} panicked"));
            let err = result.expect_err(&format!("{name} cut at {len} was accepted"));
            assert!(err.to_string().contains("cut_"), "{err}");
        }
    }
}

#[test]
fn meshes_are_triangulated_and_sampled_on_their_surface() {
    let dir = tempfile::tempdir().unwrap();
    // A unit square in the z = 0 plane, as one quad.
    let p = dir.path().join("square.off");
    std::fs::write(&p, "OFF\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n").unwrap();
    let mesh = Mesh::read(&p).unwrap();
    assert_eq!(mesh.triangles().len(), 2);
    assert!((mesh.area() - 1.0).abs() < 1e-12);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let s = mesh.sample_surface(4000, &mut rng).unwrap();
    assert!(
        s.points()
            .all(|q| q[2] == 0.0 && (0.0..=1.0).contains(&q[0]) && (0.0..=1.0).contains(&q[1]))
    );
    // Uniform on the square: a quarter of the points in each quadrant, within sampling noise.
    let lower_left = s.points().filter(|q| q[0] < 0.5 && q[1] < 0.5).count() as f64 / 4000.0;
    assert!((lower_left - 0.25).abs() < 0.03, "{lower_left}");
    let mut rng2 = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    assert_eq!(
        mesh.sample_surface(4000, &mut rng2).unwrap(),
        s,
        "deterministic for a seed"
    );

    let bad = dir.path().join("bad.off");
    std::fs::write(&bad, "OFF\n3 1 0\n0 0 0\n1 0 0\n1 1 0\n3 0 1 9\n").unwrap();
    let err = Mesh::read(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.off") && err.contains("out of range"),
        "{err}"
    );
}

/// An arrow-shaped quad whose fan from vertex 0 would cover its notch, at `scale`.
fn arrow(scale: f64) -> Mesh {
    let vertices = [
        [0.0, 0.0, 0.0],
        [2.0, 1.0, 0.0],
        [0.0, 2.0, 0.0],
        [0.5, 1.0, 0.0],
    ]
    .map(|p: [f64; 3]| p.map(|x| x * scale))
    .to_vec();
    Mesh::new(
        std::path::Path::new("arrow.off"),
        vertices,
        vec![vec![0, 1, 2, 3]],
    )
    .unwrap()
}

#[test]
fn surface_sampling_is_the_same_at_every_scale() {
    let sample = |mesh: &Mesh| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        mesh.sample_surface(500, &mut rng).unwrap()
    };
    let unit = sample(&arrow(1.0));
    // No sample in the notch: the triangle (0,0), (0.5,1), (0,2), outside the face.
    let in_notch = |p: &[f64]| {
        let side = |a: [f64; 2], b: [f64; 2]| {
            (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
        };
        let (a, b, c) = ([0.0, 0.0], [0.5, 1.0], [0.0, 2.0]);
        let s = [side(a, b), side(b, c), side(c, a)];
        s.iter().all(|&x| x > 1e-9) || s.iter().all(|&x| x < -1e-9)
    };
    assert!(
        unit.points().all(|p| !in_notch(p)),
        "a sample outside the face"
    );
    assert!(
        (arrow(1.0).area() - 1.5).abs() < 1e-12,
        "{}",
        arrow(1.0).area()
    );
    // Powers of two scale exactly: the very same points, scaled. Other scales: the same points
    // up to rounding. Areas overflowed above ~1e77 and underflowed below ~1e-79 before.
    for e in [-1000, -500, -100, 100, 500, 1000] {
        let s = 2f64.powi(e);
        let scaled = sample(&arrow(s));
        let back: Vec<f64> = scaled.as_flat().iter().map(|x| x / s).collect();
        assert_eq!(back, unit.as_flat(), "2^{e}");
    }
    for s in [1e-300, 1e-150, 1e-80, 1e80, 1e150, 1e300] {
        let scaled = sample(&arrow(s));
        for (x, y) in scaled.as_flat().iter().zip(unit.as_flat()) {
            assert!((x / s - y).abs() < 1e-9, "scale {s:e}: {x:e} vs {y}");
        }
        // The area itself is representable only between ~1e-154 and ~1e154.
        if (s * s).is_normal() {
            let area = arrow(s).area() / (s * s);
            assert!((area - 1.5).abs() < 1e-9, "{s:e}: {area}");
        }
    }
    // Sample counts outside 1..=2^24 are errors naming the limit, not aborts.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for n in [0, Mesh::MAX_SAMPLES + 1, 1 << 30, usize::MAX] {
        let e = arrow(1.0)
            .sample_surface(n, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(e.contains("from 1 to 16777216"), "{n}: {e}");
    }
}

/// A little-endian f8 `.npy` header and data of the given shape.
fn npy_bytes(shape: &str, values: &[f64]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    header.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values.iter().flat_map(|x| x.to_le_bytes()));
    out
}

#[test]
fn batches_of_empty_clouds_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.npy");
    for (shape, says) in [
        (
            "(2, 0, 3)",
            "the batch's 2 clouds hold no points (shape (2, 0, 3))",
        ),
        ("(5, 0, 2)", "hold no points"),
        ("(0, 4, 3)", "the batch holds no clouds"),
        ("(0, 0, 3)", "the batch holds no clouds"),
    ] {
        std::fs::write(&p, npy_bytes(shape, &[])).unwrap();
        let e = deepemd_data::read_cloud_batch(p.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.npy") && e.contains(says), "{shape}: {e}");
    }
    std::fs::write(&p, npy_bytes("(1, 2, 3)", &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])).unwrap();
    assert_eq!(
        deepemd_data::read_cloud_batch(p.to_str().unwrap())
            .unwrap()
            .len(),
        1
    );
    // A text file starting with a byte-order mark reads as without one.
    let xyz = dir.path().join("c.xyz");
    std::fs::write(&xyz, "\u{feff}1 2 3\n4 5 6\n").unwrap();
    assert_eq!(
        read_cloud(&xyz).unwrap().as_flat(),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
}

#[test]
fn an_output_folder_where_a_file_is_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results");
    std::fs::write(&file, b"x").unwrap();
    let e = deepemd_data::create_folder(&file).unwrap_err().to_string();
    assert!(e.contains("results: is a file, not a folder"), "{e}");
    let e = deepemd_data::create_folder(&file.join("sub"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("results: is a file, so") && e.contains("sub cannot be a folder"),
        "{e}"
    );
    let nested = dir.path().join("a/b/c");
    deepemd_data::create_folder(&nested).unwrap();
    deepemd_data::create_folder(&nested).unwrap();
    assert!(nested.is_dir());
}

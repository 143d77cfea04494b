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

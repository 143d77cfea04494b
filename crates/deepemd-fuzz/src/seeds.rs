//! `deepemd-fuzz make-seeds`: writes the committed seed files under `seeds/`. Each is small
//! (a few dozen points, so a fuzz run tries many inputs) but uses the features its reader
//! handles: comments, extra properties, faces, CRLF-free text, both byte orders, both NPY
//! dtypes, PCD `COUNT`, and HDF5 files written by h5py in the real layouts (copied from
//! `deepemd-data`'s fixtures) or by our shard writer.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use deepemd_core::synthetic::uniform_cube;
use deepemd_core::{Cost, EmdEstimator, EmdRequest, Matching, Pairing, PointCloud};
use deepemd_data::formats::{write_npy_f32, write_npy_f64};
use deepemd_data::pairs::{PairKind, PairShard};
use deepemd_solvers::Hungarian;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cloud(n: usize, dim: usize, seed: u64) -> Result<PointCloud> {
    Ok(uniform_cube(n, dim, &mut ChaCha8Rng::seed_from_u64(seed))?)
}

/// Rows of `cloud` with four decimals, separated by `sep`.
fn rows(cloud: &PointCloud, sep: &str) -> String {
    let mut out = String::new();
    for p in cloud.points() {
        let row: Vec<String> = p.iter().map(|x| format!("{x:.4}")).collect();
        let _ = writeln!(out, "{}", row.join(sep));
    }
    out
}

const CUBE_VERTICES: &str = "0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 0 1\n1 0 1\n1 1 1\n0 1 1\n";
const CUBE_FACES: &str = "4 0 3 2 1\n4 4 5 6 7\n4 0 1 5 4\n4 1 2 6 5\n4 2 3 7 6\n4 3 0 4 7\n";

fn binary_mesh_ply() -> Result<Vec<u8>> {
    let c = cloud(24, 3, 3)?;
    let mut out = b"ply\nformat binary_little_endian 1.0\ncomment normals and faces\nelement vertex 24\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nelement face 8\nproperty list uchar int vertex_indices\nend_header\n".to_vec();
    for p in c.points() {
        for x in p.iter().chain(p.iter()) {
            out.extend_from_slice(&(*x as f32).to_le_bytes());
        }
    }
    for f in 0..8i32 {
        out.push(3);
        for v in [3 * f, 3 * f + 1, 3 * f + 2] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

fn big_endian_ply() -> Result<Vec<u8>> {
    let c = cloud(20, 3, 4)?;
    let mut out = b"ply\nformat binary_big_endian 1.0\nelement vertex 20\nproperty double x\nproperty double y\nproperty double z\nproperty uchar red\nend_header\n".to_vec();
    for (k, p) in c.points().enumerate() {
        for x in p {
            out.extend_from_slice(&x.to_be_bytes());
        }
        out.push(k as u8);
    }
    Ok(out)
}

fn shard() -> Result<PairShard> {
    let mut shard = PairShard::new(16, 3);
    for m in 0..2 {
        let (a, b) = (cloud(16, 3, 10 + m)?, cloud(16, 3, 20 + m)?);
        // Stored rounded to f32, so solve the rounded clouds.
        let (a, b) = (
            PointCloud::from_flat_f32(3, &a.to_f32())?,
            PointCloud::from_flat_f32(3, &b.to_f32())?,
        );
        let emd = Hungarian.estimate(&a, &b, EmdRequest::new(Cost::Euclidean))?;
        let Pairing::Bijection(matching) = emd.pairing else {
            anyhow::bail!("equal sizes give a bijection");
        };
        let matching: Matching = matching;
        shard.push(&a, &b, &matching, emd.distance, PairKind::RandomClouds);
    }
    Ok(shard)
}

/// Writes every seed file into `dir`.
pub fn make_seeds(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("writing {name}"))
    };
    write(
        "mesh_ascii.ply",
        format!(
            "ply\nformat ascii 1.0\ncomment a unit cube\nelement vertex 8\nproperty float x\nproperty float y\nproperty float z\nelement face 6\nproperty list uchar int vertex_indices\nend_header\n{CUBE_VERTICES}{CUBE_FACES}"
        )
        .as_bytes(),
    )?;
    write("mesh_binary.ply", &binary_mesh_ply()?)?;
    write("cloud_be.ply", &big_endian_ply()?)?;
    write(
        "mesh.off",
        format!("OFF\n# a unit cube\n8 6 12\n{CUBE_VERTICES}{CUBE_FACES}").as_bytes(),
    )?;
    write(
        "cloud.xyz",
        format!("# x y z\n{}", rows(&cloud(32, 3, 5)?, " ")).as_bytes(),
    )?;
    write("cloud2d.txt", rows(&cloud(24, 2, 6)?, "\t").as_bytes())?;
    write(
        "cloud.csv",
        format!("x,y,z\n{}", rows(&cloud(24, 3, 7)?, ",")).as_bytes(),
    )?;
    write_npy_f32(&dir.join("cloud_f32.npy"), &cloud(32, 3, 8)?)?;
    write_npy_f64(&dir.join("cloud_f64.npy"), &cloud(24, 2, 9)?)?;
    let pcd = cloud(24, 3, 10)?;
    let mut text = "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F U\nCOUNT 1 1 1 1\nWIDTH 24\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 24\nDATA ascii\n".to_string();
    for (k, p) in pcd.points().enumerate() {
        let _ = writeln!(
            text,
            "{:.4} {:.4} {:.4} {}",
            p[0],
            p[1],
            p[2],
            4_000_000 + k
        );
    }
    write("cloud.pcd", text.as_bytes())?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deepemd-data/tests/fixtures/h5");
    for (from, to) in [
        ("modelnet40/ply_data_train1.h5", "modelnet40.h5"),
        ("modelnet40/ply_data_train0.h5", "modelnet40_gzip.h5"),
        (
            "shapenet_part/hdf5_data/ply_data_train0.h5",
            "shapenet_part.h5",
        ),
    ] {
        std::fs::copy(fixtures.join(from), dir.join(to))
            .with_context(|| format!("copying {from}"))?;
    }
    let shard = shard()?;
    shard.write(&dir.join("shard.h5"))?;
    // The long jobs' files: job A of `jobs` (a distance set made by the library itself), the
    // pair set of the seed shard, a list naming the cloud seeds, a scenario's random bytes.
    use crate::jobs::{SetKind, set_jobs};
    let [a, _] = set_jobs(SetKind::Distances);
    for (from, to) in [
        ("distances.json", "distances.json"),
        ("distances-00001.npy", "distances_chunk.npy"),
        ("distances-00001.npy.receipt", "distances_chunk.npy.receipt"),
    ] {
        write(to, &a.files[from])?;
    }
    let [a, _] = set_jobs(SetKind::Nearest);
    for (from, to) in [
        ("nearest.json", "nearest.json"),
        ("nearest-00001.json", "nearest_unit.json"),
        ("nearest-00001.json.receipt", "nearest_unit.json.receipt"),
    ] {
        write(to, &a.files[from])?;
    }
    let pairs = serde_json::to_string_pretty(&crate::jobs::seed_pairs_config(&shard))?;
    write("pairs.json", pairs.as_bytes())?;
    write(
        "list.txt",
        b"# pairs of the cloud seeds\ncloud.xyz\tcloud.csv\ncloud_f32.npy cloud.pcd\n\ncloud2d.txt  cloud_f64.npy\n",
    )?;
    write(
        "scenario.bin",
        b"stale folders: files of job A in the folder of job B",
    )?;
    Ok(())
}

//! Pairs with their exact solutions, drawn from a seeded stream: the unit of training batches
//! and of every evaluation.

use deepemd_core::{Cost, EmdEstimator, EmdRequest, Matching, PointCloud};
use deepemd_solvers::Exact;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::generator::{PairGenerator, PairKind, PairMix};
use crate::error::{Error, Result};
use crate::hdf5::ShapeFile;

/// A pair with its exact solution.
#[derive(Clone, Debug)]
pub struct LabeledPair {
    /// First cloud.
    pub a: PointCloud,
    /// Second cloud.
    pub b: PointCloud,
    /// The optimal matching (Euclidean cost).
    pub matching: Matching,
    /// The exact EMD (Euclidean cost).
    pub emd: f64,
    /// How the pair was made.
    pub kind: PairKind,
}

/// Draws `count` pairs of `points`-point clouds from `pool` with stream `stream` of `seed`,
/// and solves each exactly (in parallel). The same arguments always give the same pairs.
pub fn generate_labeled_pairs(
    pool: &ShapeFile,
    points: usize,
    mix: PairMix,
    seed: u64,
    stream: u64,
    count: usize,
) -> Result<Vec<LabeledPair>> {
    let generator = PairGenerator::new(pool, points, mix)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let pairs = (0..count)
        .map(|_| generator.pair(&mut rng))
        .collect::<Result<Vec<_>>>()?;
    pairs
        .into_par_iter()
        .map(|p| {
            let emd = Exact::default().estimate(&p.a, &p.b, EmdRequest::new(Cost::Euclidean))?;
            let matching = emd.pairing.as_bijection().cloned().ok_or_else(|| {
                Error::InvalidParameter("the exact solver returned no bijection".into())
            })?;
            Ok(LabeledPair {
                a: p.a,
                b: p.b,
                matching,
                emd: emd.distance,
                kind: p.kind,
            })
        })
        .collect()
}

//! Pairs with their exact solutions, drawn from a seeded stream: the unit of training batches,
//! of every evaluation and of `prepare-pairs` shards. The solver is the caller's (this crate
//! depends on no solver); it must be exact.

use deepemd_core::{Cost, EmdEstimator, EmdRequest, Pairing, PointCloud, Unequal};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::generator::{Pair, PairGenerator, PairKind, PairMix};
use crate::error::{Error, Result};
use crate::hdf5::ShapeFile;

/// A pair with its exact solution.
#[derive(Clone, Debug)]
pub struct LabeledPair {
    /// First cloud.
    pub a: PointCloud,
    /// Second cloud.
    pub b: PointCloud,
    /// The optimal matching (Euclidean cost): a bijection for equal sizes, else the partial
    /// matching that covers the smaller cloud.
    pub matching: Pairing,
    /// The exact EMD (Euclidean cost).
    pub emd: f64,
    /// How the pair was made.
    pub kind: PairKind,
}

/// `count` pairs from stream `stream` of `seed`: the same arguments always give the same pairs.
pub(crate) fn draw_pairs(
    generator: &PairGenerator,
    seed: u64,
    stream: u64,
    count: usize,
) -> Result<Vec<Pair>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    (0..count).map(|_| generator.pair(&mut rng)).collect()
}

/// Solves every pair with `solver` (in parallel), calling `progress()` once per solved pair.
/// A solver that is not exact is refused: labels must be optimal matchings.
pub fn label_pairs(
    pairs: Vec<Pair>,
    solver: &dyn EmdEstimator,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<LabeledPair>> {
    if !solver.is_exact() {
        return Err(Error::InvalidParameter(format!(
            "pairs are labeled with exact matchings; {} is not an exact solver",
            solver.name()
        )));
    }
    pairs
        .into_par_iter()
        .map(|p| {
            let emd = solver.estimate(
                &p.a,
                &p.b,
                // The model learns the partial matchings of unbalanced pairs.
                EmdRequest::new(Cost::Euclidean).with_unequal(Unequal::Partial),
            )?;
            progress();
            if !matches!(emd.pairing, Pairing::Bijection(_) | Pairing::Partial(_)) {
                return Err(Error::InvalidParameter(format!(
                    "{} returned a {}, not an injective matching",
                    solver.name(),
                    emd.pairing.kind()
                )));
            }
            Ok(LabeledPair {
                a: p.a,
                b: p.b,
                matching: emd.pairing,
                emd: emd.distance,
                kind: p.kind,
            })
        })
        .collect()
}

/// Draws `count` pairs of clouds of `sizes.0` and `sizes.1` points from `pool` with stream
/// `stream` of `seed`, and solves each with the exact `solver` (in parallel). The same
/// arguments always give the same pairs.
pub fn generate_labeled_pairs(
    pool: &ShapeFile,
    sizes: (usize, usize),
    mix: PairMix,
    seed: u64,
    stream: u64,
    count: usize,
    solver: &dyn EmdEstimator,
) -> Result<Vec<LabeledPair>> {
    let generator = PairGenerator::with_sizes(pool, sizes, mix)?;
    label_pairs(draw_pairs(&generator, seed, stream, count)?, solver, &|| {})
}

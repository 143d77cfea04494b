//! Batches of training pairs with their exact matchings. Batch `s` depends only on the seed
//! and `s`, so a resumed run sees exactly the batches an uninterrupted run would.

use candle_core::{Device, Tensor};
use deepemd_core::Pairing;
use deepemd_data::hdf5::{ShapeFile, load_modelnet40};
use deepemd_data::pairs::{LabeledPair, PairMix, PairShard, generate_labeled_pairs, read_pair_set};
use deepemd_solvers::Exact;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{PairSource, TrainConfig};
use crate::error::{Error, Result};

/// One step's pairs as tensors.
#[derive(Debug)]
pub struct Batch {
    /// `[B, n, dim]`.
    pub a: Tensor,
    /// `[B, m, dim]`.
    pub b: Tensor,
    /// `[B, k]` u32, `k = min(n, m)`: the optimal pairs `(i, j)` as flat indices `i·m + j`
    /// into the `n × m` logits.
    pub matched: Tensor,
    /// `[B, k]` u32: the optimal partner in the larger cloud of each point of the smaller one
    /// (A when `n <= m`), in index order.
    pub partners: Tensor,
}

/// Where batches come from.
#[derive(Debug)]
pub enum BatchSource {
    /// A pool of shapes; pairs and exact matchings are made per batch.
    Generated {
        /// The shapes.
        pool: ShapeFile,
        /// Kind proportions.
        mix: PairMix,
    },
    /// Pairs read from shards.
    Shards(Vec<PairShard>),
}

impl BatchSource {
    /// Opens the source a config names.
    pub fn open(config: &TrainConfig) -> Result<Self> {
        match &config.source {
            PairSource::Generated { dataset, split } => {
                let pool = load_modelnet40(dataset, split)?.shapes;
                // The smaller cloud's largest size (a larger partner is capped at the shapes').
                let largest = config.points.max(config.max_points);
                if largest > pool.n_points {
                    return Err(Error::Config(format!(
                        "{} holds shapes of {} points; the run wants clouds of up to {largest}",
                        dataset.display(),
                        pool.n_points
                    )));
                }
                if pool.dim != config.model.point_dim {
                    return Err(Error::Config(format!(
                        "{} holds {}-D shapes, the model takes {}-D",
                        dataset.display(),
                        pool.dim,
                        config.model.point_dim
                    )));
                }
                Ok(Self::Generated {
                    pool,
                    mix: config.mix,
                })
            }
            PairSource::Shards { dir } => {
                let shards = read_pair_set(dir)?;
                if let Some(s) = shards
                    .iter()
                    .find(|s| s.n != config.points || s.dim != config.model.point_dim)
                {
                    return Err(Error::Config(format!(
                        "{} holds pairs of {} points in {}-D; the run wants {} points in {}-D",
                        dir.display(),
                        s.n,
                        s.dim,
                        config.points,
                        config.model.point_dim
                    )));
                }
                Ok(Self::Shards(shards))
            }
        }
    }

    /// The pairs of step `step` (their sizes from [`TrainConfig::step_shape`]).
    pub fn pairs(&self, config: &TrainConfig, step: usize) -> Result<Vec<LabeledPair>> {
        match self {
            Self::Generated { pool, mix } => {
                let (sizes, batch) = config.step_shape(step, pool.n_points);
                Ok(generate_labeled_pairs(
                    pool,
                    sizes,
                    *mix,
                    config.seed,
                    step as u64,
                    batch,
                    &Exact::default(),
                )?)
            }
            Self::Shards(shards) => {
                let total: usize = shards.iter().map(PairShard::len).sum();
                let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
                rng.set_stream(step as u64);
                (0..config.batch)
                    .map(|_| {
                        let mut k = rng.random_range(0..total);
                        let shard = shards.iter().find(|s| {
                            if k < s.len() {
                                true
                            } else {
                                k -= s.len();
                                false
                            }
                        });
                        let (a, b, matching, emd, kind) = shard.expect("k < total").pair(k)?;
                        Ok(LabeledPair {
                            a,
                            b,
                            matching: Pairing::Bijection(matching),
                            emd,
                            kind,
                        })
                    })
                    .collect()
            }
        }
    }
}

/// Stacks pairs of one pair of sizes into tensors on `device`.
pub fn to_batch(pairs: &[LabeledPair], device: &Device) -> Result<Batch> {
    let (n, m, dim) = (pairs[0].a.len(), pairs[0].b.len(), pairs[0].a.dim());
    let (bsz, k) = (pairs.len(), n.min(m));
    let mut a = Vec::with_capacity(bsz * n * dim);
    let mut b = Vec::with_capacity(bsz * m * dim);
    let mut matched = Vec::with_capacity(bsz * k);
    let mut partners = Vec::with_capacity(bsz * k);
    for p in pairs {
        if (p.a.len(), p.b.len()) != (n, m) {
            return Err(Error::Config(
                "a batch needs pairs of one pair of sizes".into(),
            ));
        }
        a.extend(p.a.to_f32());
        b.extend(p.b.to_f32());
        matched.extend(p.matching.pairs().map(|(i, j)| (i * m + j) as u32));
        let partner = p.matching.smaller_side_partners(n, m).ok_or_else(|| {
            Error::Config(format!(
                "a training label must be injective, not a {}",
                p.matching.kind()
            ))
        })?;
        partners.extend(partner.into_iter().map(|t| t as u32));
    }
    Ok(Batch {
        a: Tensor::from_vec(a, (bsz, n, dim), device)?,
        b: Tensor::from_vec(b, (bsz, m, dim), device)?,
        matched: Tensor::from_vec(matched, (bsz, k), device)?,
        partners: Tensor::from_vec(partners, (bsz, k), device)?,
    })
}

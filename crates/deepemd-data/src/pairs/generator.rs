//! The pair generator: which kinds of pairs, in which proportions.

use deepemd_core::synthetic::{gaussian, uniform_cube};
use deepemd_core::{JointNormalization, PointCloud};
use rand::Rng;
use rand::seq::index::sample;

use super::perturb::perturb;
use crate::error::{Error, Result};
use crate::hdf5::ShapeFile;

/// How a pair was made. Pooled correlations are inflated when kinds of very different EMD
/// scales are mixed, so evaluations report each kind separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PairKind {
    /// Two different shapes (large EMD).
    DifferentShapes = 0,
    /// The same shape sampled twice (small EMD: only sampling noise).
    SameShapeResampled = 1,
    /// A shape and a perturbed copy (jitter, rotation, stretch, local deformation, resampling).
    PerturbedCopy = 2,
    /// Two independent random clouds (uniform cube or Gaussian).
    RandomClouds = 3,
}

impl PairKind {
    /// Every kind, in code order.
    pub const ALL: [PairKind; 4] = [
        PairKind::DifferentShapes,
        PairKind::SameShapeResampled,
        PairKind::PerturbedCopy,
        PairKind::RandomClouds,
    ];

    /// The kind stored as `code` in a shard.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            PairKind::DifferentShapes => "different shapes",
            PairKind::SameShapeResampled => "same shape resampled",
            PairKind::PerturbedCopy => "perturbed copy",
            PairKind::RandomClouds => "random clouds",
        }
    }
}

/// Relative weights of the pair kinds (they need not sum to 1).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PairMix {
    /// Two different shapes.
    pub different: f64,
    /// The same shape sampled twice.
    pub resampled: f64,
    /// A shape and a perturbed copy.
    pub perturbed: f64,
    /// Independent random clouds.
    pub random: f64,
}

impl Default for PairMix {
    /// Weighted toward the small-EMD kinds where a model's row argmax errs most.
    fn default() -> Self {
        Self {
            different: 0.25,
            resampled: 0.3,
            perturbed: 0.4,
            random: 0.05,
        }
    }
}

impl PairMix {
    /// Checks the weights: finite, non-negative, positive sum.
    pub fn check(&self) -> Result<()> {
        let w = self.weights();
        if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
            return Err(Error::InvalidParameter(format!(
                "pair mix weights {w:?} must be non-negative with a positive sum"
            )));
        }
        Ok(())
    }

    fn weights(&self) -> [f64; 4] {
        [self.different, self.resampled, self.perturbed, self.random]
    }

    fn draw(&self, rng: &mut impl Rng) -> PairKind {
        let w = self.weights();
        let mut t = rng.random::<f64>() * w.iter().sum::<f64>();
        for (k, x) in w.iter().enumerate() {
            if t < *x {
                return PairKind::ALL[k];
            }
            t -= x;
        }
        PairKind::PerturbedCopy
    }
}

/// A pair of clouds, jointly normalized, points in random order.
#[derive(Clone, Debug)]
pub struct Pair {
    /// First cloud.
    pub a: PointCloud,
    /// Second cloud.
    pub b: PointCloud,
    /// How it was made.
    pub kind: PairKind,
}

/// Draws pairs of clouds of `n_a` and `n_b` points from a pool of shapes.
#[derive(Debug)]
pub struct PairGenerator<'a> {
    pool: &'a ShapeFile,
    n_a: usize,
    n_b: usize,
    mix: PairMix,
    /// For each shape, the other shapes sampled from the same mesh.
    siblings: Vec<Vec<usize>>,
}

impl<'a> PairGenerator<'a> {
    /// Pairs of two `points`-point clouds; checks the settings against the pool.
    pub fn new(pool: &'a ShapeFile, points: usize, mix: PairMix) -> Result<Self> {
        Self::with_sizes(pool, (points, points), mix)
    }

    /// Pairs of an `n_a`-point and an `n_b`-point cloud (unbalanced when they differ).
    pub fn with_sizes(
        pool: &'a ShapeFile,
        (n_a, n_b): (usize, usize),
        mix: PairMix,
    ) -> Result<Self> {
        mix.check()?;
        for points in [n_a, n_b] {
            if points == 0 || points > pool.n_points {
                return Err(Error::InvalidParameter(format!(
                    "{points} points per cloud from shapes of {} points",
                    pool.n_points
                )));
            }
        }
        if pool.n_items < 2 && mix.different > 0.0 {
            return Err(Error::InvalidParameter(
                "different-shape pairs need at least 2 shapes".into(),
            ));
        }
        let siblings = (0..pool.n_items)
            .map(|k| match &pool.mesh_id {
                Some(ids) => (0..pool.n_items)
                    .filter(|&j| j != k && ids[j] == ids[k])
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        Ok(Self {
            pool,
            n_a,
            n_b,
            mix,
            siblings,
        })
    }

    fn subsample(&self, shape: usize, points: usize, rng: &mut impl Rng) -> Vec<f64> {
        let (p, d) = (self.pool.n_points, self.pool.dim);
        let base = &self.pool.data[shape * p * d..(shape + 1) * p * d];
        sample(rng, p, points)
            .iter()
            .flat_map(|i| base[i * d..(i + 1) * d].iter().map(|&x| f64::from(x)))
            .collect()
    }

    /// Two different subsets of one shape: disjoint when the shape has enough points,
    /// otherwise from a sibling sample of the same mesh, otherwise independent subsets.
    fn resampled(&self, shape: usize, rng: &mut impl Rng) -> (Vec<f64>, Vec<f64>) {
        let (p, d) = (self.pool.n_points, self.pool.dim);
        if let Some(&other) = (!self.siblings[shape].is_empty())
            .then(|| &self.siblings[shape][rng.random_range(0..self.siblings[shape].len())])
        {
            return (
                self.subsample(shape, self.n_a, rng),
                self.subsample(other, self.n_b, rng),
            );
        }
        if self.n_a + self.n_b <= p {
            let idx = sample(rng, p, self.n_a + self.n_b).into_vec();
            let base = &self.pool.data[shape * p * d..(shape + 1) * p * d];
            let take = |ix: &[usize]| {
                ix.iter()
                    .flat_map(|i| base[i * d..(i + 1) * d].iter().map(|&x| f64::from(x)))
                    .collect()
            };
            return (take(&idx[..self.n_a]), take(&idx[self.n_a..]));
        }
        (
            self.subsample(shape, self.n_a, rng),
            self.subsample(shape, self.n_b, rng),
        )
    }

    /// The next pair.
    pub fn pair(&self, rng: &mut impl Rng) -> Result<Pair> {
        let d = self.pool.dim;
        let kind = self.mix.draw(rng);
        let (a, b) = match kind {
            PairKind::DifferentShapes => {
                let i = rng.random_range(0..self.pool.n_items);
                let mut j = rng.random_range(0..self.pool.n_items - 1);
                if j >= i {
                    j += 1;
                }
                (
                    self.subsample(i, self.n_a, rng),
                    self.subsample(j, self.n_b, rng),
                )
            }
            PairKind::SameShapeResampled => {
                self.resampled(rng.random_range(0..self.pool.n_items), rng)
            }
            PairKind::PerturbedCopy => {
                let shape = rng.random_range(0..self.pool.n_items);
                // Half of the copies are resampled first, half are near-duplicates.
                let (a, mut b) = if rng.random_bool(0.5) {
                    self.resampled(shape, rng)
                } else {
                    // The smaller cloud is a subset of the larger (random order: a prefix).
                    let all = self.subsample(shape, self.n_a.max(self.n_b), rng);
                    (all[..self.n_a * d].to_vec(), all[..self.n_b * d].to_vec())
                };
                perturb(&mut b, d, rng);
                (a, b)
            }
            PairKind::RandomClouds => {
                let (a, b) = if rng.random_bool(0.5) {
                    (
                        uniform_cube(self.n_a, d, rng)?,
                        uniform_cube(self.n_b, d, rng)?,
                    )
                } else {
                    (gaussian(self.n_a, d, rng)?, gaussian(self.n_b, d, rng)?)
                };
                (a.into_flat(), b.into_flat())
            }
        };
        let a = shuffled(a, d, rng)?;
        let b = shuffled(b, d, rng)?;
        let norm = JointNormalization::fit(&a, &b)?;
        Ok(Pair {
            a: norm.apply(&a)?,
            b: norm.apply(&b)?,
            kind,
        })
    }
}

/// The cloud with its points in random order (the stored order carries no information).
fn shuffled(coords: Vec<f64>, dim: usize, rng: &mut impl Rng) -> Result<PointCloud> {
    let n = coords.len() / dim;
    let order = sample(rng, n, n).into_vec();
    let out = order
        .iter()
        .flat_map(|&i| coords[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    Ok(PointCloud::from_flat(dim, out)?)
}

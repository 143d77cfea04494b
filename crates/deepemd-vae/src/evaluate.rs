//! Reconstruction quality: each cloud through the VAE (mean latent, no noise), scored by the
//! exact EMD and the Chamfer distance to its input.

use candle_core::{Device, Tensor};
use deepemd_core::PointCloud;
use deepemd_metrics::{chamfer_distance, exact_emd};
use rayon::prelude::*;

use crate::data::{to_clouds, to_tensor};
use crate::error::{Error, Result};
use crate::network::PointVae;

/// Clouds decoded per forward pass in evaluation.
const EVAL_CHUNK: usize = 32;

/// Mean exact EMD and mean Chamfer distance of the reconstructions of `clouds`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReconstructionScore {
    /// Mean exact EMD (mean Euclidean distance over the optimal matching) to the input.
    pub emd: f64,
    /// Mean Chamfer distance (docs/math.md) to the input.
    pub chamfer: f64,
}

/// The reconstructions of `clouds` (each of the network's point count).
pub fn reconstruct(
    vae: &PointVae,
    clouds: &[PointCloud],
    device: &Device,
) -> Result<Vec<PointCloud>> {
    let mut out = Vec::with_capacity(clouds.len());
    for chunk in clouds.chunks(EVAL_CHUNK) {
        let x = to_tensor(chunk, device)?;
        out.extend(to_clouds(&vae.reconstruct(&x)?)?);
    }
    Ok(out)
}

/// The most clouds [`sample_prior`] draws in one call.
pub const MAX_SAMPLES: usize = 1_000_000;

/// The clouds decoded from `count` latents drawn from the prior N(0, I) (seeded; drawn and
/// decoded chunk by chunk, so memory holds the clouds and one chunk of latents).
pub fn sample_prior(
    vae: &PointVae,
    count: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<PointCloud>> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    if count > MAX_SAMPLES {
        return Err(Error::Config(format!(
            "{count} samples asked; at most {MAX_SAMPLES} per call"
        )));
    }
    let latent = vae.config().latent;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(count);
    for start in (0..count).step_by(EVAL_CHUNK) {
        let rows = EVAL_CHUNK.min(count - start);
        let z: Vec<f32> = (0..rows * latent)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let z = Tensor::from_vec(z, (rows, latent), device)?;
        out.extend(to_clouds(&vae.decode(&z)?)?);
    }
    Ok(out)
}

/// The score of reconstructing `clouds`: exact EMD and Chamfer, pairs in parallel.
pub fn reconstruction_score(
    vae: &PointVae,
    clouds: &[PointCloud],
    device: &Device,
) -> Result<ReconstructionScore> {
    let decoded = reconstruct(vae, clouds, device)?;
    let per_pair: Vec<(f64, f64)> = decoded
        .par_iter()
        .zip(clouds)
        .map(|(d, c)| Ok((exact_emd(d, c)?, chamfer_distance(d, c)?)))
        .collect::<Result<_>>()?;
    let n = per_pair.len().max(1) as f64;
    Ok(ReconstructionScore {
        emd: per_pair.iter().map(|p| p.0).sum::<f64>() / n,
        chamfer: per_pair.iter().map(|p| p.1).sum::<f64>() / n,
    })
}

//! The Chamfer distance as a differentiable candle expression, the VAE's Chamfer loss. The
//! convention (PointFlow's, docs/math.md) and the f64 reference are
//! `deepemd_metrics::chamfer_distance`'s.

use candle_core::{D, Tensor};

use crate::error::{Error, Result};

/// The Chamfer distance of each pair of a batch, differentiable: `x` `[B, N, D]`, `y`
/// `[B, M, D]` → `[B]`. The gradient flows through the nearest neighbours (each point pulled
/// toward its nearest point of the other cloud).
pub fn chamfer_batch(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (b, _, d) = x.dims3()?;
    let (b2, _, d2) = y.dims3()?;
    if b != b2 || d != d2 {
        return Err(Error::Shape(format!(
            "Chamfer of {:?} and {:?}: they need the same batch size and point dimension",
            x.dims(),
            y.dims()
        )));
    }
    // ‖x − y‖² = ‖x‖² + ‖y‖² − 2 x·y, clamped at zero against rounding.
    let xx = x.sqr()?.sum_keepdim(D::Minus1)?; // [B, N, 1]
    let yy = y.sqr()?.sum_keepdim(D::Minus1)?.transpose(1, 2)?; // [B, 1, M]
    let xy = x.matmul(&y.transpose(1, 2)?.contiguous()?)?; // [B, N, M]
    let dist = (xx.broadcast_add(&yy)? - (xy * 2.0)?)?.relu()?;
    let forward = dist.min(2)?.mean(1)?;
    let backward = dist.min(1)?.mean(1)?;
    Ok((forward + backward)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use deepemd_core::PointCloud;
    use deepemd_metrics::chamfer_distance;

    fn cloud(seed: u64, n: usize) -> PointCloud {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        deepemd_core::synthetic::gaussian(n, 3, &mut rng).unwrap()
    }

    #[test]
    fn the_batch_agrees_with_the_f64_reference() {
        let (x, y) = (cloud(1, 17), cloud(2, 23));
        let reference = chamfer_distance(&x, &y).unwrap();
        let tx = Tensor::from_vec(x.as_flat().to_vec(), (1, 17, 3), &Device::Cpu).unwrap();
        let ty = Tensor::from_vec(y.as_flat().to_vec(), (1, 23, 3), &Device::Cpu).unwrap();
        let batch = chamfer_batch(&tx, &ty).unwrap().to_vec1::<f64>().unwrap();
        assert!(
            (batch[0] - reference).abs() < 1e-12 * reference.max(1.0),
            "{batch:?} {reference}"
        );
        assert_eq!(chamfer_distance(&x, &x).unwrap(), 0.0);
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let (x, y) = (cloud(3, 9), cloud(4, 11));
        let var = Var::from_tensor(
            &Tensor::from_vec(x.as_flat().to_vec(), (1, 9, 3), &Device::Cpu).unwrap(),
        )
        .unwrap();
        let ty = Tensor::from_vec(y.as_flat().to_vec(), (1, 11, 3), &Device::Cpu).unwrap();
        let loss = chamfer_batch(var.as_tensor(), &ty)
            .unwrap()
            .sum_all()
            .unwrap();
        let grad = loss.backward().unwrap();
        let g = grad
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let h = 1e-6;
        for k in [0, 5, 13, 26] {
            let shifted = |delta: f64| {
                let mut c = x.as_flat().to_vec();
                c[k] += delta;
                chamfer_distance(&PointCloud::from_flat(3, c).unwrap(), &y).unwrap()
            };
            let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!(
                (numeric - g[k]).abs() < 1e-5,
                "coordinate {k}: {numeric} vs {}",
                g[k]
            );
        }
    }
}

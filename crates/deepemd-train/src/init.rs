//! Seeded weight initialization. candle cannot seed its CPU random generator, so fresh weights
//! are overwritten here from a ChaCha stream, parameter by parameter in name order; the same
//! seed gives the same network on every machine.

use candle_core::Tensor;
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::error::Result;

/// Standard deviation of the initial segment embedding.
const SEGMENT_INIT_STD: f32 = 1.0;

/// Linear layers: U(±1/√fan_in) for weight and bias (PyTorch's default); layer norms: weight 1,
/// bias 0; the segment embedding: N(0, 1).
pub fn init_weights(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .expect("the var map lock is not poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let shape = var.shape().clone();
        let count = shape.elem_count();
        let values: Vec<f32> = if name.contains("norm") {
            vec![if name.ends_with("weight") { 1.0 } else { 0.0 }; count]
        } else if name.ends_with("segment") {
            // As large as the coordinate embedding: a 0.02-scale segment vector is lost in the
            // first layer norm, the encoder cannot tell the clouds apart, and training stalls
            // at nearest-neighbour accuracy (measured: row accuracy 0.41 = nearest neighbour's
            // after 1600 steps, segment norm unchanged from its initial 0.3).
            let normal = Normal::new(0.0f32, SEGMENT_INIT_STD).expect("a valid deviation");
            (0..count).map(|_| normal.sample(&mut rng)).collect()
        } else {
            // The fan-in of a bias is that of its layer's weight, [out, in].
            let weight = name.strip_suffix("bias").map(|p| format!("{p}weight"));
            let fan_in = match weight.as_ref().and_then(|w| data.get(w)) {
                Some(w) => w.dims()[1],
                None => *shape.dims().last().unwrap_or(&1),
            };
            let bound = 1.0 / (fan_in as f32).sqrt();
            (0..count)
                .map(|_| rng.random_range(-bound..=bound))
                .collect()
        };
        var.set(&Tensor::from_vec(values, shape, var.device())?)?;
    }
    Ok(())
}

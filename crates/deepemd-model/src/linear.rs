//! A linear layer whose backward pass is all matrix products. candle-nn's `Linear` broadcasts
//! its weight over the batch and its bias over every row, and the backward pass of a broadcast
//! is a strided, single-threaded sum in candle's CPU backend: 8–9 % of a training step's time
//! at n = 512 (perf), for a few hundred floats of gradient. Here the leading dimensions are
//! flattened into rows, so the weight's gradient is one matrix product, and the bias enters as
//! the outer product `1 · biasᵀ`, so its gradient is the matrix product `1ᵀ · dY` (when the bias
//! is a variable being trained; a loaded bias is broadcast as usual).

use candle_core::{D, Module, Result, Tensor};
use candle_nn::VarBuilder;

/// `y = x Wᵀ + b` over the last dimension. Weights `weight` `[out, in]` and `bias` `[out]`
/// under the same names and initialization as candle-nn's, so saved models load unchanged.
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// With a bias.
    pub fn new(d_in: usize, d_out: usize, vb: VarBuilder) -> Result<Self> {
        let inner = candle_nn::linear(d_in, d_out, vb)?;
        Ok(Self {
            weight: inner.weight().clone(),
            bias: inner.bias().cloned(),
        })
    }

    /// Without a bias.
    pub fn no_bias(d_in: usize, d_out: usize, vb: VarBuilder) -> Result<Self> {
        let inner = candle_nn::linear_no_bias(d_in, d_out, vb)?;
        Ok(Self {
            weight: inner.weight().clone(),
            bias: None,
        })
    }
}

impl Module for Linear {
    /// # Shapes
    /// `x`: `[.., in]` → `[.., out]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (d_in, d_out) = (x.dim(D::Minus1)?, self.weight.dim(0)?);
        let rows = x.elem_count() / d_in.max(1);
        let mut out_shape = x.dims().to_vec();
        *out_shape.last_mut().expect("x has a last dimension") = d_out;
        let y = x.reshape((rows, d_in))?.matmul(&self.weight.t()?)?;
        let y = match &self.bias {
            None => y,
            // Loaded weights (inference): nothing to differentiate, and the broadcast add does
            // not materialize a rows × out bias term.
            Some(b) if !b.is_variable() => y.broadcast_add(b)?,
            Some(b) => {
                let ones = Tensor::ones((rows, 1), x.dtype(), x.device())?;
                (y + ones.matmul(&b.reshape((1, d_out))?)?)?
            }
        };
        y.reshape(out_shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu_slices::max_abs_diff;
    use candle_core::{DType, Device, Var};
    use candle_nn::VarMap;

    #[test]
    fn equals_candle_nn_linear_with_its_gradients() {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let ours = Linear::new(5, 7, vb.pp("l")).unwrap();
        let theirs = candle_nn::Linear::new(ours.weight.clone(), ours.bias.clone());
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 5), &dev).unwrap()).unwrap();
        let probe = Tensor::randn(0f32, 1.0, (2, 3, 7), &dev).unwrap();
        let run = |m: &dyn Module| {
            let y = m.forward(&x).unwrap();
            let g = (&y * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            (y, g)
        };
        let ((y1, g1), (y2, g2)) = (run(&ours), run(&theirs));
        let diff = max_abs_diff;
        assert_eq!(y1.dims(), &[2, 3, 7]);
        assert!(diff(&y1, &y2) < 1e-5);
        for (name, var) in varmap.data().lock().unwrap().iter() {
            let d = diff(g1.get(var).unwrap(), g2.get(var).unwrap());
            assert!(d < 1e-4, "{name}: {d}");
        }
        assert!(diff(g1.get(&x).unwrap(), g2.get(&x).unwrap()) < 1e-4);
        // Loaded (non-variable) weights take the broadcast path: same values.
        let loaded = Linear {
            weight: ours.weight.detach(),
            bias: ours.bias.as_ref().map(Tensor::detach),
        };
        assert!(!loaded.bias.as_ref().unwrap().is_variable());
        assert!(diff(&loaded.forward(&x).unwrap(), &y2) < 1e-5);
    }
}

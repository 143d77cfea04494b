//! # deepemd-loss
//!
//! The EMD as a loss for candle training loops, as geomloss's `SamplesLoss` is for PyTorch:
//! `EmdLoss::new(method).forward(&x, &y)` on batches `[B, N, D]` and `[B, M, D]` (D = 2 or 3)
//! returns a tensor whose backward pass gives the gradient with respect to **both** inputs.
//!
//! Every method of [`deepemd_methods`] can be the loss:
//!
//! | method | value | gradient | when to use it |
//! |---|---|---|---|
//! | `exact` | the exact EMD | exact (the optimal matching held fixed) | on a CPU: the fastest method here (0.117 s per pair at n = 1024, 0.413 s at 2048; the model's row argmax: 0.293 s and 1.05 s) |
//! | `hungarian` | the exact EMD | exact | a reference; O(n³) |
//! | `sinkhorn` | `⟨P_ε, C⟩`, +0.78 % at n = 128 | of `⟨P_ε, C⟩` (the plan held fixed) | smooth gradients; slow on CPU beyond 1024 points |
//! | `model/refined` | +1.07 % at n = 128, +3.04 % at 1024 | median cosine 0.8973 with the exact one at 128, 0.847 at 1024 | the learned estimate with the best gradients |
//! | `model/argmax` | −2.36 % at n = 128, −7.08 % at 1024 (can fall below the EMD) | median cosine 0.8331 at 128, 0.748 at 1024 | the paper's estimate; the worst gradients |
//!
//! (Figures from docs/results.md on the 2-core CPU of this project: held-out real shapes;
//! `cargo xtask check-readme` checks them against it.)
//!
//! The gradient of a fixed matching is the gradient of the EMD wherever the optimal matching is
//! unique (the envelope theorem); for Sinkhorn the plan is held fixed. Pairs are solved in
//! parallel on the CPU whatever the tensors' device; the gradient comes back on that device.
//!
//! Unequal sizes (`N ≠ M`) use the uniform convention of `docs/math.md` by default (optimal
//! transport between the uniform distributions, POT's `ot.emd2`: every point of both clouds is
//! used and gets a gradient) with `exact`, `sinkhorn` and `hungarian` (up to lcm(N, M) = 2048).
//! [`EmdLoss::unequal`]`(Unequal::Partial)` matches every point of the smaller cloud to a
//! distinct point of the larger one instead, the larger cloud's surplus left out; it works with
//! every method, and the model (`model/*`) estimates only that one.
//!
//! ## A training loop
//!
//! Fit a cloud to a target by gradient descent on the exact EMD:
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use deepemd_core::Method;
//! use deepemd_loss::{EmdLoss, Reduction};
//!
//! let device = Device::Cpu;
//! // Target: 32 points on a circle of radius 1; start: 32 points near the origin.
//! let target: Vec<f32> = (0..32)
//!     .flat_map(|k| {
//!         let t = k as f32 * std::f32::consts::TAU / 32.0;
//!         [t.cos(), t.sin()]
//!     })
//!     .collect();
//! let target = Tensor::from_vec(target, (1, 32, 2), &device)?;
//! let start: Vec<f32> = (0..64).map(|k| 0.01 * ((k * 37 % 17) as f32 - 8.0)).collect();
//! let x = Var::from_tensor(&Tensor::from_vec(start, (1, 32, 2), &device)?)?;
//!
//! let loss = EmdLoss::new(Method::Exact)?.reduction(Reduction::Mean);
//! let first = loss.forward(x.as_tensor(), &target)?.to_scalar::<f32>()?;
//! for step in 0..100 {
//!     let value = loss.forward(x.as_tensor(), &target)?;
//!     let grads = value.backward()?;
//!     let g = grads.get(x.as_tensor()).expect("x is a variable");
//!     // ∂EMD/∂x_i is a unit vector over n: a step of n·lr moves each point by lr toward its
//!     // match; lr decays so the points settle.
//!     let lr = 0.1 * (1.0 - step as f64 / 100.0);
//!     x.set(&(x.as_tensor() - (g * (32.0 * lr))?)?)?;
//! }
//! let last = loss.forward(x.as_tensor(), &target)?.to_scalar::<f32>()?;
//! assert!(last < 0.1 * first, "EMD {first} → {last}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod emd_loss;
mod error;

pub use emd_loss::{EmdLoss, Reduction};
pub use error::{Error, Result};

// What a caller names to build a loss, so that `deepemd-loss` alone is enough to depend on.
pub use deepemd_core::{Cost, Method, Unequal};
pub use deepemd_methods::{MethodSpec, ModelSource};

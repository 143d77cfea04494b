//! [`ReconstructionLoss`]: the five losses of the experiment behind one call.

use candle_core::Tensor;
use deepemd_loss::{EmdLoss, Reduction};
use deepemd_methods::ModelSource;

use crate::chamfer::chamfer_batch;
use crate::error::Result;
use crate::loss_kind::LossKind;

/// A reconstruction loss: `forward(decoded, target)` on `[B, n, 3]` batches is a scalar (the
/// mean over the batch) whose backward pass is that loss's gradient with respect to the decoded
/// points. EMD losses hold their matching (Sinkhorn: its plan) fixed and are solved pair by pair
/// in parallel on the CPU (`deepemd-loss`); Chamfer is a candle expression.
#[derive(Debug)]
pub struct ReconstructionLoss {
    kind: LossKind,
    emd: Option<EmdLoss>,
}

impl ReconstructionLoss {
    /// The loss `kind`; the model's weights and device come from `model` (DeepEMD losses only).
    pub fn new(kind: LossKind, model: &ModelSource) -> Result<Self> {
        let emd = match kind.method() {
            Some(method) => Some(EmdLoss::with_model(method, model)?.reduction(Reduction::Mean)),
            None => None,
        };
        Ok(Self { kind, emd })
    }

    /// Which loss.
    pub fn kind(&self) -> LossKind {
        self.kind
    }

    /// The loss between the decoded clouds and their targets (a scalar, mean over the batch).
    pub fn forward(&self, decoded: &Tensor, target: &Tensor) -> Result<Tensor> {
        match &self.emd {
            Some(emd) => Ok(emd.forward(decoded, target)?),
            None => Ok(chamfer_batch(decoded, target)?.mean_all()?),
        }
    }
}

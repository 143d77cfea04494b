//! Which kernels the network runs on the CPU: the fused ones (the default) or the reference
//! path of candle ops (kept for the parity tests and the benchmarks' comparison).

/// Whether the fused CPU kernels (attention and LayerNorm) are used at inference and in
/// training. Elsewhere (CUDA, other dtypes) the reference path runs whatever this says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FusedKernels {
    /// At inference (`train = false`).
    pub inference: bool,
    /// In training (`train = true`): the kernels' own backward passes.
    pub training: bool,
}

impl FusedKernels {
    /// Fused in both passes: the default.
    pub const ALL: Self = Self {
        inference: true,
        training: true,
    };
    /// The reference path of candle ops in both passes.
    pub const NONE: Self = Self {
        inference: false,
        training: false,
    };

    /// Whether the pass `train` selects uses the fused kernels.
    pub fn in_pass(self, train: bool) -> bool {
        if train { self.training } else { self.inference }
    }
}

impl Default for FusedKernels {
    fn default() -> Self {
        Self::ALL
    }
}

//! Named numerical tolerances, kept in one place so tests across the workspace agree on them.

/// Relative difference allowed between two exact solvers' optimal values (floating-point
/// summation order differs between them).
pub const EXACT_VALUE_REL: f64 = 1e-9;

/// Relative difference allowed between our metrics and scipy's on the same data.
pub const METRIC_VS_SCIPY: f64 = 1e-10;

/// Step of the central finite differences used to check gradients.
pub const FINITE_DIFFERENCE_STEP: f64 = 1e-6;

/// Absolute difference allowed between an analytic gradient component and its central finite
/// difference (truncation error is O(step²), rounding O(ε/step)).
pub const FINITE_DIFFERENCE_GRAD_ABS: f64 = 1e-6;

/// The dual certificate of an exact solver: `u_i + v_j ≤ c_ij + tol` with
/// `tol = DUAL_FEASIBILITY_REL · h^p`, `h` the half-extent of the pair's bounding box and `p`
/// the cost's homogeneity, i.e. an absolute `DUAL_FEASIBILITY_REL` in the pair's
/// [`crate::WorkingFrame`]. Potentials there are O(1), so this is ~10⁴ ulps: it absorbs the
/// rounding of the shortest-path updates and nothing else.
pub const DUAL_FEASIBILITY_REL: f64 = 1e-12;

/// How far below the exact optimum another method's feasible matching may come out: none can
/// beat the optimum, so this only absorbs the rounding of summing the same costs in another
/// order (relative).
pub const BELOW_OPTIMUM_REL: f64 = 1e-12;

/// Two f32 evaluation orders of the model (training vs inference path, fused vs reference
/// kernels, blocked vs whole): absolute difference allowed on logits of size ~1.
pub const F32_PATHS_ABS: f64 = 1e-4;

//! Learning rate: linear warm-up, then cosine decay to a floor.

/// The learning rate at `step` (0-based) of `total`.
pub fn learning_rate(step: usize, total: usize, peak: f64, warmup: usize, min_ratio: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let t = ((step - warmup) as f64 / span).min(1.0);
    let floor = peak * min_ratio;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_the_floor() {
        assert!((learning_rate(0, 100, 1.0, 10, 0.1) - 0.1).abs() < 1e-12);
        assert!((learning_rate(9, 100, 1.0, 10, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(10, 100, 1.0, 10, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(100, 100, 1.0, 10, 0.1) - 0.1).abs() < 1e-12);
        assert!(learning_rate(50, 100, 1.0, 10, 0.1) < learning_rate(30, 100, 1.0, 10, 0.1));
    }
}

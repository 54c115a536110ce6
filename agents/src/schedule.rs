//! Linear schedules for learning rate, clip range and exploration rate (SB3's `get_linear_fn` and
//! CleanRL's `linear_schedule`).

/// Linear interpolation from `start` (at `progress` 0) to `end` (at `progress >= fraction`), constant
/// after. `progress` is the share of the training budget already used, in `[0, 1]`.
pub fn linear(start: f64, end: f64, fraction: f64, progress: f64) -> f64 {
    if fraction <= 0.0 || progress >= fraction {
        return end;
    }
    start + (end - start) * (progress.max(0.0) / fraction)
}

#[cfg(test)]
mod tests {
    use super::linear;

    #[test]
    fn linear_schedule_hits_start_middle_end_and_stays() {
        assert_eq!(linear(1.0, 0.04, 0.16, 0.0), 1.0);
        assert!((linear(1.0, 0.04, 0.16, 0.08) - 0.52).abs() < 1e-12);
        assert_eq!(linear(1.0, 0.04, 0.16, 0.5), 0.04);
        assert!((linear(1e-3, 0.0, 1.0, 0.25) - 7.5e-4).abs() < 1e-15);
    }
}

//! `BoxSpace`: `f32` vectors with per-dimension bounds, infinite bounds allowed
//! (Gymnasium `spaces/box.py`; the file is `boxed.rs` because `box` is a Rust keyword).

use rand_distr::{Distribution, Exp1, StandardNormal};

/// Vectors `x` with `low[i] <= x[i] <= high[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxSpace {
    /// Lower bounds (may be `-inf`).
    pub low: Vec<f32>,
    /// Upper bounds (may be `+inf`).
    pub high: Vec<f32>,
}

impl BoxSpace {
    /// A box with the given bounds.
    pub fn new(low: Vec<f32>, high: Vec<f32>) -> Self {
        Self { low, high }
    }

    /// The box `[low, high]^dim`.
    pub fn uniform(dim: usize, low: f32, high: f32) -> Self {
        Self {
            low: vec![low; dim],
            high: vec![high; dim],
        }
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.low.len()
    }

    /// A random element, drawn as Gymnasium's `Box.sample` does: uniform on a bounded interval,
    /// `low + Exp(1)` when only bounded below, `high - Exp(1)` when only bounded above, `N(0, 1)`
    /// when unbounded.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Vec<f32> {
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&lo, &hi)| {
                let (lo, hi) = (f64::from(lo), f64::from(hi));
                let x = match (lo.is_finite(), hi.is_finite()) {
                    (true, true) if hi > lo => rng.random_range(lo..=hi),
                    (true, true) => lo,
                    (true, false) => lo + Distribution::<f64>::sample(&Exp1, rng),
                    (false, true) => hi - Distribution::<f64>::sample(&Exp1, rng),
                    (false, false) => Distribution::<f64>::sample(&StandardNormal, rng),
                };
                // f64 -> f32 rounding could step just outside a bound: clamp back in.
                (x as f32).clamp(lo as f32, hi as f32)
            })
            .collect()
    }

    /// Right length and every element within its bounds (NaN is never contained).
    pub fn contains(&self, x: &[f32]) -> bool {
        x.len() == self.low.len()
            && x.iter()
                .zip(self.low.iter().zip(&self.high))
                .all(|(&v, (&lo, &hi))| v >= lo && v <= hi)
    }

    /// Lengths match, no NaN bound, `low <= high`; the reason if not.
    pub fn validate(&self) -> Result<(), String> {
        if self.low.len() != self.high.len() {
            return Err(format!(
                "Box low has {} entries and high has {}: expected equal lengths",
                self.low.len(),
                self.high.len()
            ));
        }
        for (i, (&lo, &hi)) in self.low.iter().zip(&self.high).enumerate() {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(format!(
                    "Box bounds at index {i} are [{lo}, {hi}]: expected low <= high, no NaN"
                ));
            }
        }
        Ok(())
    }
}

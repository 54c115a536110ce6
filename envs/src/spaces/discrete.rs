//! `Discrete`: the integers `start..start + n` (Gymnasium `spaces/discrete.py`).

/// The integers `{start, .., start + n - 1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discrete {
    /// Number of elements (must be positive).
    pub n: usize,
    /// Smallest element (Gymnasium's `start`, 0 for action spaces).
    pub start: usize,
}

impl Discrete {
    /// `Discrete(n)` starting at 0.
    pub fn new(n: usize) -> Self {
        Self { n, start: 0 }
    }

    /// A uniform element.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.start + rng.random_range(0..self.n.max(1))
    }

    /// Is `x` in `start..start + n`?
    pub fn contains(&self, x: usize) -> bool {
        x >= self.start && x - self.start < self.n
    }

    /// Non-empty? The reason if not.
    pub fn validate(&self) -> Result<(), String> {
        if self.n == 0 {
            Err("Discrete space has n = 0: expected n >= 1".into())
        } else {
            Ok(())
        }
    }
}

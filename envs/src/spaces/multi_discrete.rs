//! `MultiDiscrete`: a vector of independent choices, element `i` in `0..nvec[i]`
//! (Gymnasium `spaces/multi_discrete.py`, with `start` = 0).

/// Vectors `x` with `x[i] in 0..nvec[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiDiscrete {
    /// Number of choices per position (each must be positive).
    pub nvec: Vec<usize>,
}

impl MultiDiscrete {
    /// A space with the given sizes.
    pub fn new(nvec: Vec<usize>) -> Self {
        Self { nvec }
    }

    /// A uniform element.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Vec<usize> {
        self.nvec
            .iter()
            .map(|&n| rng.random_range(0..n.max(1)))
            .collect()
    }

    /// Same length and every element in range?
    pub fn contains(&self, x: &[usize]) -> bool {
        x.len() == self.nvec.len() && x.iter().zip(&self.nvec).all(|(&v, &n)| v < n)
    }

    /// Every size positive? The reason if not.
    pub fn validate(&self) -> Result<(), String> {
        match self.nvec.iter().position(|&n| n == 0) {
            Some(i) => Err(format!(
                "MultiDiscrete nvec[{i}] = 0: expected every entry >= 1"
            )),
            None => Ok(()),
        }
    }
}

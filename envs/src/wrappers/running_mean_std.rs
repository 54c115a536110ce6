//! [`RunningMeanStd`]: per-dimension running mean and variance, merged batch by batch with Chan et
//! al.'s parallel algorithm, exactly as Gymnasium's `wrappers/utils.py` `RunningMeanStd` /
//! `update_mean_var_count_from_moments` (initial mean 0, var 1, count 1e-4).
//! <https://en.wikipedia.org/wiki/Algorithms_for_calculating_variance#Parallel_algorithm>

/// Gymnasium's initial pseudo-count (`RunningMeanStd(epsilon=1e-4)`).
pub const INITIAL_COUNT: f64 = 1e-4;

/// Running mean, variance and count of vectors of a fixed dimension, in `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningMeanStd {
    /// Per-dimension mean.
    pub mean: Vec<f64>,
    /// Per-dimension (population) variance.
    pub var: Vec<f64>,
    /// Number of samples seen, plus [`INITIAL_COUNT`].
    pub count: f64,
}

impl RunningMeanStd {
    /// Statistics of dimension `dim`: mean 0, var 1, count 1e-4 (Gymnasium's start).
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: INITIAL_COUNT,
        }
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Merges a batch of `batch.len() / dim` row-major samples (Gymnasium `update(x)`: batch mean and
    /// population variance along axis 0, then `update_from_moments`). An empty batch changes nothing.
    pub fn update_batch(&mut self, batch: &[f32]) {
        let dim = self.dim();
        if dim == 0 || batch.len() < dim {
            return;
        }
        let n = batch.len() / dim;
        let rows = || batch.chunks_exact(dim);
        let mut batch_mean = vec![0.0f64; dim];
        for row in rows() {
            for (m, &x) in batch_mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        batch_mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut batch_var = vec![0.0f64; dim];
        for row in rows() {
            for ((v, &x), m) in batch_var.iter_mut().zip(row).zip(&batch_mean) {
                *v += (f64::from(x) - m).powi(2);
            }
        }
        batch_var.iter_mut().for_each(|v| *v /= n as f64);
        self.update_from_moments(&batch_mean, &batch_var, n as f64);
    }

    /// Merges a batch summarised by its mean, variance and count (Gymnasium
    /// `update_mean_var_count_from_moments`).
    pub fn update_from_moments(&mut self, batch_mean: &[f64], batch_var: &[f64], batch_count: f64) {
        let tot_count = self.count + batch_count;
        for i in 0..self.dim() {
            let delta = batch_mean[i] - self.mean[i];
            let m_a = self.var[i] * self.count;
            let m_b = batch_var[i] * batch_count;
            let m2 = m_a + m_b + delta * delta * self.count * batch_count / tot_count;
            self.mean[i] += delta * batch_count / tot_count;
            self.var[i] = m2 / tot_count;
        }
        self.count = tot_count;
    }

    /// `(x - mean) / sqrt(var + epsilon)` for each dimension of one sample.
    pub fn normalize(&self, x: &[f32], epsilon: f64) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.var))
            .map(|(&v, (m, var))| ((f64::from(v) - m) / (var + epsilon).sqrt()) as f32)
            .collect()
    }

    /// The statistics as plain numbers, `[count, mean.., var..]` (length `1 + 2 * dim`), for a policy
    /// file.
    pub fn to_vec(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(1 + 2 * self.dim());
        v.push(self.count);
        v.extend(&self.mean);
        v.extend(&self.var);
        v
    }

    /// Reads statistics written by [`Self::to_vec`] for dimension `dim`; the reason if malformed.
    pub fn from_slice(dim: usize, v: &[f64]) -> Result<Self, String> {
        if v.len() != 1 + 2 * dim {
            return Err(format!(
                "{} numbers: expected 1 + 2 * {dim} = {} ([count, mean.., var..])",
                v.len(),
                1 + 2 * dim
            ));
        }
        let (count, mean, var) = (v[0], &v[1..1 + dim], &v[1 + dim..]);
        if !(count.is_finite() && count > 0.0) {
            return Err(format!("count {count}: expected a finite positive number"));
        }
        if let Some(i) = mean.iter().position(|m| !m.is_finite()) {
            return Err(format!("mean[{i}] = {}: expected a finite number", mean[i]));
        }
        if let Some(i) = var.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(format!(
                "var[{i}] = {}: expected a finite number >= 0",
                var[i]
            ));
        }
        Ok(Self {
            mean: mean.to_vec(),
            var: var.to_vec(),
            count,
        })
    }
}

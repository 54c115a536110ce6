//! Seeded weight initialisation. candle's CPU generator cannot be seeded (CRATES.md), so every initial
//! weight is drawn here from the run's own ChaCha8 stream.
//!
//! - [`orthogonal`]: PyTorch's `nn.init.orthogonal_` (QR of a standard-normal matrix, signs fixed by the
//!   diagonal of R), the scheme CleanRL's `layer_init` and SB3's `ortho_init` use for actor-critic
//!   networks: gain sqrt(2) on hidden layers, 0.01 on the policy head, 1 on the value head; biases 0.
//! - [`torch_default`]: PyTorch's default `nn.Linear` init (`kaiming_uniform_(a=sqrt(5))`, i.e.
//!   U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), which SB3's DQN keeps.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use super::{Dense, MlpParams, MlpSpec};

/// How to initialise the layers of an MLP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InitScheme {
    /// Orthogonal weights with `hidden_gain` on hidden layers and `output_gain` on the output layer;
    /// zero biases (CleanRL `layer_init`).
    Orthogonal {
        /// Gain of the hidden layers (sqrt(2) in CleanRL/SB3).
        hidden_gain: f64,
        /// Gain of the output layer (0.01 policy head, 1.0 value head).
        output_gain: f64,
    },
    /// PyTorch's default `nn.Linear` initialisation.
    TorchDefault,
}

/// New parameters for `spec`, drawn from `rng`.
pub fn init_mlp(spec: &MlpSpec, scheme: InitScheme, rng: &mut impl Rng) -> MlpParams {
    let dims = spec.layer_dims();
    let last = dims.len() - 1;
    let layers = dims
        .into_iter()
        .enumerate()
        .map(|(i, (fan_in, fan_out))| match scheme {
            InitScheme::Orthogonal {
                hidden_gain,
                output_gain,
            } => {
                let gain = if i == last { output_gain } else { hidden_gain };
                Dense {
                    fan_in,
                    fan_out,
                    weight: orthogonal(fan_out, fan_in, gain, rng),
                    bias: vec![0.0; fan_out],
                }
            }
            InitScheme::TorchDefault => {
                let (weight, bias) = torch_default(fan_out, fan_in, rng);
                Dense {
                    fan_in,
                    fan_out,
                    weight,
                    bias,
                }
            }
        })
        .collect();
    MlpParams {
        spec: spec.clone(),
        layers,
    }
}

/// A `rows x cols` row-major matrix with orthonormal rows (if rows <= cols) or columns (otherwise),
/// scaled by `gain`. Follows `torch.nn.init.orthogonal_`: QR of a normal matrix, Q's columns multiplied
/// by the sign of R's diagonal so the result is uniformly (Haar) distributed.
pub fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut impl Rng) -> Vec<f32> {
    // Work on the tall orientation (n x k with n >= k), as PyTorch transposes when rows < cols.
    let (n, k) = if rows < cols {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let mut a: Vec<f64> = (0..n * k).map(|_| StandardNormal.sample(rng)).collect();
    // Modified Gram-Schmidt on the k columns of the n x k column-major matrix `a`: gives the thin Q
    // with R's diagonal positive, which equals PyTorch's sign-corrected Q.
    for j in 0..k {
        for p in 0..j {
            let dot: f64 = (0..n).map(|r| a[p * n + r] * a[j * n + r]).sum();
            for r in 0..n {
                a[j * n + r] -= dot * a[p * n + r];
            }
        }
        let norm = (0..n)
            .map(|r| a[j * n + r] * a[j * n + r])
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        for r in 0..n {
            a[j * n + r] /= norm;
        }
    }
    // a holds Q column-major (n x k). Output rows x cols row-major.
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let q = if rows < cols {
                a[r * n + c]
            } else {
                a[c * n + r]
            };
            out[r * cols + c] = (gain * q) as f32;
        }
    }
    out
}

/// PyTorch's default `nn.Linear` init: weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn torch_default(fan_out: usize, fan_in: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    let dist = Uniform::new_inclusive(-bound, bound).expect("bound is finite and positive");
    let weight = (0..fan_out * fan_in).map(|_| dist.sample(rng)).collect();
    let bias = (0..fan_out).map(|_| dist.sample(rng)).collect();
    (weight, bias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn gram(m: &[f32], rows: usize, cols: usize, by_rows: bool) -> Vec<f64> {
        let (count, len) = if by_rows { (rows, cols) } else { (cols, rows) };
        let at = |v: usize, i: usize| if by_rows { m[v * cols + i] } else { m[i * cols + v] } as f64;
        let mut g = vec![0.0; count * count];
        for x in 0..count {
            for y in 0..count {
                g[x * count + y] = (0..len).map(|i| at(x, i) * at(y, i)).sum();
            }
        }
        g
    }

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal_times_gain() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for &(rows, cols, by_rows) in &[(4, 64, true), (64, 4, false), (64, 64, true)] {
            let gain = 2f64.sqrt();
            let w = orthogonal(rows, cols, gain, &mut rng);
            let g = gram(&w, rows, cols, by_rows);
            let count = if by_rows { rows } else { cols };
            for x in 0..count {
                for y in 0..count {
                    let want = if x == y { gain * gain } else { 0.0 };
                    assert!(
                        (g[x * count + y] - want).abs() < 1e-4,
                        "{rows}x{cols} gram[{x},{y}]"
                    );
                }
            }
        }
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let spec = MlpSpec {
            input: 4,
            hidden: vec![8],
            output: 2,
            activation: super::super::Activation::Tanh,
        };
        let scheme = InitScheme::Orthogonal {
            hidden_gain: 1.0,
            output_gain: 1.0,
        };
        let a = init_mlp(&spec, scheme, &mut ChaCha8Rng::seed_from_u64(1));
        let b = init_mlp(&spec, scheme, &mut ChaCha8Rng::seed_from_u64(1));
        let c = init_mlp(&spec, scheme, &mut ChaCha8Rng::seed_from_u64(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn torch_default_stays_within_bound() {
        let (w, b) = torch_default(16, 9, &mut ChaCha8Rng::seed_from_u64(5));
        assert!(w.iter().chain(&b).all(|x| x.abs() <= 1.0 / 3.0));
        assert!(w.iter().any(|x| x.abs() > 0.1));
    }
}

//! Neural networks for vector observations: the parameter store ([`MlpParams`], plain `Vec<f32>`s that
//! are the single source of truth), seeded initialisation ([`init`]), a plain-matrix forward path for
//! rollouts ([`plain`]) and the candle-nn forward used for gradients ([`candle_mlp`]).
//!
//! ```text
//!   seeded ChaCha8 ──init──▶ MlpParams ──plain::forward──▶ actions during rollouts (batch = num_envs)
//!                              │   ▲
//!                 candle_mlp   ▼   │  Adam (optim.rs) on the gradients
//!                         candle Vars ──loss.backward()──▶ GradStore
//! ```

pub mod candle_mlp;
pub mod entity;
pub mod entity_candle;
pub mod fast_tanh;
pub mod init;
pub mod mlp_grad;
pub mod plain;

use serde::{Deserialize, Serialize};

/// Hidden-layer non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Hyperbolic tangent (SB3's default for PPO's `MlpPolicy`), computed by [`fast_tanh::tanh`].
    Tanh,
    /// Rectified linear unit (SB3's default for DQN's `MlpPolicy`).
    Relu,
}

/// The shape of a fully connected network: `input -> hidden[0] -> ... -> output`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlpSpec {
    /// Input width (observation length).
    pub input: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Output width.
    pub output: usize,
    /// Non-linearity after each hidden layer (none after the output layer).
    pub activation: Activation,
}

impl MlpSpec {
    /// `(fan_in, fan_out)` of each layer, input to output.
    pub fn layer_dims(&self) -> Vec<(usize, usize)> {
        let mut widths = Vec::with_capacity(self.hidden.len() + 2);
        widths.push(self.input);
        widths.extend(&self.hidden);
        widths.push(self.output);
        widths.windows(2).map(|w| (w[0], w[1])).collect()
    }
}

/// One dense layer: `y = W x + b`, `W` stored row-major as `out x in` (PyTorch's `nn.Linear` layout).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Input width.
    pub fan_in: usize,
    /// Output width.
    pub fan_out: usize,
    /// Weights, `fan_out x fan_in`, row-major.
    pub weight: Vec<f32>,
    /// Biases, `fan_out`.
    pub bias: Vec<f32>,
}

/// The parameters of an MLP, layer by layer.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpParams {
    /// The shape these parameters fill.
    pub spec: MlpSpec,
    /// Layers, input to output.
    pub layers: Vec<Dense>,
}

impl MlpParams {
    /// All-zero parameters of the given shape (used for optimizer moments).
    pub fn zeros(spec: &MlpSpec) -> Self {
        let layers = spec
            .layer_dims()
            .into_iter()
            .map(|(fan_in, fan_out)| Dense {
                fan_in,
                fan_out,
                weight: vec![0.0; fan_in * fan_out],
                bias: vec![0.0; fan_out],
            })
            .collect();
        Self {
            spec: spec.clone(),
            layers,
        }
    }

    /// Flat views of every parameter tensor, in the fixed order `w0, b0, w1, b1, ...`.
    pub fn tensors(&self) -> Vec<&[f32]> {
        self.layers
            .iter()
            .flat_map(|l| [l.weight.as_slice(), l.bias.as_slice()])
            .collect()
    }

    /// Mutable flat views, same order as [`MlpParams::tensors`].
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        self.layers
            .iter_mut()
            .flat_map(|l| [l.weight.as_mut_slice(), l.bias.as_mut_slice()])
            .collect()
    }

    /// Names and shapes of the tensors, same order as [`MlpParams::tensors`]: `layers.{i}.weight` is
    /// `[fan_out, fan_in]`, `layers.{i}.bias` is `[fan_out]`.
    pub fn tensor_names_and_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                [
                    (format!("layers.{i}.weight"), vec![l.fan_out, l.fan_in]),
                    (format!("layers.{i}.bias"), vec![l.fan_out]),
                ]
            })
            .collect()
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weight.len() + l.bias.len())
            .sum()
    }
}

//! The candle-nn forward pass, used where gradients are needed. Parameters come from [`MlpParams`]
//! (loaded with `Var::from_slice`, never drawn by candle's unseedable generator); layers are
//! `candle_nn::Linear` (weights only) over those variables.
//!
//! The bias is added as `ones(batch, 1) @ b(1, out)` rather than by `broadcast_add`: the result is the
//! same, but its gradient is then a matrix product (gemm) instead of candle's strided sum over the batch
//! dimension, which profiling showed at about 16 % of a PPO update.

use candle_core::{Device, Tensor, Var};
use candle_nn::Module;

use super::{Activation, MlpParams};

/// An MLP whose parameters are candle variables, so a loss built on its output can be differentiated.
#[derive(Debug)]
pub struct CandleMlp {
    vars: Vec<Var>,
    layers: Vec<(candle_nn::Linear, Tensor)>,
    activation: Activation,
}

impl CandleMlp {
    /// Variables holding a copy of `params` (order `w0, b0, w1, b1, ...`).
    pub fn from_params(params: &MlpParams, device: &Device) -> candle_core::Result<Self> {
        let mut vars = Vec::with_capacity(2 * params.layers.len());
        let mut layers = Vec::with_capacity(params.layers.len());
        for l in &params.layers {
            let w = Var::from_slice(&l.weight, (l.fan_out, l.fan_in), device)?;
            let b = Var::from_slice(&l.bias, (1, l.fan_out), device)?;
            let linear = candle_nn::Linear::new(w.as_tensor().clone(), None);
            layers.push((linear, b.as_tensor().clone()));
            vars.push(w);
            vars.push(b);
        }
        Ok(Self {
            vars,
            layers,
            activation: params.spec.activation,
        })
    }

    /// The variables, in the order of [`MlpParams::tensors`].
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Forward a `batch x input` tensor to `batch x output`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let last = self.layers.len() - 1;
        let ones = Tensor::ones((x.dim(0)?, 1), x.dtype(), x.device())?;
        let mut h = x.clone();
        for (i, (layer, bias)) in self.layers.iter().enumerate() {
            h = (layer.forward(&h)? + ones.matmul(bias)?)?;
            if i != last {
                h = match self.activation {
                    Activation::Tanh => h.apply_op1(super::fast_tanh::FastTanh)?,
                    Activation::Relu => h.relu()?,
                };
            }
        }
        Ok(h)
    }

    /// Gradients of each variable as flat vectors (zeros where a variable got none), in
    /// [`MlpParams::tensors`] order.
    pub fn flat_grads(
        &self,
        grads: &candle_core::backprop::GradStore,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        self.vars
            .iter()
            .map(|v| match grads.get(v.as_tensor()) {
                Some(g) => g.flatten_all()?.to_vec1::<f32>(),
                None => Ok(vec![0.0; v.elem_count()]),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::init::{InitScheme, init_mlp};
    use super::super::{MlpSpec, plain};
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn plain_forward_equals_candle_forward() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for activation in [Activation::Tanh, Activation::Relu] {
            let spec = MlpSpec {
                input: 4,
                hidden: vec![64, 64],
                output: 3,
                activation,
            };
            let scheme = InitScheme::Orthogonal {
                hidden_gain: 2f64.sqrt(),
                output_gain: 1.0,
            };
            let params = init_mlp(&spec, scheme, &mut rng);
            let batch = 8;
            let input: Vec<f32> = (0..batch * 4)
                .map(|_| rng.random_range(-3.0..3.0))
                .collect();
            let want = plain::forward(&params, &input);
            let net = CandleMlp::from_params(&params, &Device::Cpu).unwrap();
            let x = Tensor::from_slice(&input, (batch, 4), &Device::Cpu).unwrap();
            let got = net
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5,
                    "{activation:?}: candle {g} vs plain {w}"
                );
            }
        }
    }
}

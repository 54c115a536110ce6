//! Training the predictor with candle: weighted binary cross-entropy on logits (positives
//! weighted by the negative/positive ratio, since incidents are rare), AdamW (Loshchilov & Hutter
//! 2019; candle_nn::AdamW), minibatches shuffled by our seeded ChaCha8 stream. Same seed and data
//! give the same parameters.

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::PredictorError;
use super::model::PredictorModel;

/// Training hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Weight of a positive sample relative to a negative one; `None`: negatives / positives.
    pub pos_weight: Option<f64>,
    /// Seed of the minibatch shuffle.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 8,
            batch_size: 128,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            pos_weight: None,
            seed: 0,
        }
    }
}

/// Trains `model` in place on `inputs` (`n x spec.input`, raw) and `labels` (0 or 1); returns
/// the mean loss of the last epoch.
pub fn train(
    model: &mut PredictorModel,
    inputs: &[f32],
    labels: &[f32],
    config: &TrainConfig,
) -> Result<f32, PredictorError> {
    let dim = model.spec.input;
    let n = labels.len();
    if inputs.len() != n * dim {
        return Err(PredictorError::Shape {
            field: "inputs",
            expected: n * dim,
            found: inputs.len(),
        });
    }
    if config.batch_size == 0 || config.learning_rate.is_nan() || config.learning_rate <= 0.0 {
        return Err(PredictorError::InvalidConfig {
            field: "batch_size/learning_rate",
            value: format!("{}/{}", config.batch_size, config.learning_rate),
            expected: "a batch size >= 1 and a learning rate > 0",
        });
    }
    if n == 0 {
        return Ok(0.0);
    }
    let positives = labels.iter().filter(|&&y| y > 0.5).count();
    let pos_weight = config.pos_weight.unwrap_or(if positives > 0 {
        ((n - positives) as f64 / positives as f64).max(1.0)
    } else {
        1.0
    }) as f32;
    let device = Device::Cpu;
    let (h, i) = (model.spec.hidden, model.spec.input);
    let (w1, b1, w2, b2) = model.split();
    let w1 = Var::from_slice(w1, (h, i), &device)?;
    let b1 = Var::from_slice(b1, (1, h), &device)?;
    let w2 = Var::from_slice(w2, (h, 1), &device)?;
    let b2 = Var::from_slice(&[b2], (1, 1), &device)?;
    let mut opt = AdamW::new(
        vec![w1.clone(), b1.clone(), w2.clone(), b2.clone()],
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..Default::default()
        },
    )?;
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut xb = Vec::new();
    let mut scaled = Vec::new();
    let mut yb = Vec::new();
    let mut wb = Vec::new();
    let mut last_loss = 0.0;
    for _ in 0..config.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(config.batch_size) {
            xb.clear();
            yb.clear();
            wb.clear();
            for &k in chunk {
                model.scale_into(&inputs[k * dim..(k + 1) * dim], &mut scaled);
                xb.extend_from_slice(&scaled);
                let y = labels[k];
                yb.push(y);
                wb.push(if y > 0.5 { pos_weight } else { 1.0 });
            }
            let b = chunk.len();
            let x = Tensor::from_slice(&xb, (b, i), &device)?;
            let y = Tensor::from_slice(&yb, (b, 1), &device)?;
            let w = Tensor::from_slice(&wb, (b, 1), &device)?;
            let ones = Tensor::ones((b, 1), candle_core::DType::F32, &device)?;
            let hidden =
                (x.matmul(&w1.as_tensor().t()?)? + ones.matmul(b1.as_tensor())?)?.tanh()?;
            let z = (hidden.matmul(w2.as_tensor())? + ones.matmul(b2.as_tensor())?)?;
            // Stable BCE with logits: max(z, 0) - z * y + log(1 + exp(-|z|)).
            let softplus = (z.relu()? + ((z.abs()?.neg()?.exp()? + 1.0)?.log()?))?;
            let loss = ((softplus - (&z * &y)?)? * &w)?.sum_all()?;
            let loss = (loss / wb.iter().sum::<f32>() as f64)?;
            opt.backward_step(&loss)?;
            total += loss.to_scalar::<f32>()? * b as f32;
        }
        last_loss = total / n as f32;
    }
    let mut params = Vec::with_capacity(model.params.len());
    // Same layout as the model's: w1 (hidden x input) row-major, then b1, w2, b2.
    params.extend(w1.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    params.extend(b1.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    params.extend(w2.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    params.extend(b2.as_tensor().flatten_all()?.to_vec1::<f32>()?);
    model.params = params;
    Ok(last_loss)
}

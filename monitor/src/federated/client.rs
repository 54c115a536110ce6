//! A federated client: its local samples (private: no accessor returns them) and how it behaves.

use serde::Serialize;

use crate::predictor::{PredictorError, PredictorModel, TrainConfig, train};

/// How a client behaves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Behaviour {
    /// Trains on its data and reports the true update.
    Honest,
    /// Poisoned data: every label flipped before local training.
    LabelFlip,
    /// Poisoned update: the true update multiplied by this factor (model replacement).
    ScaledUpdate(f32),
}

/// The local data set; private to this module, so no caller can read it back.
#[derive(Debug)]
struct LocalData {
    inputs: Vec<f32>,
    labels: Vec<f32>,
}

/// What a client hands to the server: a parameter delta and its sample count (the FedAvg weight).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelUpdate {
    /// `local params - global params`.
    pub delta: Vec<f32>,
    /// Local samples used (FedAvg weights by it).
    pub samples: usize,
}

impl ModelUpdate {
    /// Bytes on the wire: 4 per f32 parameter plus an 8-byte count.
    pub fn wire_bytes(&self) -> usize {
        4 * self.delta.len() + 8
    }
}

/// One federated client.
#[derive(Debug)]
pub struct Client {
    /// Name (e.g. the provider).
    pub name: String,
    /// Behaviour (honest or poisoned).
    pub behaviour: Behaviour,
    data: LocalData,
}

impl Client {
    /// A client holding `inputs` (`n x input`, raw) and `labels`; the data never leaves it.
    pub fn new(
        name: impl Into<String>,
        inputs: Vec<f32>,
        labels: Vec<f32>,
        behaviour: Behaviour,
    ) -> Self {
        let labels = match behaviour {
            Behaviour::LabelFlip => labels.iter().map(|y| 1.0 - y).collect(),
            _ => labels,
        };
        Client {
            name: name.into(),
            behaviour,
            data: LocalData { inputs, labels },
        }
    }

    /// Number of local samples.
    pub fn sample_count(&self) -> usize {
        self.data.labels.len()
    }

    /// Trains a copy of `global` on the local data and returns the update.
    pub fn local_update(
        &self,
        global: &PredictorModel,
        config: &TrainConfig,
    ) -> Result<ModelUpdate, PredictorError> {
        let mut local = global.clone();
        train(&mut local, &self.data.inputs, &self.data.labels, config)?;
        let scale = match self.behaviour {
            Behaviour::ScaledUpdate(f) => f,
            _ => 1.0,
        };
        Ok(ModelUpdate {
            delta: local
                .params
                .iter()
                .zip(&global.params)
                .map(|(l, g)| scale * (l - g))
                .collect(),
            samples: self.sample_count(),
        })
    }

    /// Trains `model` on the local data only (the local-only comparison).
    pub fn train_local_only(
        &self,
        model: &mut PredictorModel,
        config: &TrainConfig,
    ) -> Result<f32, PredictorError> {
        train(model, &self.data.inputs, &self.data.labels, config)
    }
}

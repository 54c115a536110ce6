//! The federated loop: every round, each client trains from the global model and returns an
//! update; the server aggregates them and applies the result. Clients run one after another in
//! a fixed order, so a run is deterministic for its seed.

use serde::Serialize;

use super::aggregate::Aggregator;
use super::client::Client;
use crate::predictor::{PredictorError, PredictorModel, TrainConfig};

/// Federated training parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FederatedConfig {
    /// Communication rounds.
    pub rounds: usize,
    /// Local training per round (its `epochs` are local epochs; its seed is offset per round
    /// and client).
    pub local: TrainConfig,
    /// Aggregation rule.
    pub aggregator: Aggregator,
}

/// Result of [`federated_train`].
#[derive(Debug, Clone)]
pub struct FederatedRun {
    /// The final global model.
    pub model: PredictorModel,
    /// Bytes per round: the global model sent to every client plus every update sent back.
    pub bytes_per_round: usize,
}

/// Trains `initial` across `clients` for `config.rounds` rounds.
pub fn federated_train(
    clients: &[Client],
    initial: PredictorModel,
    config: &FederatedConfig,
) -> Result<FederatedRun, PredictorError> {
    let mut global = initial;
    let mut bytes_per_round = 0;
    for round in 0..config.rounds {
        let mut updates = Vec::with_capacity(clients.len());
        for (c, client) in clients.iter().enumerate() {
            let local = TrainConfig {
                seed: config
                    .local
                    .seed
                    .wrapping_add((round * clients.len() + c) as u64 + 1),
                ..config.local
            };
            updates.push(client.local_update(&global, &local)?);
        }
        bytes_per_round = clients.len() * 4 * global.params.len()
            + updates.iter().map(|u| u.wire_bytes()).sum::<usize>();
        let delta = config.aggregator.combine(&updates);
        for (p, d) in global.params.iter_mut().zip(&delta) {
            *p += d;
        }
    }
    Ok(FederatedRun {
        model: global,
        bytes_per_round,
    })
}

//! Federated training of the failure predictor (issue 5, item 6) across clients (providers),
//! each with its own non-identical data: FedAvg (McMahan et al., AISTATS 2017), coordinate-wise
//! median and coordinate-wise trimmed mean (Yin et al., ICML 2018), with simulated poisoned
//! clients (label flipping; scaled updates, Bagdasaryan et al., AISTATS 2020).
//!
//! ```text
//!  server: global params ─► each Client::local_update ─► ModelUpdate (params delta only)
//!          ◄── Aggregator (fedavg | median | trimmed mean) ◄──┘
//! ```
//! Privacy by construction: a [`Client`] takes its samples when built and keeps them in a type
//! private to the `client` module; its only output is a [`ModelUpdate`].

mod aggregate;
mod client;
mod server;

pub use aggregate::Aggregator;
pub use client::{Behaviour, Client, ModelUpdate};
pub use server::{FederatedConfig, FederatedRun, federated_train};

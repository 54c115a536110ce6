//! Federated training: aggregation rules against hand-worked values, determinism for a seed,
//! robustness of the median / trimmed mean to a scaled-update client.

use mend_monitor::federated::{
    Aggregator, Behaviour, Client, FederatedConfig, ModelUpdate, federated_train,
};
use mend_monitor::predictor::{PredictorModel, PredictorSpec, TrainConfig, average_precision};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn update(delta: &[f32], samples: usize) -> ModelUpdate {
    ModelUpdate {
        delta: delta.to_vec(),
        samples,
    }
}

#[test]
fn aggregators_match_hand_worked_values() {
    let u = [
        update(&[1.0, 10.0], 1),
        update(&[2.0, 20.0], 1),
        update(&[3.0, 30.0], 2),
        update(&[100.0, -100.0], 0),
    ];
    // FedAvg weights 1/4, 1/4, 2/4, 0: [0.25 + 0.5 + 1.5, 2.5 + 5 + 15].
    assert_eq!(Aggregator::FedAvg.combine(&u), vec![2.25, 22.5]);
    // Median of 4: mean of the middle two: [2.5, 15].
    assert_eq!(Aggregator::Median.combine(&u), vec![2.5, 15.0]);
    // Trim 1 each end: [(2 + 3)/2, (10 + 20)/2].
    assert_eq!(
        Aggregator::TrimmedMean { trim: 1 }.combine(&u),
        vec![2.5, 15.0]
    );
    assert!(Aggregator::Median.combine(&[]).is_empty());
    assert_eq!(update(&[0.0; 10], 3).wire_bytes(), 48);
}

/// A client's data: label 1 when x0 + x1 > 1.2, with client-specific input skew.
fn client_data(n: usize, seed: u64, skew: f32) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let row: [f32; 4] = std::array::from_fn(|_| (rng.random::<f32>() + skew).min(1.0));
        y.push(if row[0] + row[1] > 1.2 { 1.0 } else { 0.0 });
        x.extend_from_slice(&row);
    }
    (x, y)
}

fn clients(poison: Option<Behaviour>) -> Vec<Client> {
    (0..5)
        .map(|c| {
            let (x, y) = client_data(300, c, 0.05 * c as f32);
            let behaviour = match (c, poison) {
                (0, Some(b)) => b,
                _ => Behaviour::Honest,
            };
            Client::new(format!("c{c}"), x, y, behaviour)
        })
        .collect()
}

fn initial() -> PredictorModel {
    PredictorModel::init(
        PredictorSpec {
            input: 4,
            hidden: 8,
        },
        vec![(0.0, 1.0); 4],
        3,
    )
}

fn config(aggregator: Aggregator) -> FederatedConfig {
    FederatedConfig {
        rounds: 15,
        local: TrainConfig {
            epochs: 3,
            ..Default::default()
        },
        aggregator,
    }
}

fn held_out_ap(model: &PredictorModel) -> f64 {
    let (x, y) = client_data(1000, 99, 0.0);
    let s: Vec<f32> = x.chunks(4).map(|r| model.risk(r)).collect();
    average_precision(&s, &y)
}

#[test]
fn federated_run_is_deterministic_and_learns() {
    let a = federated_train(&clients(None), initial(), &config(Aggregator::FedAvg)).unwrap();
    let b = federated_train(&clients(None), initial(), &config(Aggregator::FedAvg)).unwrap();
    assert_eq!(a.model.params, b.model.params);
    assert!(held_out_ap(&a.model) > 0.8, "AP {}", held_out_ap(&a.model));
    // 5 clients x (global down + update up): 5 x (4p) + 5 x (4p + 8).
    let p = a.model.params.len();
    assert_eq!(a.bytes_per_round, 5 * 4 * p + 5 * (4 * p + 8));
}

#[test]
fn robust_aggregation_resists_one_scaled_client_of_five() {
    let poison = Some(Behaviour::ScaledUpdate(-20.0));
    let fedavg = federated_train(&clients(poison), initial(), &config(Aggregator::FedAvg)).unwrap();
    let median = federated_train(&clients(poison), initial(), &config(Aggregator::Median)).unwrap();
    let trimmed = federated_train(
        &clients(poison),
        initial(),
        &config(Aggregator::TrimmedMean { trim: 1 }),
    )
    .unwrap();
    let (f, m, t) = (
        held_out_ap(&fedavg.model),
        held_out_ap(&median.model),
        held_out_ap(&trimmed.model),
    );
    assert!(m > 0.8 && t > 0.8, "median {m}, trimmed {t}");
    assert!(
        m > f && t > f,
        "fedavg {f} should suffer from the scaled client"
    );
}

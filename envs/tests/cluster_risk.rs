//! The cluster env's failure-risk column (feature schema v4): a predictor run beside the env
//! changes nothing in the simulated world (same trace, rewards, step infos, masks and every other
//! column under the same actions as an env without it), its column is exactly a
//! `RiskTracker` run on the rows the env without a model observes (the path the live executor
//! takes), and a model of another schema is refused naming its field.

use std::sync::Arc;

use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{Env, EnvError, Observation};
use mend_monitor::features::FeatureSchema;
use mend_monitor::features::risk::{RISK_COLUMN, RiskModel, RiskTracker};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod common;

/// Rows with the risk column removed, as bits.
fn other_columns(obs: &Observation, skip: usize) -> Vec<u32> {
    let e = obs.as_entities().unwrap();
    e.rows
        .iter()
        .enumerate()
        .filter(|(i, _)| i % e.width != skip)
        .map(|(_, x)| x.to_bits())
        .collect()
}

fn risk_column(obs: &Observation, column: usize) -> Vec<f32> {
    let e = obs.as_entities().unwrap();
    e.rows.chunks(e.width).map(|r| r[column]).collect()
}

/// The risk a tracker writes into `obs`' rows (service rows first: `services` of them) at `t`.
fn tracked(tracker: &mut RiskTracker, env: &ClusterEnv, obs: &Observation) -> Vec<f32> {
    let e = obs.as_entities().unwrap();
    let layout = env.layout().unwrap();
    let services: Vec<&str> = layout
        .names()
        .iter()
        .take(env.simulation().unwrap().topology().services.len())
        .map(String::as_str)
        .collect();
    let mut rows = e.rows.clone();
    let t = env.simulation().unwrap().telemetry().time.as_secs_f64();
    tracker.fill(t, &services, &mut rows[..services.len() * e.width]);
    rows.chunks(e.width)
        .map(|r| r[tracker.risk_column()])
        .collect()
}

#[test]
fn the_risk_model_does_not_change_the_world_and_fills_the_column_as_a_tracker_does() {
    let schema = FeatureSchema::builtin();
    let column = schema.column_index(RISK_COLUMN).unwrap();
    let model = Arc::new(RiskModel::init(&schema, 16, 600.0, 900.0, 7));
    let mut with = ClusterEnv::builtin(
        "default",
        ClusterConfig {
            risk_model: Some(Arc::clone(&model)),
            ..ClusterConfig::default()
        },
    )
    .unwrap();
    let mut without = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let mut reference = RiskTracker::new(model, &schema).unwrap();
    let n_services = |env: &ClusterEnv| env.simulation().unwrap().topology().services.len();
    let (a, _) = with.reset(Some(5), None).unwrap();
    let (b, _) = without.reset(Some(5), None).unwrap();
    assert_eq!(other_columns(&a, column), other_columns(&b, column));
    assert_eq!(
        risk_column(&a, column),
        tracked(&mut reference, &without, &b)
    );
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut distinct = std::collections::BTreeSet::new();
    for t in 0..300 {
        let mask = with.action_mask().unwrap();
        assert_eq!(Some(&mask), without.action_mask().as_ref(), "step {t}");
        let action = common::occasional_valid_action(&mask, &mut rng);
        let sa = with.step(action).unwrap();
        let sb = without.step(action).unwrap();
        assert_eq!(sa.reward.to_bits(), sb.reward.to_bits(), "step {t}");
        assert_eq!(sa.info, sb.info, "step {t}");
        assert_eq!(
            other_columns(&sa.obs, column),
            other_columns(&sb.obs, column),
            "step {t}"
        );
        let risk = risk_column(&sa.obs, column);
        assert_eq!(risk, tracked(&mut reference, &without, &sb.obs), "step {t}");
        let services = n_services(&with);
        assert!(
            risk[..services].iter().all(|r| (0.0..=1.0).contains(r)),
            "{risk:?}"
        );
        assert!(risk[services..].iter().all(|&r| r == 0.0), "node rows 0");
        assert!(risk_column(&sb.obs, column).iter().all(|&r| r == 0.0));
        distinct.extend(risk[..services].iter().map(|r| r.to_bits()));
        if sa.truncated {
            break;
        }
    }
    assert_eq!(with.take_trace(), without.take_trace());
    assert!(
        distinct.len() > 20,
        "the risk follows the telemetry ({} distinct values)",
        distinct.len()
    );
    // A reset forgets the windows: the first observation again equals a fresh tracker's.
    let (a, _) = with.reset(Some(6), None).unwrap();
    let (b, _) = without.reset(Some(6), None).unwrap();
    reference.reset();
    assert_eq!(
        risk_column(&a, column),
        tracked(&mut reference, &without, &b)
    );
}

#[test]
fn a_risk_model_of_another_schema_is_refused_naming_its_field() {
    let mut model = RiskModel::init(&FeatureSchema::builtin(), 4, 600.0, 900.0, 0);
    model.schema_id = "v3-0000000000000000".into();
    let err = ClusterEnv::builtin(
        "tiny",
        ClusterConfig {
            risk_model: Some(Arc::new(model)),
            ..ClusterConfig::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, EnvError::InvalidConfig { field, .. } if field == "risk_model"),
        "{err}"
    );
    assert!(err.to_string().contains("schema_id"), "{err}");
}

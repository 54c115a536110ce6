//! Entity-network policy files drive the live loop: the executor builds the entity observation
//! (one row per service, then the globals, schema v1) from the live features, loads an entity
//! policy for a cluster of any size, maps its choice to a live action, and rejects an entity file
//! whose feature schema is foreign.

use std::path::Path;

use mend_agents::nn::{Activation, MlpParams};
use mend_agents::policy::OutputKind;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::{
    EntityParams, EntityPolicy, EntitySpec, FeatureSchema, PolicyFile, TrainSummary,
};
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{DecideError, LivePolicy, entity_observation};
use mend_executor::decision::ActionKind;
use mend_executor::observe::Readings;
use mend_monitor::features::FeatureExtractor;

const KINDS: [&str; 3] = ["restart_replica", "restart_service", "scale_out"];

fn set(layer: &mut MlpParams, index: usize, out: usize, input: usize, w: f32) {
    let d = &mut layer.layers[index];
    d.weight[out * d.fan_in + input] = w;
}

/// A hand-set entity network: kind `restart_replica` scores `10 * tanh^3(1 - up_ratio)` on each
/// service, the no-op scores 0.5, everything else 0. So it restarts a service that lost a replica
/// and otherwise does nothing, on clusters of any size.
fn entity_policy_file(schema: FeatureSchema) -> PolicyFile {
    entity_policy_file_with_noop(schema, 0.5)
}

/// [`entity_policy_file`] with the no-op's logit set to `noop_logit`.
fn entity_policy_file_with_noop(schema: FeatureSchema, noop_logit: f32) -> PolicyFile {
    let v1 = mend_monitor::features::FeatureSchema::builtin();
    let up = v1.column_index("svc_replicas_up_ratio").unwrap();
    let spec = EntitySpec {
        row_width: v1.width(),
        global_width: v1.global.len(),
        hidden: 4,
        n_kinds: KINDS.len(),
        activation: Activation::Tanh,
    };
    let mut params = EntityParams::zeros(spec);
    set(&mut params.encoder, 0, 0, up, -1.0);
    params.encoder.layers[0].bias[0] = 1.0;
    set(&mut params.encoder, 1, 0, 0, 1.0);
    set(&mut params.scorer, 0, 0, 0, 1.0); // embedding[0] comes first in the scorer's input
    set(&mut params.scorer, 1, 0, 0, 10.0);
    let last = params.noop.layers.len() - 1;
    params.noop.layers[last].bias[0] = noop_logit;
    let policy = EntityPolicy {
        algorithm: "ppo".into(),
        output: OutputKind::Logits,
        params,
        exploration_eps: 0.0,
        n_actions: 1 + 5 * KINDS.len(), // trained on 5 services
    };
    let training = TrainingInfo {
        env_id: "mend/Cluster-v0".into(),
        scenario_family: Some("default".into()),
        seed: 0,
        summary: TrainSummary {
            num_timesteps: 0,
            episodes: 0,
            mean_return_last_100: None,
            gradient_steps: 0,
        },
        config: serde_json::json!({"hand_set": true}),
    };
    PolicyFile::new(
        policy,
        schema,
        KINDS.iter().map(|k| k.to_string()).collect(),
        training,
    )
}

fn cluster(services: &[&str]) -> ClusterFile {
    let mut text = "namespace = \"t\"\n".to_owned();
    for s in services {
        text.push_str(&format!(
            "[[services]]\nname = \"{s}\"\nprocess = {{ command = \"/bin/true\", replicas = 3 }}\nreplica_metrics = {{ up = {{ scrape = \"up\" }} }}\n"
        ));
    }
    ClusterFile::parse(Path::new("c.toml"), &text, Path::new("/")).unwrap()
}

fn readings(ups: &[(&str, [f64; 3])]) -> Readings {
    let mut r = Readings::default();
    for (s, up) in ups {
        r.replicas.insert((*s).to_owned(), 3);
        for (i, v) in up.iter().enumerate() {
            r.replica.insert(((*s).to_owned(), i, "up".into()), *v);
        }
    }
    r
}

#[test]
fn an_entity_policy_restarts_the_service_that_lost_a_replica_on_any_cluster_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("entity.safetensors");
    entity_policy_file(FeatureSchema::builtin_entities())
        .save(&path)
        .unwrap();
    for services in [vec!["api", "web"], vec!["api", "db", "web"]] {
        let c = cluster(&services);
        let policy = LivePolicy::load(&path, &c).unwrap();
        let n = services.len();
        let mut ups: Vec<(&str, [f64; 3])> = services.iter().map(|s| (*s, [1.0; 3])).collect();

        // all up: the no-op
        let r = readings(&ups);
        let features = FeatureExtractor::builtin().extract(&r.to_snapshot(1_000));
        let calm = policy.decide(&features, &r, &c).unwrap();
        assert!(calm.action.is_noop(), "{calm:?}");
        assert_eq!(calm.probabilities.len(), 1 + n * KINDS.len());

        // web lost replica 1: restart that replica of web
        ups[n - 1].1 = [1.0, 0.0, 1.0];
        let r = readings(&ups);
        let features = FeatureExtractor::builtin().extract(&r.to_snapshot(2_000));
        let obs = entity_observation(&features);
        let e = obs.as_entities().unwrap();
        assert_eq!(e.n_entities(), n, "one row per service");
        let sick = policy.decide(&features, &r, &c).unwrap();
        assert_eq!(sick.action.service, "web");
        assert_eq!(sick.action.kind, ActionKind::Restart { replica: Some(1) });
        assert!(
            sick.reason.contains("restart_replica on web"),
            "{}",
            sick.reason
        );
        let again = policy.decide(&features, &r, &c).unwrap();
        assert_eq!(again, sick, "deterministic");
    }
}

/// Regression (session 2): the executor took the argmax of a cluster policy's probabilities, so a
/// policy that spreads its acting probability over many targets never acted. Here every service
/// lost a replica: each restart scores about 0.7 below the no-op (bias 1.5), so the no-op is the single likeliest
/// action while acting is likelier in total: the policy acts (act first, then choose).
#[test]
fn a_policy_that_spreads_its_acting_probability_over_many_targets_still_acts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spread.safetensors");
    entity_policy_file_with_noop(FeatureSchema::builtin_entities(), 1.5)
        .save(&path)
        .unwrap();
    let services = ["api", "db", "web"];
    let c = cluster(&services);
    let policy = LivePolicy::load(&path, &c).unwrap();
    let r = readings(&[
        ("api", [1.0, 1.0, 0.0]),
        ("db", [1.0, 0.0, 1.0]),
        ("web", [0.0, 1.0, 1.0]),
    ]);
    let features = FeatureExtractor::builtin().extract(&r.to_snapshot(1_000));
    let d = policy.decide(&features, &r, &c).unwrap();
    let p = &d.probabilities;
    let p_noop = p[0];
    assert!(
        p[1..].iter().all(|&x| x < p_noop),
        "the no-op is the argmax: {p:?}"
    );
    let act: f64 = p[1..].iter().sum();
    assert!(act > p_noop, "acting is likelier in total: {p:?}");
    // Three equal restarts: the lowest index wins, api (services sorted), its down replica 2.
    assert_eq!(d.action.service, "api", "{d:?}");
    assert_eq!(d.action.kind, ActionKind::Restart { replica: Some(2) });
    let (a, c_) = (d.act_probability.unwrap(), d.choice_probability.unwrap());
    assert!((a - act).abs() < 1e-5, "{a} vs {act}");
    assert!((c_ - p[1] / act).abs() < 1e-5 && c_ < 0.5, "{c_}");
    assert!((d.probability - a).abs() < 1e-12, "the gate reads P(act)");

    // All up: the no-op, with confidence p[no-op].
    let calm = readings(&[("api", [1.0; 3]), ("db", [1.0; 3]), ("web", [1.0; 3])]);
    let features = FeatureExtractor::builtin().extract(&calm.to_snapshot(2_000));
    let d = policy.decide(&features, &calm, &c).unwrap();
    assert!(d.action.is_noop(), "{d:?}");
    assert_eq!(d.choice_probability, Some(1.0));
    assert!((d.probability - d.probabilities[0]).abs() < 1e-6);
}

#[test]
fn an_entity_policy_with_a_foreign_feature_schema_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.safetensors");
    let mut names = FeatureSchema::builtin_entities().names;
    names[0] = "cpu_of_something_else".into();
    entity_policy_file(FeatureSchema::new(&names))
        .save(&path)
        .unwrap();
    match LivePolicy::load(&path, &cluster(&["web"])) {
        Err(DecideError::PolicyFile(e)) => {
            assert!(e.to_string().contains("foreign.safetensors"), "{e}")
        }
        other => panic!("expected a schema rejection, got {other:?}"),
    }
}

#[test]
fn the_pipeline_runs_the_alert_detector_the_policy_was_trained_behind() {
    use mend_agents::Monitoring;
    use mend_executor::pipeline::{Pipeline, Proposer};
    use mend_monitor::features::alert_age::DEFAULT_ALERT_DETECTOR;
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(&["web"]);
    let load = |name: &str, monitoring: Monitoring| {
        let path = dir.path().join(name);
        entity_policy_file(FeatureSchema::builtin_entities())
            .with_monitoring(monitoring)
            .save(&path)
            .unwrap();
        LivePolicy::load(&path, &c).unwrap()
    };
    let recorded = Monitoring {
        alert_detector: Some("static_threshold".into()),
        ..Monitoring::default()
    };
    let policy = load("static.safetensors", recorded);
    let mode = mend_executor::pipeline::Mode::Shadow;
    let pipeline = Pipeline::new(&c, mode, Proposer::Policy(Box::new(policy))).unwrap();
    assert_eq!(pipeline.alert_detector(), "static_threshold");
    assert!(pipeline.risk_model().is_none());
    // A recorded failure predictor runs behind the risk column.
    let schema = mend_monitor::features::FeatureSchema::builtin();
    let model = mend_monitor::features::risk::RiskModel::init(&schema, 4, 600.0, 600.0, 3);
    let policy = load(
        "risk.safetensors",
        Monitoring {
            failure_risk: Some(model.clone()),
            ..Monitoring::default()
        },
    );
    let pipeline = Pipeline::new(&c, mode, Proposer::Policy(Box::new(policy))).unwrap();
    assert_eq!(pipeline.risk_model().map(|m| m.as_ref()), Some(&model));
    // Nothing recorded: the default; a rule proposer: the default.
    let policy = load("default.safetensors", Monitoring::default());
    let pipeline = Pipeline::new(&c, mode, Proposer::Policy(Box::new(policy))).unwrap();
    assert_eq!(pipeline.alert_detector(), DEFAULT_ALERT_DETECTOR);
    assert_eq!(
        Pipeline::new(&c, mode, Proposer::Rule)
            .unwrap()
            .alert_detector(),
        DEFAULT_ALERT_DETECTOR
    );
}

#[test]
fn a_policy_whose_alert_detector_does_not_build_is_rejected_naming_the_field() {
    use mend_agents::Monitoring;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-detector.safetensors");
    entity_policy_file(FeatureSchema::builtin_entities())
        .with_monitoring(Monitoring {
            alert_detector: Some("no_such_detector(z=4)".into()),
            ..Monitoring::default()
        })
        .save(&path)
        .unwrap();
    match LivePolicy::load(&path, &cluster(&["web"])) {
        Err(e @ DecideError::Manifest { .. }) => {
            let text = e.to_string();
            assert!(text.contains("monitoring.alert_detector"), "{text}");
            assert!(text.contains("bad-detector.safetensors"), "{text}");
            assert!(text.contains("no_such_detector"), "{text}");
        }
        other => panic!("expected a manifest rejection, got {other:?}"),
    }
}

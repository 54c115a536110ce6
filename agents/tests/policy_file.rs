//! Policy files: a round trip keeps the policy and manifest exactly, and each kind of bad file is
//! rejected with its own error variant.

use std::collections::HashMap;
use std::path::Path;

use mend_agents::nn::init::{InitScheme, init_mlp};
use mend_agents::nn::{Activation, MlpSpec};
use mend_agents::policy::OutputKind;
use mend_agents::policy_file::{FORMAT_VERSION, TrainingInfo};
use mend_agents::{
    EntityParams, EntityPolicy, EntitySpec, FeatureSchema, MlpPolicy, Monitoring, NetworkSpec,
    Policy, PolicyFile, PolicyFileError, PolicyNet, TrainSummary,
};
use mend_envs::EntityObs;
use mend_envs::Observation;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn sample_file() -> PolicyFile {
    let spec = MlpSpec {
        input: 4,
        hidden: vec![16, 16],
        output: 2,
        activation: Activation::Tanh,
    };
    let net = init_mlp(
        &spec,
        InitScheme::Orthogonal {
            hidden_gain: 1.4,
            output_gain: 1.0,
        },
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    let policy = MlpPolicy {
        algorithm: "ppo".into(),
        output: OutputKind::Logits,
        net,
        exploration_eps: 0.0,
        normalisation: None,
    };
    let training = TrainingInfo {
        env_id: "CartPole-v1".into(),
        scenario_family: None,
        seed: 1,
        summary: TrainSummary {
            num_timesteps: 100,
            episodes: 3,
            mean_return_last_100: Some(20.0),
            gradient_steps: 20,
        },
        config: serde_json::json!({"learning_rate": 0.001}),
    };
    PolicyFile::new(
        policy,
        FeatureSchema::cartpole(),
        vec!["push_left".into(), "push_right".into()],
        training,
    )
}

/// An entity policy over schema v1 (17 row columns, 11 global features), 3 action kinds, trained on a
/// 5-entity env.
fn entity_file() -> PolicyFile {
    let schema = mend_monitor::features::FeatureSchema::builtin();
    let spec = EntitySpec {
        row_width: schema.width(),
        global_width: schema.global.len(),
        hidden: 16,
        n_kinds: 3,
        activation: Activation::Tanh,
    };
    let policy = EntityPolicy {
        algorithm: "ppo".into(),
        output: OutputKind::Logits,
        params: EntityParams::init(spec, &mut ChaCha8Rng::seed_from_u64(2)),
        exploration_eps: 0.0,
        n_actions: 1 + 5 * 3,
    };
    PolicyFile::new(
        policy,
        FeatureSchema::builtin_entities(),
        vec!["restart".into(), "scale_out".into(), "scale_in".into()],
        sample_file().manifest.training,
    )
}

fn entity_obs(n: usize) -> Observation {
    let schema = mend_monitor::features::FeatureSchema::builtin();
    let w = schema.width();
    Observation::Entities(EntityObs {
        global: (0..schema.global.len()).map(|i| i as f32 * 0.05).collect(),
        width: w,
        rows: (0..n * w).map(|i| ((i * 7) % 11) as f32 / 11.0).collect(),
    })
}

fn saved(file: &PolicyFile) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.safetensors");
    file.save(&path).unwrap();
    (dir, path)
}

#[test]
fn round_trip_keeps_manifest_weights_and_actions() {
    let file = sample_file();
    let (_dir, path) = saved(&file);
    let loaded = PolicyFile::load(&path, Some(&FeatureSchema::cartpole())).unwrap();
    assert_eq!(loaded, file);
    assert_eq!(PolicyFile::inspect(&path).unwrap(), file.manifest);
    assert_eq!(loaded.manifest.format_version, FORMAT_VERSION);
    let obs = Observation::Vector(vec![0.1, -0.2, 0.03, 0.5]);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert_eq!(
        loaded.policy.action_scores(&obs, None).unwrap(),
        file.policy.action_scores(&obs, None).unwrap()
    );
    assert_eq!(
        loaded.policy.predict(&obs, None, true, &mut rng).unwrap(),
        file.policy.predict(&obs, None, true, &mut rng).unwrap()
    );
    // No temporary file is left beside the policy (written by temp + rename).
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn monitoring_round_trips_and_is_absent_when_default() {
    // Default monitoring writes no `monitoring` key: files from before the field read the same.
    let plain = sample_file();
    let (_dir, path) = saved(&plain);
    let bytes = std::fs::read(&path).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("\"monitoring\""));
    assert_eq!(
        PolicyFile::inspect(&path).unwrap().monitoring,
        Monitoring::default()
    );
    assert_eq!(
        plain.manifest.monitoring.alert_detector_spec(),
        mend_monitor::features::alert_age::DEFAULT_ALERT_DETECTOR
    );
    // A recorded detector comes back exactly and is the spec to run.
    let monitoring = Monitoring {
        alert_detector: Some("static_threshold".into()),
        ..Monitoring::default()
    };
    let file = sample_file().with_monitoring(monitoring.clone());
    let (_dir2, path2) = saved(&file);
    let loaded = PolicyFile::load(&path2, Some(&FeatureSchema::cartpole())).unwrap();
    assert_eq!(loaded.manifest.monitoring, monitoring);
    assert_eq!(
        loaded.manifest.monitoring.alert_detector_spec(),
        "static_threshold"
    );
}

#[test]
fn a_recorded_failure_predictor_round_trips_and_a_bad_one_is_rejected_naming_the_field() {
    use mend_monitor::features::risk::RiskModel;
    let schema = mend_monitor::features::FeatureSchema::builtin();
    let model = RiskModel::init(&schema, 4, 600.0, 600.0, 7);
    let with = |model: RiskModel| {
        entity_file().with_monitoring(Monitoring {
            failure_risk: Some(model),
            ..Monitoring::default()
        })
    };
    let file = with(model.clone());
    let (_dir, path) = saved(&file);
    let loaded = PolicyFile::load(&path, Some(&FeatureSchema::builtin_entities())).unwrap();
    assert_eq!(
        loaded.manifest.monitoring.failure_risk.as_ref(),
        Some(&model)
    );
    // A predictor trained on other rows, or with a parameter missing, is refused on load.
    let mut foreign = model.clone();
    foreign.schema_id = "v0-0000000000000000".into();
    let mut short = model;
    short.predictor.params.pop();
    for (name, bad) in [("foreign", foreign), ("short", short)] {
        let (_dir, path) = saved(&with(bad));
        match PolicyFile::load(&path, None) {
            Err(e @ PolicyFileError::Manifest { .. }) => {
                let text = e.to_string();
                assert!(text.contains("monitoring.failure_risk"), "{name}: {text}");
                assert!(text.contains("policy.safetensors"), "{name}: {text}");
            }
            other => panic!("{name}: expected a manifest rejection, got {other:?}"),
        }
    }
}

#[test]
fn wrong_format_version_is_rejected() {
    let mut file = sample_file();
    file.manifest.format_version = FORMAT_VERSION + 1;
    let (_dir, path) = saved(&file);
    match PolicyFile::load(&path, None) {
        Err(PolicyFileError::FormatVersion {
            found, expected, ..
        }) => assert_eq!((found, expected), (FORMAT_VERSION + 1, FORMAT_VERSION)),
        other => panic!("expected FormatVersion, got {other:?}"),
    }
}

#[test]
fn feature_schema_mismatch_is_rejected() {
    let (_dir, path) = saved(&sample_file());
    let expected = FeatureSchema::new(&[
        "cart_position",
        "cart_velocity",
        "pole_angle",
        "pole_tip_velocity",
    ]);
    match PolicyFile::load(&path, Some(&expected)) {
        Err(e @ PolicyFileError::SchemaMismatch { .. }) => {
            assert!(e.to_string().contains("pole_tip_velocity"))
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}

#[test]
fn non_finite_weights_are_rejected() {
    for bad in [f32::NAN, f32::INFINITY] {
        let mut file = sample_file();
        match &mut file.policy {
            PolicyNet::Mlp(p) => p.net.layers[1].weight[7] = bad,
            PolicyNet::Entity(_) => unreachable!("sample_file is an MLP"),
        }
        let (_dir, path) = saved(&file);
        match PolicyFile::load(&path, None) {
            Err(PolicyFileError::NonFinite { tensor, index, .. }) => {
                assert_eq!((tensor.as_str(), index), ("layers.1.weight", 7))
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }
}

#[test]
fn truncated_file_is_rejected() {
    let (_dir, path) = saved(&sample_file());
    let bytes = std::fs::read(&path).unwrap();
    for keep in [bytes.len() - 1, bytes.len() / 2, 20, 4] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        match PolicyFile::load(&path, None) {
            Err(PolicyFileError::Truncated { .. }) => {}
            other => panic!("keeping {keep} bytes: expected Truncated, got {other:?}"),
        }
    }
}

#[test]
fn foreign_safetensors_file_is_rejected() {
    let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).unwrap();
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = safetensors::serialize([("weight", view)], Some(meta)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        PolicyFile::load(&path, None),
        Err(PolicyFileError::Foreign { .. })
    ));
}

#[test]
fn non_safetensors_and_missing_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    // A header length that fits in the file, followed by text that is not JSON.
    let mut bytes = 16u64.to_le_bytes().to_vec();
    bytes.extend(b"this is not json");
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        PolicyFile::load(&path, None),
        Err(PolicyFileError::NotSafetensors { .. })
    ));
    assert!(matches!(
        PolicyFile::load(Path::new("/nonexistent/p.safetensors"), None),
        Err(PolicyFileError::Io { .. })
    ));
}

#[test]
fn entity_round_trip_keeps_manifest_weights_and_acts_on_other_sizes() {
    let file = entity_file();
    assert!(matches!(file.manifest.network, NetworkSpec::Entity(_)));
    let (_dir, path) = saved(&file);
    let loaded = PolicyFile::load(&path, Some(&FeatureSchema::builtin_entities())).unwrap();
    assert_eq!(loaded, file);
    assert_eq!(PolicyFile::inspect(&path).unwrap(), file.manifest);
    // Trained on 5 entities; acts on 5 and on 40, masks respected.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for n in [5usize, 40] {
        let obs = entity_obs(n);
        assert_eq!(
            loaded.policy.action_scores(&obs, None).unwrap(),
            file.policy.action_scores(&obs, None).unwrap()
        );
        let mask: Vec<bool> = (0..1 + 3 * n).map(|a| a % 4 == 2).collect();
        for _ in 0..20 {
            let a = loaded
                .policy
                .predict(&obs, Some(&mask), false, &mut rng)
                .unwrap();
            assert!(mask[a], "masked action {a} chosen on {n} entities");
        }
    }
    // The vector-observation schema of CartPole is not the entity schema.
    assert!(matches!(
        PolicyFile::load(&path, Some(&FeatureSchema::cartpole())),
        Err(PolicyFileError::SchemaMismatch { .. })
    ));
}

#[test]
fn entity_non_finite_weights_are_rejected() {
    for bad in [f32::NAN, f32::NEG_INFINITY] {
        let mut file = entity_file();
        match &mut file.policy {
            PolicyNet::Entity(p) => p.params.scorer.layers[0].weight[3] = bad,
            PolicyNet::Mlp(_) => unreachable!("entity_file is an entity network"),
        }
        let (_dir, path) = saved(&file);
        match PolicyFile::load(&path, None) {
            Err(PolicyFileError::NonFinite { tensor, index, .. }) => {
                assert_eq!((tensor.as_str(), index), ("scorer.layers.0.weight", 3))
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }
}

#[test]
fn entity_tensor_of_wrong_shape_is_rejected() {
    // The manifest declares hidden 16; the tensors are of a hidden-8 network.
    let mut file = entity_file();
    let NetworkSpec::Entity(spec) = &file.manifest.network else {
        unreachable!()
    };
    let row_width = spec.row_width;
    let small = EntityParams::init(
        EntitySpec {
            hidden: 8,
            ..spec.clone()
        },
        &mut ChaCha8Rng::seed_from_u64(3),
    );
    match &mut file.policy {
        PolicyNet::Entity(p) => p.params = small,
        PolicyNet::Mlp(_) => unreachable!(),
    }
    let (_dir, path) = saved(&file);
    match PolicyFile::load(&path, None) {
        Err(e @ PolicyFileError::Tensor { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("encoder.layers.0.weight"), "{msg}");
            // The declared first layer: hidden 16 by the entity row width.
            let expected = format!("[16, {row_width}]");
            assert!(msg.contains(&expected), "{expected} missing from: {msg}");
        }
        other => panic!("expected Tensor, got {other:?}"),
    }
}

#[test]
fn entity_manifest_inconsistent_with_network_is_rejected() {
    // Feature names that do not cover row + global widths.
    let mut file = entity_file();
    file.manifest.feature_schema = FeatureSchema::cartpole();
    let (_dir, path) = saved(&file);
    match PolicyFile::load(&path, None) {
        Err(e @ PolicyFileError::Manifest { .. }) => {
            assert!(e.to_string().contains("feature_schema.names"), "{e}")
        }
        other => panic!("expected Manifest, got {other:?}"),
    }
    // One action-kind name missing.
    let mut file = entity_file();
    file.manifest.action_kinds.pop();
    let (_dir, path) = saved(&file);
    match PolicyFile::load(&path, None) {
        Err(e @ PolicyFileError::Manifest { .. }) => {
            assert!(e.to_string().contains("action_kinds"), "{e}")
        }
        other => panic!("expected Manifest, got {other:?}"),
    }
}

//! `mend replay TRACE --policy FILE` through the real binary: a policy file built here with
//! `mend-agents` runs against a recorded episode's faults and is compared with the recorded run (the
//! recorded side reproduces the recorded metrics exactly); the timeline of both runs is written; a
//! policy for other features and a trace from another scenario are refused with clear errors.

use std::path::{Path, PathBuf};

use mend_agents::policy::{MlpPolicy, OutputKind};
use mend_agents::policy_file::TrainingInfo;
use mend_agents::tabular::TabularPolicy;
use mend_agents::tabular::state::BucketEdges;
use mend_agents::{FeatureSchema, PolicyFile, TrainSummary};
use mend_monitor::features::FeatureSchema as MonitorSchema;

mod common;
use common::{mend, run};

const EXPERIMENT: &str = r#"
[experiment]
name = "replay"
seed = 4

[scenarios]
eval = ["default"]

[seeds]
eval = { start = 1000, count = 1 }

[[agents]]
kind = "no-op"
"#;

/// Records the no-op's episode of seed 1000 on `default`; returns (trace, episodes.csv).
fn recorded_trace(dir: &Path) -> (PathBuf, PathBuf) {
    let exp = dir.join("experiment.toml");
    std::fs::write(&exp, EXPERIMENT).unwrap();
    let out = dir.join("results");
    mend(&[
        "eval",
        exp.to_str().unwrap(),
        "-q",
        "--record",
        "--out",
        out.to_str().unwrap(),
    ]);
    let run = out.join("replay/replay-seed4");
    (
        run.join("traces/default/no-op/seed-1000-ep0.jsonl"),
        run.join("episodes.csv"),
    )
}

fn training() -> TrainingInfo {
    TrainingInfo {
        env_id: "mend/Cluster-v0".into(),
        scenario_family: Some("default".into()),
        seed: 0,
        summary: TrainSummary {
            num_timesteps: 0,
            episodes: 0,
            mean_return_last_100: None,
            gradient_steps: 0,
        },
        config: serde_json::json!({}),
    }
}

fn kinds() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

/// A tabular Q policy file whose table prefers acting over the no-op in every state, so it acts
/// at every decision (on the first valid action).
fn acting_tabular_policy(path: &Path) {
    let schema = MonitorSchema::builtin();
    let n_kinds = kinds().len();
    // The file stores tables only; the loader sizes the policy for the env it is run on.
    let policy =
        TabularPolicy::zeros(schema.clone(), BucketEdges::default(), n_kinds, 1 + n_kinds).unwrap();
    mend_agents::tabular::file::save(&policy, &schema, kinds(), training(), path).unwrap();
    let (metadata, mut tensors) = mend_agents::store::read_file(path).unwrap();
    let q_entity = tensors.get_mut("q_entity").unwrap();
    q_entity.1.iter_mut().for_each(|q| *q = 1.0);
    mend_agents::store::write_file(path, &tensors, &metadata).unwrap();
}

#[test]
fn a_policy_file_replays_against_the_recorded_faults() {
    let tmp = tempfile::tempdir().unwrap();
    let (trace, episodes) = recorded_trace(tmp.path());
    let policy = tmp.path().join("tabular.safetensors");
    acting_tabular_policy(&policy);
    let plot = tmp.path().join("both.png");
    let out = mend(&[
        "replay",
        trace.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["reference"]["agent"], "recorded", "{report}");
    assert_eq!(report["candidate"]["agent"], "policy:tabular_q", "{report}");
    // The recorded side is the recorded episode, re-simulated: the same ground truth.
    let rows = mend_experiments::results::parse_episodes_csv(
        &std::fs::read(&episodes).unwrap(),
        "episodes.csv",
    )
    .unwrap();
    assert_eq!(
        report["reference"]["availability"].as_f64().unwrap(),
        rows[0].availability
    );
    assert_eq!(
        report["reference"]["faults"], report["candidate"]["faults"],
        "both faced the same faults"
    );
    // The exogenous events themselves, not only their count: the library call checks the replayed
    // run's onsets against the recording's and returns them.
    let records = mend_experiments::traces::read(&trace).unwrap();
    let (_, scenario) =
        mend_experiments::traces::scenario_of(&records, None, "the recorded trace").unwrap();
    let config = mend_envs::ClusterConfig {
        replay: Some(std::sync::Arc::new(records.clone())),
        ..mend_envs::ClusterConfig::default()
    };
    let replay = mend_experiments::commands::replay::replay_policy(
        &std::sync::Arc::new(scenario),
        &config,
        &records,
        &policy,
        "the recorded trace",
        None,
    )
    .unwrap();
    assert!(
        !replay.onsets.is_empty(),
        "default has faults in an episode"
    );
    assert_eq!(replay.onsets, mend_sim::trace::onsets(&records));
    assert_eq!(report["reference"]["actions_taken"], 0.0);
    assert!(
        report["difference"]["actions_taken"].as_f64().unwrap() > 0.0,
        "the policy acted: {report}"
    );
    assert!(report["difference"]["cost_usd"].as_f64().unwrap() > 0.0);
    let bytes = std::fs::read(&plot).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    // The table form, with the default plot path next to the trace.
    let out = mend(&[
        "replay",
        trace.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("policy:tabular_q vs recorded") && text.contains("MTTR (s)"),
        "{text}"
    );
    assert!(trace.with_extension("replay.png").is_file(), "{text}");
}

/// Runs `mend` with `args`, which must fail; its standard error.
fn replay_error(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "mend {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn replay_refuses_other_features_and_other_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    let (trace, _) = recorded_trace(tmp.path());

    // A CartPole network policy: trained on other features.
    let spec = mend_agents::nn::MlpSpec {
        input: 4,
        hidden: vec![8],
        output: 2,
        activation: mend_agents::nn::Activation::Tanh,
    };
    let cartpole = PolicyFile::new(
        MlpPolicy {
            algorithm: "ppo".into(),
            output: OutputKind::Logits,
            net: mend_agents::nn::MlpParams::zeros(&spec),
            exploration_eps: 0.0,
            normalisation: None,
        },
        FeatureSchema::cartpole(),
        vec!["left".into(), "right".into()],
        training(),
    );
    let path = tmp.path().join("cartpole.safetensors");
    cartpole.save(&path).unwrap();
    let e = replay_error(&[
        "replay",
        trace.to_str().unwrap(),
        "--policy",
        path.to_str().unwrap(),
    ]);
    assert!(
        e.contains("cartpole.safetensors")
            && e.contains("feature_schema")
            && e.contains("cart_position"),
        "{e}"
    );

    // A tabular policy for a schema with an extra column.
    let mut fewer = MonitorSchema::builtin();
    let mut extra = fewer.columns.last().unwrap().clone();
    extra.name = "node_gpu_utilization".into();
    fewer.columns.push(extra);
    let policy = TabularPolicy::zeros(fewer.clone(), BucketEdges::default(), 9, 10).unwrap();
    let path = tmp.path().join("extra.safetensors");
    mend_agents::tabular::file::save(&policy, &fewer, kinds(), training(), &path).unwrap();
    let e = replay_error(&[
        "replay",
        trace.to_str().unwrap(),
        "--policy",
        path.to_str().unwrap(),
    ]);
    assert!(
        e.contains("extra.safetensors") && e.contains("feature_schema"),
        "{e}"
    );

    // A trace from another scenario.
    let e = replay_error(&[
        "replay",
        trace.to_str().unwrap(),
        "--policy",
        path.to_str().unwrap(),
        "--scenario",
        "tiny",
    ]);
    assert!(e.contains("recorded on scenario `default`"), "{e}");

    // A network policy runs behind the monitoring its manifest records: one recording an alert
    // detector that does not exist is refused, naming the env's field.
    let spec = mend_agents::EntitySpec {
        row_width: MonitorSchema::builtin().width(),
        global_width: MonitorSchema::builtin().global.len(),
        hidden: 4,
        n_kinds: kinds().len(),
        activation: mend_agents::nn::Activation::Tanh,
    };
    let entity = PolicyFile::new(
        mend_agents::EntityPolicy {
            algorithm: "ppo".into(),
            output: OutputKind::Logits,
            params: mend_agents::EntityParams::zeros(spec),
            exploration_eps: 0.0,
            n_actions: 1 + 3 * kinds().len(),
        },
        FeatureSchema::builtin_entities(),
        kinds(),
        training(),
    )
    .with_monitoring(mend_agents::Monitoring {
        alert_detector: Some("no_such_detector(z=4)".into()),
        ..mend_agents::Monitoring::default()
    });
    let path = tmp.path().join("monitored.safetensors");
    entity.save(&path).unwrap();
    let e = replay_error(&[
        "replay",
        trace.to_str().unwrap(),
        "--policy",
        path.to_str().unwrap(),
    ]);
    assert!(
        e.contains("alert_detector") && e.contains("no_such_detector"),
        "{e}"
    );

    // Neither --agent nor --policy.
    let e = replay_error(&["replay", trace.to_str().unwrap()]);
    assert!(e.contains("--agent") && e.contains("--policy"), "{e}");
}

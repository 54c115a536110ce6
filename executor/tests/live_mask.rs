//! The live action mask (`mend_executor::mask`): a masked kind is never chosen live, whatever the
//! policy scores it; the mask's layout is the cluster env's for the same services; the audit
//! record lists the allowed actions.

use std::path::Path;

use mend_agents::nn::{Activation, MlpParams, MlpSpec};
use mend_agents::policy::OutputKind;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::{
    ActionScores, AgentError, FeatureSchema as PolicySchema, MlpPolicy, Policy, PolicyFile,
    TrainSummary,
};
use mend_envs::cluster::{N_KINDS, Target};
use mend_envs::{Action as EnvAction, ClusterConfig, ClusterEnv, Env, Observation};
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::{LivePolicy, SIM_ACTION_KINDS, flat_feature_names, masked_decision};
use mend_executor::decision::ActionKind;
use mend_executor::mask::{SERVICE_ROW_KINDS, allowed_indices, apply_mask, live_mask};
use mend_executor::observe::Readings;
use mend_monitor::features::{FeatureExtractor, FeatureSchema};
use rand::RngCore;

const CLUSTER: &str = r#"
namespace = "t"
[[services]]
name = "api"
process = { command = "x", replicas = 1 }
replica_metrics = { up = { scrape = "up" } }
[[services]]
name = "web"
process = { command = "x", replicas = 3 }
replica_metrics = { up = { scrape = "up" }, memory_utilization = { scrape = "m" } }
"#;

fn kinds() -> Vec<String> {
    SIM_ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect()
}

fn kind_index(name: &str) -> usize {
    SIM_ACTION_KINDS.iter().position(|k| *k == name).unwrap()
}

/// Flat index of `kind` on entity row `entity` (the env's layout).
fn flat(entity: usize, kind: &str) -> usize {
    1 + entity * SIM_ACTION_KINDS.len() + kind_index(kind)
}

fn readings(replicas: &[(&str, usize)]) -> Readings {
    let mut r = Readings::default();
    for &(s, n) in replicas {
        r.replicas.insert(s.into(), n);
        for i in 0..n {
            r.replica.insert((s.into(), i, "up".into()), 1.0);
        }
    }
    r
}

fn cluster() -> ClusterFile {
    ClusterFile::parse(Path::new("c.toml"), CLUSTER, Path::new(".")).unwrap()
}

/// A policy that ignores any mask and puts almost all its probability on one action.
#[derive(Debug)]
struct Stubborn {
    n: usize,
    favourite: usize,
}

impl Policy for Stubborn {
    fn algorithm(&self) -> &str {
        "stub"
    }
    fn n_actions(&self) -> usize {
        self.n
    }
    fn action_scores(
        &self,
        _obs: &Observation,
        _mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        let mut p = vec![0.01 / (self.n - 2) as f32; self.n];
        p[0] = 0.04;
        p[self.favourite] = 0.95;
        Ok(ActionScores::Probabilities(p))
    }
    fn predict(
        &self,
        _obs: &Observation,
        _mask: Option<&[bool]>,
        _deterministic: bool,
        _rng: &mut dyn RngCore,
    ) -> Result<EnvAction, AgentError> {
        Ok(self.favourite)
    }
}

#[test]
fn a_policy_ignoring_the_mask_never_gets_a_masked_kind() {
    let cluster = cluster();
    let services = cluster.service_names();
    let r = readings(&[("api", 1), ("web", 3)]);
    let mask = live_mask(&kinds(), &services, &r, &cluster);
    assert_eq!(mask.len(), 1 + services.len() * SIM_ACTION_KINDS.len());
    let obs = Observation::Vector(vec![0.0; 4]);
    for favourite in 1..mask.len() {
        let stub = Stubborn {
            n: mask.len(),
            favourite,
        };
        let d = masked_decision(&stub, &obs, &mask).unwrap();
        assert!(
            mask[d.action],
            "favourite {favourite}: chose masked {}",
            d.action
        );
        if mask[favourite] {
            assert_eq!(d.action, favourite);
        } else {
            // Masked mass is removed and the rest renormalised: no masked probability remains.
            for (i, p) in d.probabilities.iter().enumerate() {
                assert!(mask[i] || *p == 0.0, "favourite {favourite}: p[{i}] = {p}");
            }
        }
    }
    // Q-values too: a masked action is -inf whatever the network said.
    let ActionScores::QValues(q) = apply_mask(ActionScores::QValues(vec![0.0; mask.len()]), &mask)
    else {
        unreachable!()
    };
    for (i, v) in q.iter().enumerate() {
        assert_eq!(mask[i], v.is_finite(), "q[{i}] = {v}");
    }
}

#[test]
fn the_mask_allows_only_kinds_with_a_live_equivalent() {
    let cluster = cluster();
    let services = cluster.service_names();
    let mask = live_mask(
        &kinds(),
        &services,
        &readings(&[("api", 1), ("web", 3)]),
        &cluster,
    );
    let api = 0;
    let web = 1;
    for e in [api, web] {
        for kind in [
            "replace_node",
            "reallocate",
            "rollback",
            "shed_load",
            "failover",
        ] {
            assert!(!mask[flat(e, kind)], "{kind} on row {e}");
        }
        for kind in ["restart_replica", "restart_service", "scale_out"] {
            assert!(mask[flat(e, kind)], "{kind} on row {e}");
        }
    }
    // One replica cannot be scaled in; three can.
    assert!(!mask[flat(api, "scale_in")]);
    assert!(mask[flat(web, "scale_in")]);
    assert!(mask[0]);
    assert_eq!(
        allowed_indices(&mask),
        (0..mask.len()).filter(|&i| mask[i]).collect::<Vec<_>>()
    );
}

/// A real PPO-style policy file (an MLP) whose logits favour `replace_node` on `web`, then
/// `restart_service` on `web`: live, it restarts the service.
fn biased_policy_file(services: &[String]) -> PolicyFile {
    let schema = FeatureSchema::builtin();
    let input = services.len() * schema.width() + schema.global.len();
    let output = 1 + services.len() * SIM_ACTION_KINDS.len();
    let spec = MlpSpec {
        input,
        hidden: vec![4],
        output,
        activation: Activation::Relu,
    };
    let mut params = MlpParams::zeros(&spec);
    let web = services.iter().position(|s| s == "web").unwrap();
    params.layers[1].bias[flat(web, "replace_node")] = 12.0;
    params.layers[1].bias[flat(web, "restart_service")] = 8.0;
    let policy = MlpPolicy {
        algorithm: "ppo".into(),
        output: OutputKind::Logits,
        net: params,
        exploration_eps: 0.0,
        normalisation: None,
    };
    PolicyFile::new(
        policy,
        PolicySchema::new(&flat_feature_names(services)),
        kinds(),
        TrainingInfo {
            env_id: "mend/live".into(),
            scenario_family: None,
            seed: 0,
            summary: TrainSummary {
                num_timesteps: 0,
                episodes: 0,
                mean_return_last_100: None,
                gradient_steps: 0,
            },
            config: serde_json::json!({"hand_set": "tests/live_mask.rs"}),
        },
    )
}

#[test]
fn a_policy_file_scoring_replace_node_highest_restarts_the_service_instead() {
    let cluster = cluster();
    let services = cluster.service_names();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("biased.safetensors");
    biased_policy_file(&services).save(&path).unwrap();
    let policy = LivePolicy::load(&path, &cluster).unwrap();
    let r = readings(&[("api", 1), ("web", 3)]);
    let f = FeatureExtractor::builtin().extract(&r.to_snapshot(1000));
    let p = policy.decide(&f, &r, &cluster).unwrap();
    assert_eq!(p.action.service, "web");
    assert_eq!(
        p.action.kind,
        ActionKind::Restart { replica: None },
        "{p:?}"
    );
    assert!(!p.mask[flat(1, "replace_node")]);
    assert_eq!(p.probabilities[flat(1, "replace_node")], 0.0);
    assert!(p.reason.contains("restart_service"), "{}", p.reason);
}

#[test]
fn layout_and_service_rows_match_the_cluster_env() {
    for scenario in ["tiny", "default"] {
        let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default()).unwrap();
        env.reset(Some(7), None).unwrap();
        let env_mask = env.action_mask().unwrap();
        let layout = env.layout().unwrap();
        let sim = env.simulation().unwrap();
        // The env's rows: services first (sorted by name), then nodes.
        let services: Vec<String> = layout
            .names()
            .iter()
            .zip(layout.targets())
            .filter(|(_, t)| matches!(t, Target::Service(_)))
            .map(|(n, _)| n.clone())
            .collect();
        let mut sorted = services.clone();
        sorted.sort();
        assert_eq!(services, sorted, "{scenario}");
        assert_eq!(N_KINDS, SIM_ACTION_KINDS.len());
        // A local cluster file with the same services and replica counts, all replicas up.
        let topo = sim.topology();
        let mut text = String::from("namespace = \"t\"\n");
        let mut counts = Vec::new();
        for s in &services {
            let id = topo.services.iter().position(|x| &x.name == s).unwrap();
            let n = topo
                .replicas
                .iter()
                .filter(|r| r.service.index() == id)
                .count()
                .max(1);
            counts.push((s.as_str(), n));
            text.push_str(&format!(
                "[[services]]\nname = \"{s}\"\nprocess = {{ command = \"x\", replicas = {n} }}\nreplica_metrics = {{ up = {{ scrape = \"up\" }} }}\n"
            ));
        }
        let cluster = ClusterFile::parse(Path::new("c.toml"), &text, Path::new(".")).unwrap();
        assert_eq!(cluster.service_names(), services);
        let mask = live_mask(&kinds(), &services, &readings(&counts), &cluster);
        // Same flat layout over the service rows: index 1 + row * K + kind in both.
        assert_eq!(mask.len(), 1 + services.len() * N_KINDS);
        for (e, s) in services.iter().enumerate() {
            for (k, kind) in SIM_ACTION_KINDS.iter().enumerate() {
                let i = 1 + e * N_KINDS + k;
                assert_eq!(
                    env.decode(i),
                    Some(mend_envs::ClusterAction::Act {
                        entity: e,
                        kind: mend_sim::ActionKind::ALL[k],
                    })
                );
                // Never allowed live where the env masks it (the env has the simulator's
                // preconditions; live adds the actuator's).
                assert!(
                    !mask[i] || env_mask[i],
                    "{scenario}: {kind} on {s} allowed live, masked in the env"
                );
                if !SERVICE_ROW_KINDS.contains(kind) {
                    assert!(!env_mask[i] && !mask[i], "{scenario}: {kind} on {s}");
                }
            }
            // The restarts are allowed in both on a healthy service.
            for kind in ["restart_replica", "restart_service"] {
                let i = 1 + e * N_KINDS + kind_index(kind);
                assert!(mask[i] && env_mask[i], "{scenario}: {kind} on {s}");
            }
        }
    }
}

#[test]
fn kinds_off_the_service_rows_are_the_envs_node_kinds() {
    // SERVICE_ROW_KINDS is SIM_ACTION_KINDS without replace_node, in the same order.
    let expected: Vec<&str> = SIM_ACTION_KINDS
        .iter()
        .copied()
        .filter(|k| *k != "replace_node")
        .collect();
    assert_eq!(SERVICE_ROW_KINDS.to_vec(), expected);
}

/// The audit record of a live decision lists the allowed actions, and the proposal follows them:
/// two real demo replicas read by direct scrapes, the biased policy file, shadow mode.
#[test]
fn the_audit_record_shows_the_mask_the_live_choice_was_made_under() {
    use mend_executor::pipeline::{Mode, Proposer};
    use mend_executor::run_loop::{Executor, now_ms};

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"namespace = "t"
interval_ms = 200
[[services]]
name = "web"
process = {{ command = "{}", args = ["--port", "{{port}}"], replicas = 2, stop_grace_ms = 500 }}
replica_metrics = {{ up = {{ scrape = "up" }} }}
[guards]
allowlist = ["t/web"]
"#,
        env!("CARGO_BIN_EXE_mend-demo-service")
    );
    let cluster = ClusterFile::parse(&dir.path().join("c.toml"), &text, dir.path()).unwrap();
    let path = dir.path().join("biased.safetensors");
    biased_policy_file(&cluster.service_names())
        .save(&path)
        .unwrap();
    let policy = LivePolicy::load(&path, &cluster).unwrap();
    let audit = dir.path().join("a.jsonl");
    let mut exec = Executor::start(
        cluster,
        Mode::Shadow,
        Proposer::Policy(Box::new(policy)),
        &audit,
        None,
    )
    .unwrap();
    let report = exec.step(now_ms()).unwrap();
    exec.shutdown().unwrap();
    assert_eq!(report.proposed.kind, ActionKind::Restart { replica: None });
    let text = std::fs::read_to_string(&audit).unwrap();
    let record: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["record"]["payload"]["fields"]["allowed_actions"].is_array())
        .unwrap_or_else(|| panic!("no record with allowed_actions:\n{text}"));
    let allowed: Vec<usize> = record["record"]["payload"]["fields"]["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(allowed[0], 0, "{record}");
    for kind in [
        "replace_node",
        "reallocate",
        "rollback",
        "shed_load",
        "failover",
    ] {
        assert!(
            !allowed.contains(&flat(0, kind)),
            "{kind} allowed: {record}"
        );
    }
    for kind in ["restart_service", "scale_out", "scale_in"] {
        assert!(
            allowed.contains(&flat(0, kind)),
            "{kind} not allowed: {record}"
        );
    }
}

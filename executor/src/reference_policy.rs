//! A hand-set reference policy, written as a real policy file through the agents crate's exporter,
//! so the whole policy-file path (save, load with schema checks, inference, action decoding) runs
//! live in tests, demos and benchmarks. It is not a trained policy: it heals the demo faults on its
//! own, where a briefly trained entity policy (`tests/e2e_trained_policy.rs`) still leans on the
//! confidence gate's fallback, so the tests of the healing path do not depend on training.
//!
//! Network (ReLU MLP over [`crate::decide::flat_feature_names`], one action kind,
//! `restart_replica`): for each service `s`, two hidden units
//! `h1 = relu(0.9 - svc_replicas_up_ratio)` and `h2 = relu(svc_replica_memory_max - 0.9)`;
//! logits: no-op 0, restart_replica on `s`: `100 (h1 + h2) - 6`. So a healthy cluster gives the
//! no-op probability about 0.995 (two services), and a replica down (of three: ratio 0.67) or above 90 % memory
//! makes restarting that service's worst replica almost certain.

use mend_agents::nn::{Activation, MlpParams, MlpSpec};
use mend_agents::policy::OutputKind;
use mend_agents::policy_file::TrainingInfo;
use mend_agents::{FeatureSchema as PolicySchema, MlpPolicy, PolicyFile, TrainSummary};
use mend_monitor::features::FeatureSchema;

use crate::decide::flat_feature_names;

/// The reference policy for `services` (sorted by name, as the monitor lists them).
pub fn reference_policy_file(services: &[String]) -> PolicyFile {
    let schema = FeatureSchema::builtin();
    let width = schema.width();
    let input = services.len() * width + schema.global.len();
    let hidden = 2 * services.len();
    let spec = MlpSpec {
        input,
        hidden: vec![hidden],
        output: 1 + services.len(),
        activation: Activation::Relu,
    };
    let mut params = MlpParams::zeros(&spec);
    let up = schema.column_index("svc_replicas_up_ratio").unwrap_or(0);
    let mem = schema.column_index("svc_replica_memory_max").unwrap_or(0);
    {
        let l0 = &mut params.layers[0];
        for s in 0..services.len() {
            let (h1, h2) = (2 * s, 2 * s + 1);
            l0.weight[h1 * input + s * width + up] = -1.0;
            l0.bias[h1] = 0.9;
            l0.weight[h2 * input + s * width + mem] = 1.0;
            l0.bias[h2] = -0.9;
        }
    }
    {
        let l1 = &mut params.layers[1];
        for s in 0..services.len() {
            let out = 1 + s;
            l1.weight[out * hidden + 2 * s] = 100.0;
            l1.weight[out * hidden + 2 * s + 1] = 100.0;
            l1.bias[out] = -6.0;
        }
    }
    let policy = MlpPolicy {
        algorithm: "reference".into(),
        output: OutputKind::Logits,
        net: params,
        exploration_eps: 0.0,
        normalisation: None,
    };
    PolicyFile::new(
        policy,
        PolicySchema::new(&flat_feature_names(services)),
        vec!["restart_replica".into()],
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
            config: serde_json::json!({"hand_set": "executor::reference_policy"}),
        },
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cluster::ClusterFile;
    use crate::decide::LivePolicy;
    use crate::decision::ActionKind;
    use crate::observe::Readings;
    use mend_monitor::features::FeatureExtractor;

    const CLUSTER: &str = r#"
namespace = "t"
[[services]]
name = "web"
process = { command = "x", replicas = 3 }
replica_metrics = { up = { scrape = "up" }, memory_utilization = { scrape = "m" } }
[[services]]
name = "api"
process = { command = "x", replicas = 1 }
replica_metrics = { up = { scrape = "up" } }
"#;

    fn readings(web_up: [f64; 3], web_mem: [f64; 3]) -> Readings {
        let mut r = Readings::default();
        r.replicas.insert("api".into(), 1);
        r.replicas.insert("web".into(), 3);
        r.replica.insert(("api".into(), 0, "up".into()), 1.0);
        for i in 0..3 {
            r.replica.insert(("web".into(), i, "up".into()), web_up[i]);
            r.replica
                .insert(("web".into(), i, "memory_utilization".into()), web_mem[i]);
        }
        r
    }

    #[test]
    fn saved_reference_policy_loads_and_restarts_the_worst_replica_only_when_needed() {
        let cluster = ClusterFile::parse(Path::new("c.toml"), CLUSTER, Path::new(".")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ref.safetensors");
        reference_policy_file(&cluster.service_names())
            .save(&path)
            .unwrap();
        let policy = LivePolicy::load(&path, &cluster).unwrap();
        let decide = |r: &Readings| {
            let f = FeatureExtractor::builtin().extract(&r.to_snapshot(1000));
            policy.decide(&f, r, &cluster).unwrap()
        };
        let healthy = decide(&readings([1.0; 3], [0.1; 3]));
        assert!(
            healthy.action.is_noop() && healthy.probability > 0.99,
            "{healthy:?}"
        );
        let down = decide(&readings([1.0, 0.0, 1.0], [0.1; 3]));
        assert_eq!(down.action.service, "web");
        assert_eq!(down.action.kind, ActionKind::Restart { replica: Some(1) });
        assert!(down.probability > 0.99);
        let leak = decide(&readings([1.0; 3], [0.1, 0.1, 0.97]));
        assert_eq!(leak.action.kind, ActionKind::Restart { replica: Some(2) });

        // A policy for another cluster (other services) is refused by the loader.
        let other = reference_policy_file(&["db".to_owned()]);
        other.save(&path).unwrap();
        let err = LivePolicy::load(&path, &cluster).unwrap_err().to_string();
        assert!(err.contains("ref.safetensors"), "{err}");
    }
}

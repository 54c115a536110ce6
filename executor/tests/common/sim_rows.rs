//! The simulator's side of the policy probe: what a policy sees and proposes on a simulated
//! scenario (`default`, or the drill-shaped `drill-like` the fixture candidates train on) when one
//! fault is injected into an otherwise quiet world, decision by decision, so the drill's live rows
//! (`examples/policy_probe.rs`) can be read next to the rows the policy was trained on. The
//! scenario's stochastic fault processes are thinned out (`rate_multiplier` 1e-6: none fires in
//! the window) and the fault is injected through the cluster env's `faults` reset option; the world
//! runs without actions up to one decision before the onset. Every decision is a no-op, so the
//! fault shows its symptoms as long as it lasts. Training uses the simulator (through the cluster
//! env), which the executor library never does: this lives in tests and examples only.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use mend_agents::PolicyFile;
use mend_envs::{ClusterConfig, ClusterEnv, Env, Info};
use mend_executor::decide::{SIM_ACTION_KINDS, masked_decision};

/// Where a probe fault lands, relative to the probed replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The replica itself.
    Replica,
    /// The node it runs on.
    Node,
    /// The zone of that node.
    Zone,
}

/// One injected fault of the simulator probe.
#[derive(Debug, Clone)]
pub struct SimFault {
    /// The scenario's fault kind.
    pub kind: &'static str,
    /// What it hits: the probed replica, its node or its zone.
    pub scope: Scope,
}

/// A simulated world to probe: a scenario, the replica the faults hit and the service whose row
/// is printed, and the faults that correspond to the drill's.
#[derive(Debug, Clone, Copy)]
pub struct SimProbe {
    /// Scenario name (for errors and the env).
    pub name: &'static str,
    /// Scenario text (TOML).
    pub text: &'static str,
    /// The `[faults]` line whose multiplier is set to 1e-6 (no stochastic fault in the window).
    pub rate_line: &'static str,
    /// The probed replica (one of three, as the drill's `web`).
    pub replica: &'static str,
    /// The service whose row is printed.
    pub service: &'static str,
    /// The faults, one probe each.
    pub faults: &'static [SimFault],
}

/// `default`: `catalog-0`; a process crash (kill -9), a process hang (SIGSTOP), faults that make
/// the replica unreachable with its node or zone (a node crash, a partition: what stood in for a
/// hang before the simulator modelled it), and a leak.
pub const DEFAULT: SimProbe = SimProbe {
    name: "default",
    text: include_str!("../../../scenarios/default.toml"),
    rate_line: "rate_multiplier = 30.0",
    replica: "catalog-0",
    service: "catalog",
    faults: &[
        SimFault {
            kind: "process_crash",
            scope: Scope::Replica,
        },
        SimFault {
            kind: "process_hang",
            scope: Scope::Replica,
        },
        SimFault {
            kind: "node_crash",
            scope: Scope::Node,
        },
        SimFault {
            kind: "partition",
            scope: Scope::Zone,
        },
        SimFault {
            kind: "memory_leak",
            scope: Scope::Replica,
        },
    ],
};

/// The drill-shaped training scenario (`fixtures/policy/drill-like.toml`): `web-0`; the drill's
/// three faults, kill -9, SIGSTOP hang and leak.
pub const DRILL_LIKE: SimProbe = SimProbe {
    name: "drill-like",
    text: include_str!("../fixtures/policy/drill-like.toml"),
    rate_line: "rate_multiplier = 1.0",
    replica: "web-0",
    service: "web",
    faults: &[
        SimFault {
            kind: "process_crash",
            scope: Scope::Replica,
        },
        SimFault {
            kind: "process_hang",
            scope: Scope::Replica,
        },
        SimFault {
            kind: "memory_leak",
            scope: Scope::Replica,
        },
    ],
};

/// Onset of the injected fault (simulated seconds): an hour in, before the scripted region outage
/// (half-way through a scenario whose horizon is shorter than two hours).
pub const ONSET_S: u64 = 3_600;

/// One decision of the simulator probe.
#[derive(Debug, Clone)]
pub struct SimDecision {
    /// Seconds since the fault's onset (negative: before it), to the millisecond.
    pub since_onset_s: f64,
    /// The policy's `1 - p[no-op]`.
    pub act_probability: f64,
    /// `kind on entity` of the likeliest action, or `no-op`.
    pub proposal: String,
    /// The service row's non-zero features, `name=value`.
    pub row: String,
}

/// Runs `fault` on the quiet `probe` world (seed `seed`) for `decisions` decisions from one
/// decision before the onset, the policy deciding on each observation under the env's mask
/// (nothing is applied).
pub fn probe_sim(
    policy: &PolicyFile,
    probe: &SimProbe,
    fault: &SimFault,
    decisions: usize,
    seed: u64,
) -> Result<Vec<SimDecision>, String> {
    let scenario = mend_sim::Scenario::from_toml_str(probe.text, probe.name).map_err(s)?;
    let mut env =
        ClusterEnv::new(std::sync::Arc::new(scenario), ClusterConfig::default()).map_err(s)?;
    if !probe.text.contains(probe.rate_line) {
        return Err(format!("{}: no `{}` line", probe.name, probe.rate_line));
    }
    let text = probe
        .text
        .replace(probe.rate_line, "rate_multiplier = 0.000001");
    // In milliseconds: `drill-like` decides every 0.5 s (whole seconds would make it 0).
    let interval_ms = env.scenario().spec().scenario.decision_interval.0;
    let target = target_name(&mut env, probe.replica, fault.scope)?;
    // An hour in, or half-way through a shorter episode (`drill-like`'s is 15 min).
    let onset_ms = (ONSET_S * 1000).min(env.scenario().spec().scenario.horizon.0 / 2);
    let start_ms = onset_ms
        .checked_sub(interval_ms)
        .ok_or(format!("{}: decision interval past the onset", probe.name))?;
    let options: Info = serde_json::from_value(serde_json::json!({
        "scenario": text,
        "start_time_s": start_ms as f64 / 1000.0,
        "faults": [{
            "at": format!("{onset_ms}ms"),
            "kind": fault.kind,
            "target": target,
            "duration": "2h",
        }],
    }))
    .map_err(s)?;
    let (mut obs, _) = env.reset(Some(seed), Some(&options)).map_err(s)?;
    let layout = env.layout().ok_or("the cluster env has a layout")?.clone();
    let names = layout.names().to_vec();
    let row_of = names
        .iter()
        .position(|n| n == probe.service)
        .ok_or(format!("no entity {}", probe.service))?;
    let schema = env.feature_schema().clone();
    let mut out = Vec::new();
    for i in 0..decisions {
        let mask = env.action_mask().ok_or("the cluster env masks actions")?;
        let choice = masked_decision(&policy.policy, &obs, &mask).map_err(s)?;
        let proposal = if choice.action == 0 {
            "no-op".to_owned()
        } else {
            let k = SIM_ACTION_KINDS.len();
            let (entity, kind) = (
                (choice.action - 1) / k,
                SIM_ACTION_KINDS[(choice.action - 1) % k],
            );
            format!("{kind} on {}", names[entity])
        };
        let entities = obs.as_entities().ok_or("entity observations")?;
        let row: Vec<String> = schema
            .columns
            .iter()
            .zip(entities.row(row_of))
            .filter(|(_, v)| **v != 0.0)
            .map(|(c, v)| format!("{}={v:.3}", c.name))
            .collect();
        out.push(SimDecision {
            since_onset_s: ((start_ms + i as u64 * interval_ms) as f64 - onset_ms as f64) / 1000.0,
            act_probability: choice.act_probability.unwrap_or(0.0),
            proposal,
            row: row.join(" "),
        });
        obs = env.step(0).map_err(s)?.obs;
    }
    Ok(out)
}

/// The name of `replica`, its node or its zone in `env`'s topology (after a plain reset).
fn target_name(env: &mut ClusterEnv, replica: &str, scope: Scope) -> Result<String, String> {
    env.reset(Some(0), None).map_err(s)?;
    let topo = env.simulation().ok_or("a cluster simulation")?.topology();
    let r = topo
        .replicas
        .iter()
        .find(|r| r.name == replica)
        .ok_or(format!("no replica {replica}"))?;
    let node = &topo.nodes[r.node.index()];
    Ok(match scope {
        Scope::Replica => replica.to_owned(),
        Scope::Node => node.name.clone(),
        Scope::Zone => topo.zones[node.zone.index()].name.clone(),
    })
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

//! The cluster env's per-step `info` and how much of it a step builds ([`StepInfo`]).
//!
//! | key | in | value |
//! |-----|----|-------|
//! | `reward_terms` | always | `{slo, infra, action, data_loss, masked_penalty}`: signed terms that sum to the reward |
//! | `applied` | always | `{kind, entity}` of the simulator action applied, or `null` |
//! | `masked_action` | always | true when a masked action was turned into a penalised no-op |
//! | `sim_time_s` | always | simulated time after the step |
//! | `reward_components` | [`StepInfo::Full`] | raw quantities of the step: `slo_violating_requests`, `infra_cost_usd`, `action_cost_usd`, `data_lost_writes` |
//! | `truth` | [`StepInfo::Full`] | ground truth: `active_faults` (`[kind, target index or null]` pairs) and `incidents_so_far` |
//!
//! Why two levels: every key and nested value of a `serde_json::Map` is a heap allocation, and the
//! full info is about 30 of them per step (7 % of a `default` step, issue 3). On a parallel vector
//! env the step's values are allocated on a worker thread and freed on the caller's, and those
//! cross-thread frees, not the building, made the full info cost a third of the parallel speed-up
//! (measured with `envs/examples/vector_speedup`). The compact info has 4 keys and 6 nested
//! values; ground truth stays available through [`StepInfo::Full`] or
//! [`super::ClusterEnv::simulation`].

use mend_sim::Simulation;
use mend_sim::scenario::schema::RewardSpec;
use mend_sim::truth::RewardComponents;
use serde_json::{Map, Value};

use crate::env::Info;

/// How much a cluster env step reports in `info` (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StepInfo {
    /// Reward terms, the applied action, the masked-action flag and the simulated time.
    #[default]
    Compact,
    /// Also the raw reward components and the ground truth (active faults, incidents).
    Full,
}

/// What one step did, for its info.
#[derive(Debug)]
pub(crate) struct StepFacts<'a> {
    /// Change of the reward components over the step.
    pub(crate) delta: &'a RewardComponents,
    /// Masked-action penalty charged (0 if none).
    pub(crate) penalty: f64,
    /// Applied simulator action kind and entity row, if any.
    pub(crate) applied: Option<(&'static str, usize)>,
    /// A masked action was turned into a penalised no-op.
    pub(crate) masked: bool,
}

fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// The step's reward terms (each already signed; they sum to the reward).
pub(crate) fn reward_terms(d: &RewardComponents, w: &RewardSpec, penalty: f64) -> Value {
    object([
        (
            "slo",
            Value::from(-d.slo_violating_requests * w.slo_violation_usd_per_request),
        ),
        (
            "infra",
            Value::from(-d.infra_cost_usd * w.infra_cost_weight),
        ),
        (
            "action",
            Value::from(-d.action_cost_usd * w.action_cost_weight),
        ),
        (
            "data_loss",
            Value::from(-d.data_lost_writes * w.data_loss_usd_per_write),
        ),
        ("masked_penalty", Value::from(-penalty)),
    ])
}

/// The info of a step at level `level`, after `sim` has advanced.
pub(crate) fn step_info(level: StepInfo, facts: &StepFacts<'_>, sim: &Simulation) -> Info {
    let mut info = Map::new();
    info.insert(
        "reward_terms".into(),
        reward_terms(facts.delta, sim.reward_weights(), facts.penalty),
    );
    let applied = facts.applied.map_or(Value::Null, |(kind, entity)| {
        object([("kind", Value::from(kind)), ("entity", Value::from(entity))])
    });
    info.insert("applied".into(), applied);
    info.insert("masked_action".into(), Value::Bool(facts.masked));
    info.insert("sim_time_s".into(), Value::from(sim.now().as_secs_f64()));
    if level == StepInfo::Full {
        let d = facts.delta;
        info.insert(
            "reward_components".into(),
            object([
                (
                    "slo_violating_requests",
                    Value::from(d.slo_violating_requests),
                ),
                ("infra_cost_usd", Value::from(d.infra_cost_usd)),
                ("action_cost_usd", Value::from(d.action_cost_usd)),
                ("data_lost_writes", Value::from(d.data_lost_writes)),
            ]),
        );
        info.insert("truth".into(), truth(sim));
    }
    info
}

/// Ground truth now: active faults and the incident count.
fn truth(sim: &Simulation) -> Value {
    let faults = sim
        .active_faults()
        .map(|(kind, target)| Value::Array(vec![Value::from(kind.name()), Value::from(target)]))
        .collect();
    object([
        ("active_faults", Value::Array(faults)),
        ("incidents_so_far", Value::from(sim.truth().incidents.len())),
    ])
}

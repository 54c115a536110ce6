//! The agent registry: maps an experiment file's `kind` to a constructor, so a new agent plugs in by
//! adding one entry to [`KINDS`]. A constructor checks the entry's hyperparameters (errors name the
//! field) and returns a [`PolicyFactory`], which makes a fresh policy for each episode (baselines with
//! timers are stateful, so no state leaks from one episode into the next).
//!
//! Fixed policies: `no-op`, `random`, `reactive` and `runbook` (the last two from
//! `mend_agents::baselines`). Learned kinds ([`learned`]): `tabular` (and `ppo`), which the runner
//! trains first and evaluates through their exported policy files.

pub mod learned;

use mend_agents::baselines::{
    Controller, NoOpPolicy, ReactiveConfig, ReactiveController, Runbook, Stateful,
};
use mend_agents::policy::random_valid_action;
use mend_agents::{ActionScores, AgentError, Policy};
use mend_envs::{Action, Observation};
use mend_monitor::features::FeatureSchema;
use rand::RngCore;

use crate::experiment::{AgentEntry, ExperimentError};

/// Makes the policy of one agent for one episode.
pub trait PolicyFactory: Send + Sync + std::fmt::Debug {
    /// A fresh policy for an env with `n_actions` actions.
    fn make(&self, n_actions: usize) -> Box<dyn Policy>;
}

/// A configured agent: a fixed policy, or a learner that the runner trains first.
#[derive(Debug)]
pub enum Built {
    /// Evaluated as is (baselines).
    Fixed(Box<dyn PolicyFactory>),
    /// Trained on `scenarios.train` per training seed, then evaluated from its policy files.
    Learned(Box<dyn learned::LearnerFactory>),
}

impl Built {
    /// Whether the kind is trained before evaluation.
    pub fn is_learned(&self) -> bool {
        matches!(self, Built::Learned(_))
    }
}

/// A kind's constructor: checks the entry's `params` and returns the configured agent.
pub type BuildFn = fn(&toml::Table, &ParamContext<'_>) -> Result<Built, ExperimentError>;

/// One registered agent kind.
#[derive(Debug, Clone, Copy)]
pub struct AgentKind {
    /// The `kind` string of experiment files.
    pub name: &'static str,
    /// One line for `--help` and the README.
    pub description: &'static str,
    /// Builds the factory from the entry's `params` (already known to belong to this kind).
    pub build: BuildFn,
}

/// Every registered kind, in the order `--list-agents` prints them.
pub const KINDS: &[AgentKind] = &[
    AgentKind {
        name: "no-op",
        description: "never acts (the simulator's faults run their course)",
        build: build_no_op,
    },
    AgentKind {
        name: "random",
        description: "a uniformly random valid action each decision (seeded per episode)",
        build: build_random,
    },
    AgentKind {
        name: "reactive",
        description: "Kubernetes-style controller: liveness restarts, HPA on CPU, static alert rules",
        build: build_reactive,
    },
    AgentKind {
        name: "runbook",
        description: "expert runbook: symptom -> ordered remediations with escalation (TOML file)",
        build: build_runbook,
    },
    AgentKind {
        name: "tabular",
        description: "tabular Q-learning on a size-independent bucketed state (trained first)",
        build: |p, c| learned::build_tabular(p, c).map(Built::Learned),
    },
    AgentKind {
        name: "ppo",
        description: "PPO with an entity network (any cluster size; trained first)",
        build: |p, c| learned::build_ppo(p, c).map(Built::Learned),
    },
    AgentKind {
        name: "dqn",
        description: "DQN with the entity network as Q-function (any cluster size; trained first)",
        build: |p, c| learned::build_dqn(p, c).map(Built::Learned),
    },
];

/// Where an entry's hyperparameters come from, for error messages.
#[derive(Debug)]
pub struct ParamContext<'a> {
    /// The experiment file.
    pub file: &'a str,
    /// Index of the `[[agents]]` entry.
    pub index: usize,
    /// The entry's name in results.
    pub agent: &'a str,
}

impl ParamContext<'_> {
    /// An error about `agents[index].params.<key>`.
    pub fn invalid(&self, key: &str, expected: &str, found: String) -> ExperimentError {
        ExperimentError::Invalid {
            file: self.file.to_string(),
            field: format!("agents[{}].params.{key}", self.index),
            expected: format!("{expected} (agent `{}`)", self.agent),
            found,
        }
    }

    /// Rejects any key not in `allowed`.
    pub fn only(&self, params: &toml::Table, allowed: &[&str]) -> Result<(), ExperimentError> {
        match params.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(self.invalid(
                key,
                &if allowed.is_empty() {
                    "no hyperparameters for this kind".to_string()
                } else {
                    format!("one of: {}", allowed.join(", "))
                },
                "an unknown key".into(),
            )),
            None => Ok(()),
        }
    }
}

/// Builds the policy factory of a fixed-policy entry (`index` of `file`); a learned kind is an
/// error (it needs training first: `mend run`/`mend train`, or its policy file).
pub fn build(
    entry: &AgentEntry,
    index: usize,
    file: &str,
) -> Result<Box<dyn PolicyFactory>, ExperimentError> {
    match build_agent(entry, index, file)? {
        Built::Fixed(factory) => Ok(factory),
        Built::Learned(_) => Err(ExperimentError::Invalid {
            file: file.to_string(),
            field: format!("agents[{index}].kind"),
            expected: "a fixed-policy kind here (a learned kind is trained by `mend run` or \
                       `mend train` and then used through its policy file)"
                .into(),
            found: format!("{:?}", entry.kind),
        }),
    }
}

/// Builds experiment entry `index` of `file`: checks its kind and hyperparameters.
pub fn build_agent(entry: &AgentEntry, index: usize, file: &str) -> Result<Built, ExperimentError> {
    let kind =
        KINDS
            .iter()
            .find(|k| k.name == entry.kind)
            .ok_or_else(|| ExperimentError::Invalid {
                file: file.to_string(),
                field: format!("agents[{index}].kind"),
                expected: format!(
                    "a registered agent kind ({})",
                    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                ),
                found: format!("{:?}", entry.kind),
            })?;
    (kind.build)(
        &entry.params,
        &ParamContext {
            file,
            index,
            agent: entry.display_name(),
        },
    )
}

fn build_no_op(params: &toml::Table, ctx: &ParamContext<'_>) -> Result<Built, ExperimentError> {
    ctx.only(params, &[])?;
    Ok(Built::Fixed(Box::new(NoOpFactory)))
}

fn build_random(params: &toml::Table, ctx: &ParamContext<'_>) -> Result<Built, ExperimentError> {
    ctx.only(params, &["act_probability"])?;
    let p = match params.get("act_probability") {
        None => 1.0,
        Some(v) => match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
            Some(p) if (0.0..=1.0).contains(&p) => p,
            _ => {
                return Err(ctx.invalid("act_probability", "a number in [0, 1]", v.to_string()));
            }
        },
    };
    Ok(Built::Fixed(Box::new(RandomFactory { act_probability: p })))
}

/// The action-kind names the cluster env uses, in its action layout's order.
pub(crate) fn cluster_kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

fn build_reactive(params: &toml::Table, ctx: &ParamContext<'_>) -> Result<Built, ExperimentError> {
    let config: ReactiveConfig = toml::Value::Table(params.clone())
        .try_into()
        .map_err(|e: toml::de::Error| {
            ctx.invalid(
                "*",
                "fields of the reactive controller's config (mend_agents::baselines::ReactiveConfig)",
                e.message().to_string(),
            )
        })?;
    let controller =
        ReactiveController::new(config, FeatureSchema::builtin(), cluster_kind_names())
            .map_err(|e| ctx.invalid("*", "a valid reactive controller config", e.to_string()))?;
    Ok(Built::Fixed(Box::new(ControllerFactory(controller))))
}

fn build_runbook(params: &toml::Table, ctx: &ParamContext<'_>) -> Result<Built, ExperimentError> {
    ctx.only(params, &["file"])?;
    let runbook = match params.get("file") {
        None => Runbook::default_runbook(FeatureSchema::builtin(), cluster_kind_names()),
        Some(toml::Value::String(path)) => Runbook::from_file(
            std::path::Path::new(path),
            FeatureSchema::builtin(),
            cluster_kind_names(),
        ),
        Some(other) => {
            return Err(ctx.invalid("file", "a runbook file path (string)", other.to_string()));
        }
    }
    .map_err(|e| {
        ctx.invalid(
            "file",
            "a valid runbook (agents/runbooks/README)",
            e.to_string(),
        )
    })?;
    Ok(Built::Fixed(Box::new(ControllerFactory(runbook))))
}

/// A stateful baseline: each episode gets a fresh copy of the configured controller (no timers
/// carried over).
#[derive(Debug)]
struct ControllerFactory<C>(C);

impl<C: Controller + Sync + 'static> PolicyFactory for ControllerFactory<C> {
    fn make(&self, n_actions: usize) -> Box<dyn Policy> {
        Box::new(Stateful::new(self.0.clone(), n_actions))
    }
}

#[derive(Debug)]
struct NoOpFactory;

impl PolicyFactory for NoOpFactory {
    fn make(&self, n_actions: usize) -> Box<dyn Policy> {
        Box::new(NoOpPolicy { n_actions })
    }
}

#[derive(Debug)]
struct RandomFactory {
    act_probability: f64,
}

impl PolicyFactory for RandomFactory {
    fn make(&self, n_actions: usize) -> Box<dyn Policy> {
        Box::new(RandomPolicy {
            n_actions,
            act_probability: self.act_probability,
        })
    }
}

/// With probability `act_probability` a uniformly random valid action (no-op included), else the
/// no-op. Always samples, whatever `deterministic` says: randomness is what it is for.
#[derive(Debug)]
struct RandomPolicy {
    n_actions: usize,
    act_probability: f64,
}

impl Policy for RandomPolicy {
    fn algorithm(&self) -> &str {
        "random"
    }
    fn n_actions(&self) -> usize {
        self.n_actions
    }
    fn action_scores(
        &self,
        _obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        let valid: Vec<bool> = (0..self.n_actions)
            .map(|a| mask.is_none_or(|m| m.get(a).copied().unwrap_or(false)))
            .collect();
        let n_valid = valid.iter().filter(|v| **v).count().max(1) as f32;
        let p = self.act_probability as f32;
        Ok(ActionScores::Probabilities(
            valid
                .iter()
                .enumerate()
                .map(|(a, v)| {
                    let uniform = if *v { p / n_valid } else { 0.0 };
                    uniform + if a == 0 { 1.0 - p } else { 0.0 }
                })
                .collect(),
        ))
    }
    fn predict(
        &self,
        _obs: &Observation,
        mask: Option<&[bool]>,
        _deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        use rand::Rng;
        if self.act_probability < 1.0 && rng.random::<f64>() >= self.act_probability {
            return Ok(0);
        }
        Ok(random_valid_action(self.n_actions, mask, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn entry(kind: &str, params: &str) -> AgentEntry {
        AgentEntry {
            name: None,
            kind: kind.into(),
            params: toml::from_str(params).unwrap(),
            detector: None,
            train_timesteps: None,
        }
    }

    #[test]
    fn unknown_kind_lists_the_registered_ones() {
        let err = build(&entry("alphago", ""), 2, "x.toml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("agents[2].kind") && text.contains("no-op"),
            "{text}"
        );
    }

    #[test]
    fn random_respects_the_mask_and_rejects_bad_probabilities() {
        let factory = build(&entry("random", ""), 0, "x.toml").unwrap();
        let policy = factory.make(5);
        let mask = [true, false, true, false, false];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let obs = Observation::Vector(vec![]);
        let picks: Vec<usize> = (0..200)
            .map(|_| policy.predict(&obs, Some(&mask), true, &mut rng).unwrap())
            .collect();
        assert!(picks.iter().all(|a| mask[*a]));
        assert!(picks.contains(&0) && picks.contains(&2));
        let err = build(&entry("random", "act_probability = 1.5"), 0, "x.toml").unwrap_err();
        assert!(err.to_string().contains("agents[0].params.act_probability"));
        let err = build(&entry("no-op", "gamma = 0.9"), 3, "x.toml").unwrap_err();
        assert!(err.to_string().contains("agents[3].params.gamma"));
    }

    #[test]
    fn baselines_build_and_reject_bad_settings() {
        assert!(build(&entry("reactive", ""), 0, "x.toml").is_ok());
        assert!(build(&entry("reactive", "hpa_target_cpu = 0.6"), 0, "x.toml").is_ok());
        let err = build(&entry("reactive", "hpa_target = 0.6"), 1, "x.toml").unwrap_err();
        assert!(err.to_string().contains("agents[1].params"), "{err}");
        assert!(err.to_string().contains("hpa_target"), "{err}");
        assert!(build(&entry("runbook", ""), 0, "x.toml").is_ok());
        let err = build(
            &entry("runbook", "file = \"/nonexistent.toml\""),
            2,
            "x.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("agents[2].params.file"), "{err}");
    }

    #[test]
    fn ppo_takes_a_runbook_warm_start_and_names_its_bad_fields() {
        let warm = "warm_start = { teacher = \"runbook\", steps = 2048, act_weight = 6.0 }";
        assert!(matches!(
            build_agent(&entry("ppo", warm), 0, "x.toml"),
            Ok(Built::Learned(_))
        ));
        let bad = "warm_start = { teacher = \"runbook\", act_weight = -1.0 }";
        let Err(err) = build_agent(&entry("ppo", bad), 4, "x.toml") else {
            panic!("a negative act_weight was accepted");
        };
        let err = err.to_string();
        assert!(
            err.contains("agents[4].params") && err.contains("act_weight"),
            "{err}"
        );
    }
}

//! Validation of a parsed experiment, before any work starts: names, scenario sets (held-out
//! evaluation scenarios exist, are cluster scenarios and are not trained on), seeds (train and eval
//! disjoint), budgets, agents (known kinds, valid hyperparameters, unique names) and the baseline.
//! Each failure is an [`ExperimentError`] naming the file, the field and what was expected.

use mend_sim::scenario::ModelKind;
use thiserror::Error;

use super::schema::Experiment;
use crate::runner::seeding::TRAINING_SEED_BIT;
use crate::{agents_registry, scenarios};

/// Why an experiment file was rejected.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The file could not be read.
    #[error("{file}: cannot read the experiment file: {message}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// The text is not TOML of the experiment schema (syntax, unknown or missing keys, wrong types).
    #[error("{file}{}: {message}{} (schema: experiments/README.md)", line.map(|l| format!(":{l}")).unwrap_or_default(), if source_line.is_empty() { String::new() } else { format!(" in `{source_line}`") })]
    Parse {
        /// The file.
        file: String,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// The text of that line (trimmed), so the key in question is visible.
        source_line: String,
        /// The parser's message (names the key).
        message: String,
    },
    /// A field holds a value the schema does not allow.
    #[error("{file}: field `{field}`: expected {expected}, found {found}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted path of the field, e.g. `agents[1].params.epsilon`.
        field: String,
        /// What is allowed.
        expected: String,
        /// What the file holds.
        found: String,
    },
}

/// Checks a detector field (`detectors.alerting`, `agents[i].detector`): a tuned spec's
/// parameters (errors name `FIELD.PARAMETER`), then that the rules build.
fn check_detector(file: &str, field: &str, detector: &str) -> Result<(), ExperimentError> {
    use mend_monitor::alerting::{SPEC_PARAMETERS, TUNABLE_FAMILIES, TunedDetector};
    let invalid = |field: String, expected: String, found: String| ExperimentError::Invalid {
        file: file.to_string(),
        field,
        expected,
        found,
    };
    if let Err(err) = TunedDetector::parse(detector) {
        let (field, expected) = match err.parameter() {
            Some(p) => (
                format!("{field}.{p}"),
                SPEC_PARAMETERS
                    .iter()
                    .find(|(name, _)| *name == p)
                    .map_or_else(
                        || "one of the parameters z, for_s".to_string(),
                        |(_, e)| e.to_string(),
                    ),
            ),
            None => (
                field.to_string(),
                format!(
                    "a registry name, or a tuned setting of {} such as \
                     {{ name = \"median_mad\", z = 8.0, for_s = 60.0 }}",
                    TUNABLE_FAMILIES.join(", ")
                ),
            ),
        };
        return Err(invalid(field, expected, format!("{detector:?} ({err})")));
    }
    if let Err(err) = mend_monitor::alerting::RuleSet::for_detector(detector) {
        return Err(invalid(
            field.to_string(),
            "a detector of mend_monitor's registry (e.g. static_threshold, ewma, median_mad), \
             or a tuned setting such as { name = \"median_mad\", z = 8.0, for_s = 60.0 }; \
             omit an agent's detector to use [detectors] alerting"
                .to_string(),
            format!("{detector:?} ({err})"),
        ));
    }
    Ok(())
}

/// Each training chunk (one `Agent::learn` call between checkpoints) restarts the sub-envs'
/// episodes, so a chunk must let every sub-env finish at least one episode of every training
/// scenario, or training never sees an episode end (and logs no return).
fn check_chunks(
    e: &Experiment,
    file: &str,
    num_envs: &[(usize, usize)],
) -> Result<(), ExperimentError> {
    for arg in &e.scenarios.train {
        let Ok(scenario) = scenarios::load(arg) else {
            continue; // reported with its field above
        };
        let spec = &scenario.spec().scenario;
        let steps = spec.horizon.0.div_ceil(spec.decision_interval.0.max(1));
        for &(i, n) in num_envs {
            let need = steps.saturating_mul(n as u64);
            if e.budget.checkpoint_timesteps < need {
                return Err(ExperimentError::Invalid {
                    file: file.to_string(),
                    field: "budget.checkpoint_timesteps".into(),
                    expected: format!(
                        "at least {need} = {n} sub-envs of agents[{i}] ({:?}) x {steps} steps per \
                         episode of {arg:?}: each chunk between checkpoints restarts the episodes, \
                         so a shorter one never finishes an episode",
                        e.agents[i].display_name()
                    ),
                    found: e.budget.checkpoint_timesteps.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Whether a learned agent entry starts from a teacher (`warm_start` in its `params`, or in its
/// kind's defaults, which are the agents crate's presets the registry lays `params` over): then zero
/// training steps leave a pre-trained agent, not an untrained one.
fn has_warm_start(agent: &super::schema::AgentEntry) -> bool {
    if agent.params.contains_key("warm_start") {
        return true;
    }
    match agent.kind.as_str() {
        "dqn" => mend_agents::DqnConfig::cluster_default(0)
            .warm_start
            .is_some(),
        "ppo" => mend_agents::PpoConfig::cluster_default(0)
            .warm_start
            .is_some(),
        _ => false,
    }
}

/// Checks `[detectors] failure_prediction`: listed agent names, training scenarios to learn from,
/// and each setting's range (errors name `detectors.failure_prediction.KEY`).
fn check_failure_prediction(e: &Experiment, file: &str) -> Result<(), ExperimentError> {
    let Some(p) = &e.detectors.failure_prediction else {
        return Ok(());
    };
    let invalid = |key: &str, expected: &str, found: String| ExperimentError::Invalid {
        file: file.to_string(),
        field: format!("detectors.failure_prediction.{key}"),
        expected: expected.to_string(),
        found,
    };
    let names: Vec<&str> = e.agents.iter().map(|a| a.display_name()).collect();
    if p.agents.is_empty() {
        return Err(invalid(
            "agents",
            &format!(
                "the names of the agents whose observations carry the risk score, at least one of: {}",
                names.join(", ")
            ),
            "an empty list".into(),
        ));
    }
    for (i, agent) in p.agents.iter().enumerate() {
        if !names.contains(&agent.as_str()) {
            return Err(invalid(
                &format!("agents[{i}]"),
                &format!("the name of a listed agent ({})", names.join(", ")),
                format!("{agent:?}"),
            ));
        }
        if p.agents[..i].contains(agent) {
            return Err(invalid(
                &format!("agents[{i}]"),
                "each agent named once",
                format!("{agent:?}, already listed"),
            ));
        }
    }
    if e.scenarios.train.is_empty() {
        return Err(ExperimentError::Invalid {
            file: file.to_string(),
            field: "scenarios.train".into(),
            expected: "at least one training scenario (the failure predictor is trained on them)"
                .into(),
            found: "an empty list".into(),
        });
    }
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(p.horizon_s) {
        return Err(invalid(
            "horizon_s",
            "a finite number of seconds > 0 (e.g. 600)",
            p.horizon_s.to_string(),
        ));
    }
    if !positive(p.trend_s) {
        return Err(invalid(
            "trend_s",
            "a finite number of seconds > 0 (e.g. 600)",
            p.trend_s.to_string(),
        ));
    }
    if !(1..=1024).contains(&p.hidden) {
        return Err(invalid(
            "hidden",
            "1 to 1024 hidden units",
            p.hidden.to_string(),
        ));
    }
    if p.epochs == 0 {
        return Err(invalid(
            "epochs",
            "at least 1 pass over the samples",
            "0".into(),
        ));
    }
    if p.seeds < 2 {
        return Err(invalid(
            "seeds",
            "at least 2 simulated runs per training scenario (the last one is held out to measure the predictor)",
            p.seeds.to_string(),
        ));
    }
    if p.batch_size == 0 {
        return Err(invalid(
            "batch_size",
            "at least 1 sample per minibatch",
            "0".into(),
        ));
    }
    if !positive(p.learning_rate) {
        return Err(invalid(
            "learning_rate",
            "a finite number > 0 (e.g. 0.003)",
            p.learning_rate.to_string(),
        ));
    }
    Ok(())
}

/// Checks everything the schema's types cannot express.
pub fn check(e: &Experiment, file: &str) -> Result<(), ExperimentError> {
    let invalid = |field: &str, expected: &str, found: String| ExperimentError::Invalid {
        file: file.to_string(),
        field: field.to_string(),
        expected: expected.to_string(),
        found,
    };
    let name = &e.experiment.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "experiment.name",
            "a non-empty name of letters, digits, `-` and `_` (it names the results folder)",
            format!("{name:?}"),
        ));
    }
    if e.scenarios.eval.is_empty() {
        return Err(invalid(
            "scenarios.eval",
            "at least one held-out evaluation scenario",
            "an empty list".into(),
        ));
    }
    for (set, list) in [("train", &e.scenarios.train), ("eval", &e.scenarios.eval)] {
        for (i, arg) in list.iter().enumerate() {
            let field = format!("scenarios.{set}[{i}]");
            let scenario = scenarios::load(arg).map_err(|err| {
                invalid(
                    &field,
                    "a scenario file or built-in name",
                    format!("{arg:?} ({err:#})"),
                )
            })?;
            if scenario.model() != ModelKind::Cluster {
                return Err(invalid(
                    &field,
                    "a cluster scenario (agents act on a cluster)",
                    format!("{arg:?}, a {:?} model", scenario.model()),
                ));
            }
        }
    }
    if let Some((i, arg)) = e
        .scenarios
        .eval
        .iter()
        .enumerate()
        .find(|(_, s)| !e.scenarios.in_distribution && e.scenarios.train.contains(s))
    {
        return Err(invalid(
            &format!("scenarios.eval[{i}]"),
            "a scenario held out from training (not in scenarios.train; set \
             `in_distribution = true` to evaluate on training scenarios)",
            format!("{arg:?}, also a training scenario"),
        ));
    }
    if e.seeds.eval.count == 0 {
        return Err(invalid(
            "seeds.eval.count",
            "at least 1 evaluation seed (20 or more for the paper's claims)",
            "0".into(),
        ));
    }
    if e.seeds.train.overlaps(&e.seeds.eval) {
        return Err(invalid(
            "seeds.eval",
            "seeds disjoint from seeds.train (evaluation on unseen seeds)",
            format!(
                "{}..{} overlapping training seeds {}..{}",
                e.seeds.eval.start,
                e.seeds.eval.start.saturating_add(e.seeds.eval.count),
                e.seeds.train.start,
                e.seeds.train.start.saturating_add(e.seeds.train.count)
            ),
        ));
    }
    if e.budget.eval_episodes == 0 {
        return Err(invalid(
            "budget.eval_episodes",
            "at least 1 episode per job",
            "0".into(),
        ));
    }
    if e.agents.is_empty() {
        return Err(invalid(
            "agents",
            "at least one [[agents]] entry",
            "none".into(),
        ));
    }
    if e.budget.checkpoint_timesteps == 0 {
        return Err(invalid(
            "budget.checkpoint_timesteps",
            "at least 1 environment step between training checkpoints",
            "0".into(),
        ));
    }
    check_detector(file, "detectors.alerting", &e.detectors.alerting)?;
    if let Some(seed) = e.seeds.eval.seeds().find(|s| *s >= TRAINING_SEED_BIT) {
        return Err(invalid(
            "seeds.eval",
            "seeds below 2^63 (training episodes use seeds with the top bit set, so evaluation never meets a training episode)",
            seed.to_string(),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut learned: Option<usize> = None;
    let mut num_envs: Vec<(usize, usize)> = Vec::new();
    for (i, agent) in e.agents.iter().enumerate() {
        let name = agent.display_name();
        if seen.contains(&name) {
            return Err(invalid(
                &format!("agents[{i}].name"),
                "a name not used by another agent",
                format!("{name:?}, already used"),
            ));
        }
        seen.push(name);
        if let Some(detector) = &agent.detector {
            check_detector(file, &format!("agents[{i}].detector"), detector)?;
        }
        match agents_registry::build_agent(agent, i, file)? {
            agents_registry::Built::Learned(factory) => {
                learned.get_or_insert(i);
                num_envs.push((i, factory.num_envs()));
                // Zero steps: the warm start alone (pre-trained, not trained further) is an agent;
                // without a warm start it would be the untrained initial network.
                if e.train_timesteps_of(i) == 0 && !has_warm_start(agent) {
                    let (field, found) = if agent.train_timesteps.is_some() {
                        (format!("agents[{i}].train_timesteps"), "0".to_string())
                    } else {
                        (
                            "budget.train_timesteps".to_string(),
                            format!("0 (agents[{i}] has no train_timesteps of its own)"),
                        )
                    };
                    return Err(invalid(
                        &field,
                        &format!(
                            "at least 1 training step for agents[{i}] ({:?}, a learned {:?} agent                              without a warm start; 0 is allowed only with `params.warm_start`,                              where it means the warm start alone)",
                            agent.display_name(),
                            agent.kind
                        ),
                        found,
                    ));
                }
            }
            agents_registry::Built::Fixed(_) if agent.train_timesteps.is_some() => {
                return Err(invalid(
                    &format!("agents[{i}].train_timesteps"),
                    "no training budget here: only learned kinds (tabular, ppo, dqn) train",
                    format!("{:?} is a fixed-policy kind", agent.kind),
                ));
            }
            agents_registry::Built::Fixed(_) => {}
        }
    }
    if let Some(i) = learned {
        let kind = &e.agents[i].kind;
        if e.scenarios.train.is_empty() {
            return Err(invalid(
                "scenarios.train",
                &format!(
                    "at least one training scenario (agents[{i}] is a learned {kind:?} agent)"
                ),
                "an empty list".into(),
            ));
        }
        if e.seeds.train.count == 0 {
            return Err(invalid(
                "seeds.train.count",
                &format!("at least 1 training seed (agents[{i}] is a learned {kind:?} agent)"),
                "0".into(),
            ));
        }
        check_chunks(e, file, &num_envs)?;
    }
    check_failure_prediction(e, file)?;
    let baseline = e.baseline();
    if !seen.contains(&baseline.as_str()) {
        return Err(invalid(
            "experiment.baseline",
            &format!("the name of a listed agent ({})", seen.join(", ")),
            format!("{baseline:?}"),
        ));
    }
    if let Some(framework) = &e.experiment.framework {
        if !seen.contains(&framework.as_str()) {
            return Err(invalid(
                "experiment.framework",
                &format!("the name of a listed agent ({})", seen.join(", ")),
                format!("{framework:?}"),
            ));
        }
        if *framework == baseline {
            return Err(invalid(
                "experiment.framework",
                "an agent other than the baseline (the paper table compares the two)",
                format!("{framework:?}, also experiment.baseline"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::experiment::{ExperimentError, from_toml_str};

    /// An experiment with one learned agent `agent` (TOML lines of its `[[agents]]` entry) and
    /// `budget` lines.
    fn experiment(agent: &str, budget: &str) -> Result<(), ExperimentError> {
        let text = format!(
            "[experiment]\nname = \"z\"\nseed = 1\n\n[scenarios]\ntrain = [\"tiny\"]\neval = [\"default\"]\n\n\
             [seeds]\ntrain = {{ start = 0, count = 1 }}\neval = {{ start = 100, count = 2 }}\n\n\
             [budget]\neval_episodes = 1\n{budget}\n\n[[agents]]\nkind = \"no-op\"\n\n[[agents]]\n{agent}\n"
        );
        from_toml_str(&text, "z.toml").map(|_| ())
    }

    /// The failure-prediction table's errors name the file, the field and what was expected.
    #[test]
    fn failure_prediction_errors_name_the_field_and_the_expected_value() {
        let with = |table: &str| {
            let text = format!(
                "[experiment]\nname = \"z\"\n\n[scenarios]\ntrain = [\"tiny\"]\neval = [\"default\"]\n\n\
                 [seeds]\ntrain = {{ start = 0, count = 1 }}\neval = {{ start = 100, count = 2 }}\n\n\
                 [detectors]\nfailure_prediction = {table}\n\n[[agents]]\nkind = \"no-op\"\n\n\
                 [[agents]]\nkind = \"reactive\"\n"
            );
            from_toml_str(&text, "z.toml")
        };
        let e = with("{ agents = [\"reactive\"] }").unwrap();
        assert!(!e.uses_failure_prediction(0) && e.uses_failure_prediction(1));
        assert_eq!(
            e.detectors.failure_prediction.as_ref().unwrap().horizon_s,
            600.0
        );
        for (table, field, expected) in [
            (
                "{ agents = [] }",
                "detectors.failure_prediction.agents",
                "at least one of: no-op, reactive",
            ),
            (
                "{ agents = [\"ppo\"] }",
                "detectors.failure_prediction.agents[0]",
                "a listed agent",
            ),
            (
                "{ agents = [\"no-op\", \"no-op\"] }",
                "detectors.failure_prediction.agents[1]",
                "named once",
            ),
            (
                "{ agents = [\"no-op\"], horizon_s = 0 }",
                "detectors.failure_prediction.horizon_s",
                "> 0",
            ),
            (
                "{ agents = [\"no-op\"], trend_s = -5.0 }",
                "detectors.failure_prediction.trend_s",
                "> 0",
            ),
            (
                "{ agents = [\"no-op\"], hidden = 0 }",
                "detectors.failure_prediction.hidden",
                "1 to 1024",
            ),
            (
                "{ agents = [\"no-op\"], epochs = 0 }",
                "detectors.failure_prediction.epochs",
                "at least 1",
            ),
            (
                "{ agents = [\"no-op\"], seeds = 1 }",
                "detectors.failure_prediction.seeds",
                "held out",
            ),
            (
                "{ agents = [\"no-op\"], batch_size = 0 }",
                "detectors.failure_prediction.batch_size",
                "at least 1",
            ),
            (
                "{ agents = [\"no-op\"], learning_rate = 0.0 }",
                "detectors.failure_prediction.learning_rate",
                "> 0",
            ),
        ] {
            let err = with(table).unwrap_err().to_string();
            for needle in ["z.toml", field, expected] {
                assert!(
                    err.contains(needle),
                    "{table}: {needle:?} missing from: {err}"
                );
            }
        }
        // A misspelt key is a parse error naming it and the line.
        let err = with("{ agents = [\"no-op\"], horizon = 600 }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("z.toml:") && err.contains("horizon"), "{err}");
    }

    const WARM_DQN: &str =
        "kind = \"dqn\"\nparams = { warm_start = { teacher = \"runbook\", steps = 64 } }";

    #[test]
    fn zero_training_steps_are_accepted_for_an_agent_with_a_warm_start() {
        experiment(&format!("{WARM_DQN}\ntrain_timesteps = 0"), "").unwrap();
        let ppo = "kind = \"ppo\"\ntrain_timesteps = 0\nparams = { warm_start = { teacher = \"reactive\" } }";
        experiment(ppo, "").unwrap();
        // Through the shared budget too.
        experiment(WARM_DQN, "train_timesteps = 0").unwrap();
    }

    #[test]
    fn zero_training_steps_without_a_warm_start_name_the_field_and_the_way_out() {
        for (agent, budget, field) in [
            (
                "kind = \"dqn\"\ntrain_timesteps = 0",
                "",
                "agents[1].train_timesteps",
            ),
            (
                "kind = \"tabular\"",
                "train_timesteps = 0",
                "budget.train_timesteps",
            ),
            (
                "kind = \"ppo\"",
                "train_timesteps = 0",
                "budget.train_timesteps",
            ),
        ] {
            let err = experiment(agent, budget).unwrap_err().to_string();
            for needle in ["z.toml", field, "at least 1", "warm_start", "agents[1]"] {
                assert!(err.contains(needle), "{needle:?} missing from: {err}");
            }
        }
        // A warm-started agent does not excuse another one without.
        let two = format!("{WARM_DQN}\n\n[[agents]]\nkind = \"tabular\"\nname = \"t\"");
        let err = experiment(&two, "train_timesteps = 0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("agents[2]"), "{err}");
    }
}

//! `mend/Cluster-v0`: the self-healing environment over the `sim` world (issue 3, item 7).
//!
//! - Observation: `Observation::Entities`, one row per service and node plus global features, built
//!   by `mend_monitor::features` (schema v4) from the scraped telemetry, the env's own action
//!   history (age of its last action on the row, whether it still runs, how many in the last ten
//!   minutes; `history`), the seconds each row's alert has been active under the env's own
//!   detector bank ([`ClusterConfig::alert_detector`], `observe`) and each service's failure risk
//!   under the env's own predictor ([`ClusterConfig::risk_model`], 0 without one) only; ground
//!   truth (active faults) is reported in `info["truth"]` (with [`StepInfo::Full`]), never in the
//!   observation.
//! - Action: flat Discrete `0 = no-op, 1 + entity * N_KINDS + kind` ([`layout`]), with a mask of
//!   what the simulator accepts now; [`ClusterAction`] is the structured form.
//! - Time: each step advances the world by the scenario's `decision_interval`; the episode is
//!   truncated at the scenario's horizon (a time limit, not a true end state, so never
//!   `terminated`).
//! - Reward: minus the weighted costs of the step (SLO-violating requests, infrastructure, actions,
//!   data lost; weights from the scenario's `[reward]`), plus any masked-action penalty; the terms
//!   are in `info["reward_terms"]` and sum to the reward; with [`StepInfo::Full`] the raw
//!   quantities are in `info["reward_components"]` (the step info's keys: [`info`]).
//! - Replay: with [`ClusterConfig::replay`] every episode takes its faults from a recorded trace,
//!   so two policies face identical exogenous events.
//! - Reset options ([`options`]): `replay` (trace records for this episode), `start_time_s`
//!   (run the world to that time before the first observation), `faults` (fault injection:
//!   scripted faults added to this episode) and `scenario` (this episode runs another scenario;
//!   the spaces then describe its topology, see [`options`]); unknown keys and bad values are
//!   refused and leave the env as it was.
//! - Seeding: `reset(Some(s))` runs the simulator with master seed `s`; `reset(None)` draws the
//!   next master seed from the env's generator (seeded by the last `s`, or [`DEFAULT_SEED`]).

mod history;
pub mod info;
pub mod layout;
mod observe;
pub mod options;

use std::cell::OnceCell;
use std::sync::Arc;

use mend_monitor::features::alert_age::{AlertClock, DEFAULT_ALERT_DETECTOR};
use mend_monitor::features::history::ActionValues;
use mend_monitor::features::risk::{RiskModel, RiskTracker};
use mend_monitor::features::{FeatureExtractor, FeatureSchema, Features};
use mend_sim::scenario::ModelKind;
use mend_sim::time::SimDuration;
use mend_sim::trace::TraceRecord;
use mend_sim::truth::RewardComponents;
use mend_sim::{ActionKind, Scenario, Simulation};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

pub use info::StepInfo;
pub use layout::{ActionLayout, ClusterAction, N_KINDS, Target};
pub use observe::entity_observation;

use crate::env::{Action, Env, Info, Observation, Step};
use crate::error::EnvError;
use crate::spaces::{BoxSpace, Discrete, EntitySet, Space};

/// The env id.
pub const CLUSTER_ID: &str = "mend/Cluster-v0";
/// Generator seed of a fresh env whose first reset has no seed.
pub const DEFAULT_SEED: u64 = 0;

/// What `step` does with an action the mask forbids.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum MaskedActionPolicy {
    /// Refuse it with `EnvError::MaskedAction` (state unchanged).
    #[default]
    Error,
    /// Treat it as a no-op and subtract `penalty` from the reward (`info["masked_action"] = true`).
    NoOpWithPenalty {
        /// Penalty, in reward units (>= 0).
        penalty: f64,
    },
}

/// How the cluster env is set up.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// What to do with masked actions.
    pub masked_actions: MaskedActionPolicy,
    /// Replay the fault onsets of this trace instead of drawing faults.
    pub replay: Option<Arc<Vec<TraceRecord>>>,
    /// How much each step reports in `info` ([`StepInfo::Compact`] unless set).
    pub step_info: StepInfo,
    /// The detector behind the observation's alert-age columns (feature schema v3): any
    /// `RuleSet::for_detector` name or spec text, run beside the env on the scraped telemetry.
    /// Default [`DEFAULT_ALERT_DETECTOR`] (the framework arm's detector); `None` leaves the
    /// columns at 0.
    pub alert_detector: Option<String>,
    /// The failure predictor behind the observation's `svc_failure_risk` column (feature schema
    /// v4): run after extraction on every observation's service rows
    /// (`mend_monitor::features::risk::RiskTracker`). It only reads the rows, so the world, the
    /// rewards and the masks are the same with or without it. Default `None`: the column is 0.
    pub risk_model: Option<Arc<RiskModel>>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            masked_actions: MaskedActionPolicy::default(),
            replay: None,
            step_info: StepInfo::default(),
            alert_detector: Some(DEFAULT_ALERT_DETECTOR.to_owned()),
            risk_model: None,
        }
    }
}

/// The cluster environment.
#[derive(Debug)]
pub struct ClusterEnv {
    scenario: Arc<Scenario>,
    config: ClusterConfig,
    decision_interval: SimDuration,
    extractor: FeatureExtractor,
    rng: ChaCha8Rng,
    sim: Option<Simulation>,
    layout: Option<ActionLayout>,
    feed: observe::SnapshotFeed,
    features: Features,
    /// The actions this env applied in the current episode, per entity row.
    history: history::RowHistory,
    /// The rows' action-history values at the current observation, in row order.
    history_values: Vec<ActionValues>,
    /// The detector bank and alert timers behind the alert-age columns (`None`: columns 0).
    alerts: Option<AlertClock>,
    /// The failure predictor behind the risk column (`None`: column 0).
    risk: Option<RiskTracker>,
    /// Resolved simulator action per flat index (None = masked) for the current state, computed
    /// on first use (the mask costs one precondition check per entity and kind).
    resolved: OnceCell<Vec<Option<mend_sim::Action>>>,
    last_components: RewardComponents,
    /// Entity rows of the current episode's topology (of the env's own scenario before the
    /// first reset): the spaces' size.
    n_entities: usize,
    /// The scenario of the current episode (the env's own, or a `scenario`/`faults` option's).
    episode_scenario: Option<Arc<Scenario>>,
}

impl ClusterEnv {
    /// A cluster env over `scenario` (must be a cluster-model scenario).
    pub fn new(scenario: Arc<Scenario>, config: ClusterConfig) -> Result<Self, EnvError> {
        let bad = |field: &str, expected: &str| EnvError::InvalidConfig {
            env: format!("{CLUSTER_ID} ({})", scenario.origin()),
            field: field.into(),
            expected: expected.into(),
        };
        if scenario.model() != ModelKind::Cluster {
            return Err(bad(
                "scenario.model",
                "\"cluster\" (renewal scenarios have no cluster to act on)",
            ));
        }
        if let MaskedActionPolicy::NoOpWithPenalty { penalty } = config.masked_actions
            && !(penalty.is_finite() && penalty >= 0.0)
        {
            return Err(bad("masked_actions.penalty", "a finite number >= 0"));
        }
        let alerts = match &config.alert_detector {
            Some(spec) => Some(AlertClock::new(spec).map_err(|e| {
                bad(
                    "alert_detector",
                    &format!("a detector name or spec such as {DEFAULT_ALERT_DETECTOR:?} ({e})"),
                )
            })?),
            None => None,
        };
        let extractor = FeatureExtractor::builtin();
        let risk = match &config.risk_model {
            Some(model) => Some(
                RiskTracker::new(Arc::clone(model), extractor.schema())
                    .map_err(|e| bad("risk_model", &format!("a model of this env's rows ({e})")))?,
            ),
            None => None,
        };
        let decision_interval = scenario.spec().scenario.decision_interval;
        // The entity set is fixed by the topology: count it once from a throwaway world.
        let probe = Simulation::new(&scenario, DEFAULT_SEED);
        let n_entities = ActionLayout::new(&probe).n_entities();
        Ok(Self {
            scenario,
            config,
            decision_interval,
            extractor,
            rng: ChaCha8Rng::seed_from_u64(DEFAULT_SEED),
            sim: None,
            layout: None,
            feed: observe::SnapshotFeed::default(),
            features: Features::default(),
            history: history::RowHistory::default(),
            history_values: Vec::new(),
            alerts,
            risk,
            resolved: OnceCell::new(),
            last_components: RewardComponents::default(),
            n_entities,
            episode_scenario: None,
        })
    }

    /// A cluster env over a built-in scenario (`tiny`, `default`, `large`).
    pub fn builtin(name: &str, config: ClusterConfig) -> Result<Self, EnvError> {
        let scenario = Scenario::builtin(name).map_err(|e| EnvError::InvalidConfig {
            env: CLUSTER_ID.into(),
            field: "scenario".into(),
            expected: e.to_string(),
        })?;
        Self::new(Arc::new(scenario), config)
    }

    /// The feature schema of the observations (record its `hash()` in policy files).
    pub fn feature_schema(&self) -> &FeatureSchema {
        self.extractor.schema()
    }

    /// The action layout (after the first reset).
    pub fn layout(&self) -> Option<&ActionLayout> {
        self.layout.as_ref()
    }

    /// Flat index of a structured action.
    pub fn encode(&self, action: ClusterAction) -> Option<Action> {
        self.layout.as_ref()?.encode(action)
    }

    /// Structured form of a flat action.
    pub fn decode(&self, action: Action) -> Option<ClusterAction> {
        self.layout.as_ref()?.decode(action)
    }

    /// The scenario of the current episode: the env's own, or the one a `scenario` or `faults`
    /// reset option chose (before the first reset, the env's own).
    pub fn scenario(&self) -> &Arc<Scenario> {
        self.episode_scenario.as_ref().unwrap_or(&self.scenario)
    }

    /// The simulation (after the first reset), e.g. for its summary.
    pub fn simulation(&self) -> Option<&Simulation> {
        self.sim.as_ref()
    }

    /// Drains the trace records the current episode produced since the last call.
    pub fn take_trace(&mut self) -> Vec<TraceRecord> {
        self.sim
            .as_mut()
            .map(Simulation::take_trace)
            .unwrap_or_default()
    }

    /// The action-history values of every entity row at the current observation, in row order
    /// (what the observation's action columns were extracted from; empty before the first reset).
    pub fn action_history(&self) -> &[ActionValues] {
        &self.history_values
    }

    fn n_actions(&self) -> usize {
        1 + self.n_entities * N_KINDS
    }

    /// Recomputes the snapshot, features and resolved actions after the world moved.
    fn observe(&mut self) -> Result<Observation, EnvError> {
        let (Some(sim), Some(layout)) = (&self.sim, &self.layout) else {
            return Err(EnvError::NotReset {
                env: CLUSTER_ID.into(),
            });
        };
        self.history
            .values_into(sim, layout, &mut self.history_values);
        let rebuilt = self.feed.refresh(
            sim,
            layout,
            &self.history_values,
            self.alerts.as_mut(),
            &self.extractor,
            &mut self.features,
        );
        if let Some(risk) = &mut self.risk {
            risk.fill_features(sim.telemetry().time.as_secs_f64(), &mut self.features);
        }
        // Rows change only when the structure does: check them against the layout then.
        let names_match = !rebuilt
            || self.features.entities.len() == layout.n_entities()
                && self
                    .features
                    .entities
                    .iter()
                    .zip(layout.names())
                    .all(|(e, n)| &e.name == n);
        if !names_match {
            return Err(EnvError::Sim {
                env: CLUSTER_ID.into(),
                message: format!(
                    "telemetry lists {} services and nodes but the topology has {}: expected one telemetry entity per row",
                    self.features.entities.len(),
                    layout.n_entities()
                ),
            });
        }
        self.resolved = OnceCell::new();
        Ok(entity_observation(&self.features))
    }

    /// Every flat action resolved against the current state (index 0, the no-op, is `None`).
    fn resolved(&self) -> &[Option<mend_sim::Action>] {
        self.resolved.get_or_init(|| {
            let (Some(sim), Some(layout)) = (&self.sim, &self.layout) else {
                return Vec::new();
            };
            let mut out = Vec::with_capacity(1 + layout.n_entities() * N_KINDS);
            out.push(None);
            for entity in 0..layout.n_entities() {
                for kind in ActionKind::ALL {
                    out.push(if sim.is_finished() {
                        None
                    } else {
                        layout.resolve(sim, entity, kind)
                    });
                }
            }
            out
        })
    }

    /// The simulator action for one flat action now (`None` if masked); uses the cached mask when
    /// it has been computed, else resolves just this action (same result).
    fn resolve_one(&self, action: Action) -> Option<mend_sim::Action> {
        if let Some(all) = self.resolved.get() {
            return all.get(action).copied().flatten();
        }
        let (sim, layout) = (self.sim.as_ref()?, self.layout.as_ref()?);
        match layout.decode(action)? {
            ClusterAction::NoOp => None,
            ClusterAction::Act { entity, kind } => layout.resolve(sim, entity, kind),
        }
    }
}

impl Env for ClusterEnv {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        let options = options::parse(options, &self.scenario, self.config.replay.is_some())?;
        let sim_seed = match seed {
            Some(s) => {
                self.rng = ChaCha8Rng::seed_from_u64(s);
                s
            }
            None => self.rng.next_u64(),
        };
        let episode = options
            .scenario
            .unwrap_or_else(|| Arc::clone(&self.scenario));
        let replay = options
            .replay
            .as_deref()
            .or(self.config.replay.as_deref().map(Vec::as_slice));
        let mut sim = match replay {
            Some(records) => Simulation::replay(&episode, sim_seed, records),
            None => Simulation::new(&episode, sim_seed),
        };
        if let Some(start) = options.start_time {
            sim.run_until(mend_sim::time::SimTime::ZERO + start);
        }
        // The rows follow the episode's topology (a `scenario` option may change it).
        let layout = ActionLayout::new(&sim);
        self.n_entities = layout.n_entities();
        self.history.reset(layout.n_entities());
        self.layout = Some(layout);
        self.decision_interval = episode.spec().scenario.decision_interval;
        self.last_components = sim.truth().reward;
        self.feed = observe::SnapshotFeed::default();
        if let Some(clock) = &mut self.alerts {
            clock.reset();
        }
        if let Some(risk) = &mut self.risk {
            risk.reset();
        }
        self.sim = Some(sim);
        self.episode_scenario = Some(episode);
        let obs = self.observe()?;
        let layout = self.layout.as_ref().expect("set above");
        let mut info = Info::new();
        info.insert("sim_seed".into(), json!(sim_seed));
        info.insert("scenario".into(), json!(self.scenario().name()));
        info.insert(
            "feature_schema".into(),
            json!(self.extractor.schema().hash()),
        );
        info.insert("entities".into(), json!(layout.names()));
        info.insert(
            "action_kinds".into(),
            json!(ActionKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>()),
        );
        Ok((obs, info))
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        let n = self.n_actions();
        if action >= n {
            return Err(EnvError::InvalidAction {
                env: CLUSTER_ID.into(),
                action,
                n,
            });
        }
        let sim = self.sim.as_mut().ok_or_else(|| EnvError::NotReset {
            env: CLUSTER_ID.into(),
        })?;
        if sim.is_finished() {
            return Err(EnvError::EpisodeOver {
                env: CLUSTER_ID.into(),
            });
        }
        let resolved = if action == 0 {
            None
        } else {
            self.resolve_one(action)
        };
        let sim = self.sim.as_mut().ok_or_else(|| EnvError::NotReset {
            env: CLUSTER_ID.into(),
        })?;
        let mut penalty = 0.0;
        let mut applied = None;
        if action != 0 {
            match (resolved, self.config.masked_actions) {
                (Some(a), _) => {
                    sim.apply(a).map_err(|e| EnvError::Sim {
                        env: CLUSTER_ID.into(),
                        message: e.to_string(),
                    })?;
                    let row = (action - 1) / N_KINDS;
                    self.history.record(row, sim.now().as_secs_f64());
                    applied = Some((a.kind().name(), row));
                }
                (None, MaskedActionPolicy::Error) => {
                    return Err(EnvError::MaskedAction {
                        env: CLUSTER_ID.into(),
                        action,
                    });
                }
                (None, MaskedActionPolicy::NoOpWithPenalty { penalty: p }) => penalty = p,
            }
        }
        let until = sim.now() + self.decision_interval;
        sim.run_until(until);
        let components = sim.truth().reward;
        let delta = components.since(&self.last_components);
        self.last_components = components;
        let reward = delta.reward(sim.reward_weights()) - penalty;
        let truncated = sim.is_finished();
        let facts = info::StepFacts {
            delta: &delta,
            penalty,
            applied,
            masked: action != 0 && resolved.is_none(),
        };
        let info = info::step_info(self.config.step_info, &facts, sim);
        let obs = self.observe()?;
        Ok(Step {
            obs,
            reward,
            terminated: false,
            truncated,
            info,
        })
    }

    /// The current episode's entity-set space (its row bound follows the episode's topology).
    fn observation_space(&self) -> Space {
        let s = self.extractor.schema();
        let (glo, ghi): (Vec<f32>, Vec<f32>) = s.global_bounds().into_iter().unzip();
        let (rlo, rhi): (Vec<f32>, Vec<f32>) = s.row_bounds().into_iter().unzip();
        Space::EntitySet(EntitySet {
            global: BoxSpace::new(glo, ghi),
            row: BoxSpace::new(rlo, rhi),
            max_entities: Some(self.n_entities),
        })
    }

    /// `Discrete(1 + entities * N_KINDS)` for the current episode's topology.
    fn action_space(&self) -> Space {
        Space::Discrete(Discrete::new(self.n_actions()))
    }

    fn action_mask(&self) -> Option<Vec<bool>> {
        self.sim.as_ref()?;
        Some(
            self.resolved()
                .iter()
                .enumerate()
                .map(|(i, r)| i == 0 || r.is_some())
                .collect(),
        )
    }

    fn id(&self) -> &str {
        CLUSTER_ID
    }

    /// Checks one action without computing the whole mask (unless it is already cached).
    fn action_allowed(&self, action: Action) -> bool {
        self.sim.is_some()
            && action < self.n_actions()
            && (action == 0 || self.resolve_one(action).is_some())
    }
}

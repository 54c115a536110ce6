//! Tabular Q-learning on the cluster env (Watkins' one-step Q-learning, Sutton & Barto 2018, §6.5:
//! `Q(s, a) += learning_rate * (r + gamma * max_a' Q(s', a') - Q(s, a))`) over a discretised,
//! size-independent state ([`state`]): one table shared by all entities, indexed by (entity bucket,
//! action kind), plus a no-op value per global bucket. The value of flat action
//! `1 + entity * n_kinds + kind` is `q_entity[bucket(entity)][kind]`; of the no-op, `q_noop[global]`.
//! Masks are honoured when acting and in the `max` of the target. Epsilon decays linearly (CleanRL's
//! `start_e`, `end_e`, `exploration_fraction`). The tables are saved as tensors in a policy file
//! ([`file`](mod@file)).

mod agent;
pub mod credit;
pub mod file;
mod nstep;
pub mod state;
pub mod warm_start;

use mend_envs::{Action, Env, Observation};
use mend_monitor::features::FeatureSchema;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::agent::{MetricSink, TrainSummary};
use crate::distribution::{argmax, check_mask, masked_logits};
use crate::error::AgentError;
use crate::policy::{ActionScores, Policy, random_valid_action};
use crate::schedule::linear;
use state::{BucketEdges, Discretiser};
pub use warm_start::{TabularWarmStartConfig, TabularWarmStartReport};

/// Hyperparameters (CleanRL names where they exist).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TabularConfig {
    /// Master seed of [`TabularQ::for_env`]: exploration and the vector env's reset seeds.
    /// ([`TabularQ::new`] takes its seed as an argument and stores it here.)
    pub seed: u64,
    /// Planned training budget in env steps, over which epsilon decays; 0 means "the
    /// `total_timesteps` of each `learn` call".
    pub total_timesteps: u64,
    /// Step size of the update.
    pub learning_rate: f64,
    /// Discount per decision (30 s): 0.95 weighs about the next 10 minutes.
    pub gamma: f64,
    /// Initial epsilon.
    pub start_e: f64,
    /// Final epsilon.
    pub end_e: f64,
    /// Share of `total_timesteps` over which epsilon decays.
    pub exploration_fraction: f64,
    /// Rewards are multiplied by this before the update (cluster rewards are USD per step).
    pub reward_scale: f64,
    /// When exploring, the share of random choices that are the no-op (the rest: a uniformly random
    /// valid action). Uniform exploration over hundreds of actions almost never leaves the system
    /// alone, so it would never learn what leaving it alone is worth.
    pub explore_noop_share: f64,
    /// Initial value of every (entity bucket, kind) entry. Pessimistic (below what doing nothing is
    /// worth) so that an action is only preferred once it has been tried and paid off: with zeros,
    /// every never-visited entry beats the no-op's negative value and the greedy policy acts at random.
    pub q_init_action: f64,
    /// An (entity bucket, kind) entry counts for acting and for the target's `max` only once it has
    /// been updated this many times (never-tried or rarely tried entries are noisy estimates whose
    /// maximum is biased upwards: the maximisation bias of Sutton & Barto 2018, §6.7).
    pub min_visits: u32,
    /// Steps of real reward before bootstrapping (n-step Q-learning, Sutton & Barto 2018, §7.1;
    /// Rainbow's multi-step targets, Hessel et al. 2018): the target of the action taken at `t` is
    /// `sum_{i<n} gamma^i r_{t+i} + gamma^n max_a Q(s_{t+n}, a)`. 1 is Watkins' one-step rule. Longer
    /// returns carry the delayed effect of a recovery action (replicas take minutes to come back) to
    /// the decision that caused it.
    pub n_step: usize,
    /// Whether actions on healthy entities (the healthy bucket of their kind, see
    /// [`state::Discretiser::is_healthy`]) may be explored and chosen. Off, the learner explores and
    /// acts only on entities that show a symptom, which is where a recovery action can help; their
    /// entries stay [`UNTRIED`] in the exported policy.
    pub act_on_healthy: bool,
    /// Whether `q_entity` holds advantages over the no-op rather than values: an entity action's
    /// Q-value is then `q_noop[global] + q_entity[bucket][kind]`, and its update target is the
    /// (n-step) return minus `q_noop[global]` of the state it was taken in. Values of the no-op (indexed
    /// by the global bucket) and of entity actions (indexed by the entity's bucket) average over
    /// different sets of states, so comparing them directly mistakes a bad global state for a bad
    /// action; the advantage compares each action with doing nothing in the same state (the
    /// dueling decomposition, Wang et al. 2016, learnt by TD targets).
    pub entity_advantage: bool,
    /// Act on the lower confidence bound of an entity entry: `entry - confidence_z * standard error`
    /// of the targets it was updated towards (0: act on the estimate itself). With hundreds of
    /// noisy entries, the largest estimate is biased upwards (Sutton & Barto 2018, §6.7); a lower
    /// bound acts only where an action has paid off consistently. Bootstrapped targets use the
    /// estimates, not the bounds.
    pub confidence_z: f64,
    /// Bucket edges of the state.
    pub edges: BucketEdges,
    /// Seed the table from a teacher's decisions before Q-learning ([`warm_start`]; needs
    /// `entity_advantage`). `None` (the default): no warm start. Omitted when serialised if `None`,
    /// so configs and checkpoints written before it existed read and write the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<TabularWarmStartConfig>,
}

impl Default for TabularConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            total_timesteps: 0,
            learning_rate: 0.1,
            gamma: 0.95,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.5,
            reward_scale: 0.1,
            explore_noop_share: 0.9,
            q_init_action: -5.0,
            min_visits: 20,
            n_step: 1,
            act_on_healthy: true,
            entity_advantage: false,
            confidence_z: 0.0,
            edges: BucketEdges::default(),
            warm_start: None,
        }
    }
}

impl TabularConfig {
    /// The settings that did best on the `default` scenario's validation seeds (500..520; trained on
    /// seeds 0..8 for 72,000 steps; see agents/examples/tabular_cluster.rs): advantages over the
    /// no-op, acting only on entities with a symptom. [`Default`] keeps the one-step value rule of
    /// the first version. Validation showed these settings are fragile: longer training (288,000
    /// steps) learnt to scale in symptomatic services and fell far below no-op; `confidence_z = 2`
    /// never acted (no-op); `confidence_z = 1` also learnt scale-in. Session 7 (schema v3): never
    /// acts on `default`'s evaluation seeds. Superseded by [`TabularConfig::warm_started`], the
    /// first setting that beats the no-op there.
    pub fn recommended() -> Self {
        Self {
            entity_advantage: true,
            act_on_healthy: false,
            ..Self::default()
        }
    }

    /// Warm-started from the expert runbook ([`warm_start`]), with the action-age and alert-age
    /// timers in the state ([`BucketEdges::with_timers`]), advantages over the no-op, acting only on
    /// entities with a symptom, and DQfD's exploration after the warm start (epsilon 0.05 -> 0.01).
    /// Chosen on `default`'s validation seeds 500..520 (training seeds 0..8; session 8, provisional),
    /// warm start alone (no Q-learning steps), availability minus the no-op's, paired:
    /// `act_threshold` 0.5 (majority vote) +0.0003 ± 0.0006; 0.3 +0.0016; 0.2 +0.0164 ± 0.0120;
    /// 0.1 +0.0384 ± 0.0186; 0.07 +0.0438 ± 0.0195; **0.05 +0.0501 ± 0.0202**; 0.03 +0.0463 ±
    /// 0.0204; 0.1 without the timers +0.0002 ± 0.0010 (the runbook's `for_s` and `wait_s` are what
    /// the timers let the table see). Q-learning after it, as measured, erodes the gain: 72,000
    /// steps at learning rate 0.1 +0.0057 ± 0.0059, at 0.02 +0.0116 ± 0.0065, with `n_step = 8`
    /// at 0.02 +0.0071 ± 0.0060 (the targets of a global reward credit an action with the next
    /// minutes of the whole cluster, before a restart pays off): train it for 0 steps after the
    /// warm start to keep the teacher's table. Session 9 added credit options for the Q-learning
    /// after it (`warm_start.prior_count`, `optimism_z`, `trust_radius`, `entity_baseline`; all off
    /// here, see [`credit`] for their validation): `prior_count = 1000` with `optimism_z = 2` at
    /// learning rate 0.005 beats the no-op on `default` and `tiny-faults` (+0.051, +0.048) but still
    /// falls short of the warm start alone (−0.008, −0.023).
    pub fn warm_started() -> Self {
        Self {
            entity_advantage: true,
            act_on_healthy: false,
            start_e: 0.05,
            end_e: 0.01,
            edges: BucketEdges::with_timers(),
            warm_start: Some(TabularWarmStartConfig {
                act_threshold: 0.05,
                ..TabularWarmStartConfig::default()
            }),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), AgentError> {
        let check = |field, ok: bool, expected, v: f64| {
            if ok {
                Ok(())
            } else {
                Err(AgentError::InvalidConfig {
                    field,
                    expected,
                    got: v.to_string(),
                })
            }
        };
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        let lr = self.learning_rate;
        check("learning_rate", lr > 0.0 && lr <= 1.0, "in (0, 1]", lr)?;
        check("gamma", unit(self.gamma), "in [0, 1]", self.gamma)?;
        check("start_e", unit(self.start_e), "in [0, 1]", self.start_e)?;
        check("end_e", unit(self.end_e), "in [0, 1]", self.end_e)?;
        let f = self.exploration_fraction;
        check("exploration_fraction", unit(f), "in [0, 1]", f)?;
        let s = self.reward_scale;
        check(
            "reward_scale",
            s.is_finite() && s > 0.0,
            "finite and > 0",
            s,
        )?;
        let n = self.explore_noop_share;
        check("explore_noop_share", unit(n), "in [0, 1]", n)?;
        let q = self.q_init_action;
        check("q_init_action", q.is_finite(), "finite", q)?;
        let n = self.n_step as f64;
        check("n_step", self.n_step >= 1, "at least 1", n)?;
        let z = self.confidence_z;
        check(
            "confidence_z",
            z.is_finite() && z >= 0.0,
            "finite and >= 0",
            z,
        )?;
        if let Some(ws) = &self.warm_start {
            ws.validate()?;
            if !self.entity_advantage {
                return Err(AgentError::InvalidConfig {
                    field: "warm_start",
                    expected: "entity_advantage = true (the warm start seeds advantages over the no-op)",
                    got: "entity_advantage = false".into(),
                });
            }
        }
        Ok(())
    }
}

/// The greedy policy of a Q table (what is saved and run).
#[derive(Clone, Debug)]
pub struct TabularPolicy {
    discretiser: Discretiser,
    n_kinds: usize,
    n_actions: usize,
    /// `n_entity_buckets x n_kinds`, row-major.
    q_entity: Vec<f32>,
    /// One value per global bucket.
    q_noop: Vec<f32>,
    /// Epsilon of non-deterministic `predict`.
    pub exploration_eps: f32,
    /// `q_entity` holds advantages over the no-op ([`TabularConfig::entity_advantage`]).
    pub entity_advantage: bool,
}

impl TabularPolicy {
    /// A zero table for an env with `n_actions` actions and `n_kinds` kinds per entity.
    pub fn zeros(
        schema: FeatureSchema,
        edges: BucketEdges,
        n_kinds: usize,
        n_actions: usize,
    ) -> Result<Self, AgentError> {
        let discretiser = Discretiser::new(schema, edges)?;
        Ok(Self {
            q_entity: vec![0.0; discretiser.n_entity_buckets() * n_kinds],
            q_noop: vec![0.0; discretiser.n_global_buckets()],
            discretiser,
            n_kinds,
            n_actions,
            exploration_eps: 0.0,
            entity_advantage: false,
        })
    }

    /// The table entry of each flat action for `obs` (index into `q_noop` for action 0, else into
    /// `q_entity`), or an error if the observation's entity count does not fit `n_actions`.
    fn entries(&self, obs: &Observation) -> Result<(usize, Vec<usize>), AgentError> {
        let (buckets, global) = self.discretiser.encode(obs)?;
        if 1 + buckets.len() * self.n_kinds != self.n_actions {
            return Err(AgentError::ObservationMismatch {
                expected: format!(
                    "{} entities ({} actions)",
                    (self.n_actions - 1) / self.n_kinds.max(1),
                    self.n_actions
                ),
                got: format!("{} entities", buckets.len()),
            });
        }
        let per_action = buckets
            .iter()
            .flat_map(|&b| (0..self.n_kinds).map(move |k| b * self.n_kinds + k))
            .collect();
        Ok((global, per_action))
    }

    /// Q-values of every flat action (unmasked).
    pub fn q_values(&self, obs: &Observation) -> Result<Vec<f32>, AgentError> {
        let (g, entries) = self.entries(obs)?;
        let mut q = Vec::with_capacity(self.n_actions);
        let v = self.q_noop[g];
        q.push(v);
        q.extend(
            entries
                .iter()
                .map(|&i| self.entity_value(v, self.q_entity[i])),
        );
        Ok(q)
    }

    /// The Q-value of an entity action whose table entry is `entry`, in a state whose no-op value is
    /// `noop` ([`UNTRIED`] stays [`UNTRIED`]).
    fn entity_value(&self, noop: f32, entry: f32) -> f32 {
        if self.entity_advantage && entry > UNTRIED {
            noop + entry
        } else {
            entry
        }
    }

    /// The tables: (`q_entity` row-major `n_entity_buckets x n_kinds`, `q_noop`).
    pub fn tables(&self) -> (&[f32], &[f32]) {
        (&self.q_entity, &self.q_noop)
    }

    /// The discretiser.
    pub fn discretiser(&self) -> &Discretiser {
        &self.discretiser
    }

    /// Action kinds per entity.
    pub fn n_kinds(&self) -> usize {
        self.n_kinds
    }

    /// The same table for an env with `n_actions` actions (another cluster size).
    pub fn with_n_actions(&self, n_actions: usize) -> Self {
        Self {
            n_actions,
            ..self.clone()
        }
    }
}

impl Policy for TabularPolicy {
    fn algorithm(&self) -> &str {
        "tabular_q"
    }

    fn n_actions(&self) -> usize {
        self.n_actions
    }

    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        check_mask(mask, self.n_actions)?;
        Ok(ActionScores::QValues(masked_logits(
            &self.q_values(obs)?,
            mask,
        )))
    }

    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        check_mask(mask, self.n_actions)?;
        if !deterministic && rng.random::<f32>() < self.exploration_eps {
            return Ok(random_valid_action(self.n_actions, mask, rng));
        }
        Ok(argmax(&masked_logits(&self.q_values(obs)?, mask)))
    }
}

/// The learner: a [`TabularPolicy`] plus the run's RNG and counters.
#[derive(Debug)]
pub struct TabularQ {
    config: TabularConfig,
    policy: TabularPolicy,
    rng: ChaCha8Rng,
    seed: u64,
    num_timesteps: u64,
    /// Updates per `q_entity` entry.
    visits: Vec<u32>,
    /// Sum and sum of squares of the targets each `q_entity` entry was updated towards.
    target_stats: Vec<(f64, f64)>,
    /// Visits the warm start gave each `q_entity` entry (pseudo-count step sizes count the updates
    /// beyond them: [`credit`]).
    seeded_visits: Vec<u32>,
    /// The advantage the warm start gave each `q_entity` entry (the centre of the trust region of
    /// [`credit`]; meaningful where `seeded_visits > 0`).
    seeded_value: Vec<f32>,
    /// Per entity bucket: the no-op's value in states with an entity in it, and its update count
    /// (the entity baseline of [`credit`]; unused when it is off).
    wait_value: Vec<f32>,
    wait_visits: Vec<u32>,
    /// Whether the warm start ([`TabularConfig::warm_start`]) has run (it runs once, at the first
    /// `learn` call).
    warm_started: bool,
    /// What the warm start did, when it ran in this process.
    warm_start_report: Option<TabularWarmStartReport>,
}

/// The value given to entries with fewer than `min_visits` updates (finite, so policy files stay
/// checkable; far below any return).
pub const UNTRIED: f32 = -1.0e9;

impl TabularQ {
    /// A learner for an env with `n_actions` actions and `n_kinds` kinds per entity; `seed` replaces
    /// `config.seed`.
    pub fn new(
        mut config: TabularConfig,
        schema: FeatureSchema,
        n_kinds: usize,
        n_actions: usize,
        seed: u64,
    ) -> Result<Self, AgentError> {
        config.validate()?;
        config.seed = seed;
        let mut policy = TabularPolicy::zeros(schema, config.edges.clone(), n_kinds, n_actions)?;
        policy.entity_advantage = config.entity_advantage;
        // An advantage starts at 0 (no better than doing nothing); `min_visits` keeps untried
        // entries out of acting.
        let init = if config.entity_advantage {
            0.0
        } else {
            config.q_init_action as f32
        };
        policy.q_entity.fill(init);
        let n_buckets = policy.discretiser.n_entity_buckets();
        Ok(Self {
            visits: vec![0; policy.q_entity.len()],
            seeded_visits: vec![0; policy.q_entity.len()],
            seeded_value: vec![0.0; policy.q_entity.len()],
            wait_value: vec![0.0; n_buckets],
            wait_visits: vec![0; n_buckets],
            target_stats: vec![(0.0, 0.0); policy.q_entity.len()],
            policy,
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            num_timesteps: 0,
            warm_started: false,
            warm_start_report: None,
        })
    }

    /// What the warm start did, if it ran in this process.
    pub fn warm_start_report(&self) -> Option<&TabularWarmStartReport> {
        self.warm_start_report.as_ref()
    }

    /// Runs the warm start from `data` unless it has run already (or none is configured).
    fn warm_start_once(
        &mut self,
        record: impl FnOnce(
            &TabularWarmStartConfig,
            &TabularConfig,
        ) -> Result<crate::teacher::TeacherData, AgentError>,
    ) -> Result<(), AgentError> {
        let Some(ws) = self.config.warm_start.clone() else {
            return Ok(());
        };
        if self.warm_started {
            return Ok(());
        }
        let data = record(&ws, &self.config)?;
        self.warm_start_report = Some(self.warm_start_from(&data)?);
        self.warm_started = true;
        Ok(())
    }

    /// The greedy policy learnt so far: entries tried fewer than `min_visits` times are [`UNTRIED`].
    pub fn policy(&self) -> TabularPolicy {
        let mut p = self.policy.clone();
        for (i, q) in p.q_entity.iter_mut().enumerate() {
            *q = if self.usable(i) {
                self.lower_bound(i)
            } else {
                UNTRIED
            };
        }
        p
    }

    /// `q_entity[i] - confidence_z * standard error of its targets` (the entry itself when
    /// `confidence_z` is 0 or it has fewer than two targets).
    fn lower_bound(&self, i: usize) -> f32 {
        let q = self.policy.q_entity[i];
        let n = f64::from(self.visits[i]);
        if self.config.confidence_z == 0.0 || n < 2.0 {
            return q;
        }
        let (sum, sum_sq) = self.target_stats[i];
        let var = ((sum_sq - sum * sum / n) / (n - 1.0)).max(0.0);
        q - (self.config.confidence_z * (var / n).sqrt()) as f32
    }

    /// May the learner act on `q_entity` entry `i` (visited `min_visits` times, and on an unhealthy
    /// bucket unless `act_on_healthy`)?
    fn usable(&self, i: usize) -> bool {
        self.visits[i] >= self.config.min_visits && self.actionable(i)
    }

    /// Is `q_entity` entry `i` on a bucket the learner may act on at all?
    fn actionable(&self, i: usize) -> bool {
        self.config.act_on_healthy
            || !self
                .policy
                .discretiser
                .is_healthy(i / self.policy.n_kinds.max(1))
    }

    /// Q-values as the learner acts on them (untried entries at [`UNTRIED`]; with `bounds`, entity
    /// entries at their lower confidence bound, plus the optimism bonus of [`credit`] while
    /// learning).
    fn effective_q(&self, g: usize, entries: &[usize], bounds: bool) -> Vec<f32> {
        let mut q = Vec::with_capacity(entries.len() + 1);
        let v = self.policy.q_noop[g];
        q.push(v);
        q.extend(entries.iter().map(|&i| {
            if self.usable(i) {
                let entry = if bounds {
                    self.lower_bound(i) + self.optimism_bonus(i)
                } else {
                    self.policy.q_entity[i]
                };
                self.policy.entity_value(v, entry)
            } else {
                UNTRIED
            }
        }));
        q
    }

    /// The configuration.
    pub fn config(&self) -> &TabularConfig {
        &self.config
    }

    /// Environment steps taken so far.
    pub fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }

    /// Trains on `env` until `total_timesteps` steps have been taken in all (absolute, so a second call
    /// continues). Episode `k` of the run is reset with seed `train_seeds[k % len]`, so training uses
    /// only the caller's training seeds. A configured warm start runs first (once), its teacher
    /// playing episodes of the same training seeds.
    pub fn learn(
        &mut self,
        env: &mut dyn Env,
        train_seeds: &[u64],
        total_timesteps: u64,
        sink: &mut dyn MetricSink,
    ) -> Result<TrainSummary, AgentError> {
        if train_seeds.is_empty() {
            return Err(AgentError::InvalidConfig {
                field: "train_seeds",
                expected: "at least one seed",
                got: "none".into(),
            });
        }
        let n_actions = self.policy.n_actions;
        self.warm_start_once(|ws, c| {
            crate::teacher::record_teacher_on_env(
                env,
                &ws.teacher,
                train_seeds,
                ws.steps,
                c.reward_scale,
                n_actions,
            )
        })?;
        let mut episode = 0usize;
        let mut returns = Vec::new();
        while self.num_timesteps < total_timesteps {
            // ---- one episode ----
            let seed = train_seeds[episode % train_seeds.len()];
            let (mut obs, _) = env.reset(Some(seed), None)?;
            let mut mask = env.action_mask();
            let mut ret = 0.0;
            let mut queue = nstep::Queue::new();
            loop {
                let eps = self.epsilon(total_timesteps);
                let (g, entries) = self.policy.entries(&obs)?;
                let action = self.act(g, &entries, mask.as_deref(), eps);
                let step = env.step(action)?;
                self.num_timesteps += 1;
                ret += step.reward;
                let next_mask = env.action_mask();
                // Bootstrap unless terminated (truncation is a time limit).
                let next = (!step.terminated).then_some((&step.obs, next_mask.as_deref()));
                let decision = nstep::Pending {
                    global: g,
                    entries,
                    action,
                    reward: step.reward,
                };
                let end =
                    step.terminated || step.truncated || self.num_timesteps >= total_timesteps;
                self.observe(&mut queue, decision, next, end)?;
                obs = step.obs;
                mask = next_mask;
                if step.terminated || step.truncated || self.num_timesteps >= total_timesteps {
                    break;
                }
            }
            sink.record(self.num_timesteps, "charts/episodic_return", ret);
            sink.record(
                self.num_timesteps,
                "charts/epsilon",
                self.epsilon(total_timesteps),
            );
            returns.push(ret);
            episode += 1;
        }
        let tail = &returns[returns.len().saturating_sub(100)..];
        Ok(TrainSummary {
            num_timesteps: self.num_timesteps,
            episodes: returns.len() as u64,
            mean_return_last_100: (!tail.is_empty())
                .then(|| tail.iter().sum::<f64>() / tail.len() as f64),
            gradient_steps: self.num_timesteps,
        })
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Epsilon now, with the schedule running over `config.total_timesteps` (or, when that is 0,
    /// over `call_total`, the budget of the current `learn` call).
    fn epsilon(&self, call_total: u64) -> f64 {
        let c = &self.config;
        let planned = if c.total_timesteps > 0 {
            c.total_timesteps
        } else {
            call_total
        };
        let progress = self.num_timesteps as f64 / planned.max(1) as f64;
        linear(c.start_e, c.end_e, c.exploration_fraction, progress)
    }

    /// Epsilon-greedy over the valid actions, with exploration biased to the no-op
    /// (`explore_noop_share`).
    fn act(&mut self, g: usize, entries: &[usize], mask: Option<&[bool]>, eps: f64) -> Action {
        if self.rng.random::<f64>() < eps {
            let noop_valid = mask.is_none_or(|m| m[0]);
            if noop_valid && self.rng.random::<f64>() < self.config.explore_noop_share {
                0
            } else if self.config.act_on_healthy {
                random_valid_action(self.policy.n_actions, mask, &mut self.rng)
            } else {
                let allowed: Vec<bool> = (0..self.policy.n_actions)
                    .map(|a| {
                        mask.is_none_or(|m| m[a]) && (a == 0 || self.actionable(entries[a - 1]))
                    })
                    .collect();
                if allowed.iter().any(|&v| v) {
                    random_valid_action(self.policy.n_actions, Some(&allowed), &mut self.rng)
                } else {
                    random_valid_action(self.policy.n_actions, mask, &mut self.rng)
                }
            }
        } else {
            argmax(&masked_logits(&self.effective_q(g, entries, true), mask))
        }
    }

    /// `max_a Q(s', a)` over the valid, usable actions at `next` (observation and mask), or 0 when
    /// the episode terminated (`None`).
    fn bootstrap(&self, next: Option<(&Observation, Option<&[bool]>)>) -> Result<f64, AgentError> {
        Ok(match next {
            None => 0.0,
            Some((obs, mask)) => {
                let (g2, entries2) = self.policy.entries(obs)?;
                let q = masked_logits(&self.effective_q(g2, &entries2, false), mask);
                f64::from(q[argmax(&q)])
            }
        })
    }

    /// Moves the entry `action` chose in state `(g, entries)` towards `target`:
    /// `Q += step * (target - Q)`, the step `learning_rate` or, for entity entries with
    /// `warm_start.prior_count`, the pseudo-count step ([`credit`]). With advantages, an entity
    /// action's target is `target` minus its baseline (the global no-op value, or the entity
    /// baseline of [`credit`]); a no-op also updates the entity baseline.
    fn update_entry(
        &mut self,
        g: usize,
        entries: &[usize],
        action: Action,
        target: f64,
    ) -> Result<(), AgentError> {
        let mut lr = self.config.learning_rate;
        if action == 0 {
            self.update_wait_values(entries, target);
        }
        let target = if action != 0 && self.config.entity_advantage {
            target - self.advantage_baseline(g, entries[action - 1])
        } else {
            target
        };
        let mut region = None;
        let cell = if action == 0 {
            &mut self.policy.q_noop[g]
        } else {
            let i = entries[action - 1];
            self.visits[i] = self.visits[i].saturating_add(1);
            lr = self.entity_step_size(i);
            region = self.trust_region(i);
            let stats = &mut self.target_stats[i];
            stats.0 += target;
            stats.1 += target * target;
            &mut self.policy.q_entity[i]
        };
        *cell += (lr * (target - f64::from(*cell))) as f32;
        if let Some((low, high)) = region {
            *cell = cell.clamp(low, high);
        }
        if !cell.is_finite() {
            return Err(AgentError::NonFinite {
                what: "q_table",
                update: self.num_timesteps,
            });
        }
        Ok(())
    }
}

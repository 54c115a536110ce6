//! The entity network for cluster observations (issue 4, item 5): one set of shared weights scores every
//! (entity, action kind) pair, so a network trained on one cluster size acts on any other.
//!
//! ```text
//!   row_i ──encoder──▶ h_i ─┬─ mean_i h_i ─┐
//!                           └─ max_i  h_i ─┴─ + global ──▶ context c
//!   [h_i, c] ──scorer──▶ score(i, kind) for each kind      (shared over i)
//!   c ──noop head──▶ score(no-op)        c ──value head──▶ V(s)
//! ```
//! Flat output order matches the cluster env: `[no-op, (entity 0, kind 0..K), (entity 1, ...), ...]`.
//! Pooling by mean and max over entities (Deep Sets, Zaheer et al., NeurIPS 2017) makes the context
//! independent of the number and order of entities; the scores are permutation-equivariant.
//! The scorer's first layer is split into an entity part and a context part, so the context part is
//! computed once per observation, not once per entity.
//!
//! This module is the forward (inference) path with seeded initialisation; PPO trains the same
//! parameters through [`super::entity_candle`]. A PPO entity policy's greedy action
//! (`predict(.., deterministic = true, ..)`) is the no-op-first decision of [`crate::noop_first`]:
//! act iff acting is likelier in total than the no-op, then the likeliest action.

use mend_envs::{Action, EntityObs, Observation};
use rand::{Rng, RngCore};

mod context;
mod forward;
mod lanes;

use forward::ForwardOp;

use super::init::{InitScheme, init_mlp};
use super::{Activation, MlpParams, MlpSpec};
use crate::distribution::{argmax, check_mask, log_softmax, sample, softmax_into};
use crate::error::AgentError;
use crate::noop_first::noop_first_decision;
use crate::policy::{ActionScores, OutputKind, Policy, random_valid_action};

/// Shape of an entity network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntitySpec {
    /// Features per entity row.
    pub row_width: usize,
    /// Global features.
    pub global_width: usize,
    /// Width of the entity embedding and of every hidden layer.
    pub hidden: usize,
    /// Action kinds per entity.
    pub n_kinds: usize,
    /// Hidden non-linearity.
    pub activation: Activation,
}

impl EntitySpec {
    /// The network of an agent configured with `hidden` widths (the first is the entity network's
    /// width) and `activation`, for envs with `row_width` features per entity, `global_width` global
    /// features, `n_kinds` action kinds per entity and `n_actions` (`1 + entities * n_kinds`) flat
    /// actions. Shared by PPO and DQN: an empty `hidden` or an action count of another layout is an
    /// error naming what was expected.
    pub fn for_agent(
        hidden: &[usize],
        activation: Activation,
        row_width: usize,
        global_width: usize,
        n_kinds: usize,
        n_actions: usize,
    ) -> Result<Self, AgentError> {
        let hidden = *hidden.first().ok_or(AgentError::InvalidConfig {
            field: "hidden",
            expected: "must hold at least one width for an entity network",
            got: "[]".into(),
        })?;
        if n_kinds == 0 || n_actions == 0 || !(n_actions - 1).is_multiple_of(n_kinds) {
            return Err(AgentError::ObservationMismatch {
                expected: format!("1 + entities x {n_kinds} actions"),
                got: format!("{n_actions} actions"),
            });
        }
        Ok(Self {
            row_width,
            global_width,
            hidden,
            n_kinds,
            activation,
        })
    }

    /// Width of the pooled context: mean and max of the embeddings, plus the global features.
    pub fn context_width(&self) -> usize {
        2 * self.hidden + self.global_width
    }
}

/// Parameters of an entity network.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityParams {
    /// The shape.
    pub spec: EntitySpec,
    /// `row -> hidden -> hidden` (activation after both layers).
    pub encoder: MlpParams,
    /// `[embedding, context] -> hidden -> n_kinds`.
    pub scorer: MlpParams,
    /// `context -> hidden -> 1`.
    pub noop: MlpParams,
    /// `context -> hidden -> 1`.
    pub value: MlpParams,
}

/// Names of the four sub-networks, in tensor order (`encoder.layers.0.weight`, ...).
pub const PART_NAMES: [&str; 4] = ["encoder", "scorer", "noop", "value"];

impl EntitySpec {
    /// Shapes of the sub-networks in [`PART_NAMES`] order: encoder `row -> hidden -> hidden`, scorer
    /// `[embedding, context] -> hidden -> n_kinds`, no-op and value heads `context -> hidden -> 1`.
    pub fn part_specs(&self) -> [MlpSpec; 4] {
        let mlp = |input, output| MlpSpec {
            input,
            hidden: vec![self.hidden],
            output,
            activation: self.activation,
        };
        let ctx = self.context_width();
        [
            mlp(self.row_width, self.hidden),
            mlp(self.hidden + ctx, self.n_kinds),
            mlp(ctx, 1),
            mlp(ctx, 1),
        ]
    }
}

impl EntityParams {
    /// Seeded initialisation (orthogonal, CleanRL gains: sqrt(2) hidden, 0.01 policy heads, 1 value).
    pub fn init(spec: EntitySpec, rng: &mut impl Rng) -> Self {
        let ortho = |output_gain| InitScheme::Orthogonal {
            hidden_gain: 2f64.sqrt(),
            output_gain,
        };
        let [enc, sc, no, va] = spec.part_specs();
        let encoder = init_mlp(&enc, ortho(2f64.sqrt()), rng);
        let scorer = init_mlp(&sc, ortho(0.01), rng);
        let noop = init_mlp(&no, ortho(0.01), rng);
        let value = init_mlp(&va, ortho(1.0), rng);
        Self {
            spec,
            encoder,
            scorer,
            noop,
            value,
        }
    }

    /// All-zero parameters of the given shape (optimizer moments, loading).
    pub fn zeros(spec: EntitySpec) -> Self {
        let [enc, sc, no, va] = spec.part_specs();
        Self {
            spec,
            encoder: MlpParams::zeros(&enc),
            scorer: MlpParams::zeros(&sc),
            noop: MlpParams::zeros(&no),
            value: MlpParams::zeros(&va),
        }
    }

    /// The sub-networks with their names, in [`PART_NAMES`] order.
    pub fn parts(&self) -> [(&'static str, &MlpParams); 4] {
        [
            (PART_NAMES[0], &self.encoder),
            (PART_NAMES[1], &self.scorer),
            (PART_NAMES[2], &self.noop),
            (PART_NAMES[3], &self.value),
        ]
    }

    /// Mutable sub-networks, same order as [`EntityParams::parts`].
    pub fn parts_mut(&mut self) -> [&mut MlpParams; 4] {
        [
            &mut self.encoder,
            &mut self.scorer,
            &mut self.noop,
            &mut self.value,
        ]
    }

    /// Flat views of every parameter tensor, sub-network by sub-network.
    pub fn tensors(&self) -> Vec<&[f32]> {
        self.parts()
            .into_iter()
            .flat_map(|(_, p)| p.tensors())
            .collect()
    }

    /// Mutable flat views, same order as [`EntityParams::tensors`].
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        self.parts_mut()
            .into_iter()
            .flat_map(|p| p.tensors_mut())
            .collect()
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.parts().iter().map(|(_, p)| p.num_params()).sum()
    }

    /// Flat action scores `[no-op, (entity, kind)...]` and the state value for one observation.
    ///
    /// Runs on the widest instruction set this CPU offers (AVX-512, else AVX2, else the baseline
    /// target), chosen at run time by [`pulp::Arch`]: the kernels are plain loops that the compiler
    /// vectorises for each set. The results are bit-identical on every set (the kernels multiply
    /// and add separately, in one fixed order per output; Rust never fuses them into FMA
    /// on its own), so rollouts, evaluations and the executor give the same numbers on any x86-64 CPU.
    pub fn forward(&self, obs: &Observation) -> Result<(Vec<f32>, f32), AgentError> {
        let e = self.entities_of(obs)?;
        Ok(forward::with_scratch(|scratch| {
            let value = pulp::Arch::new().dispatch(ForwardOp {
                params: self,
                e,
                with_value: true,
                scratch,
            });
            (scratch.scores.clone(), value)
        }))
    }

    /// The flat action scores of `obs` (no value head) passed to `f`, computed into this thread's
    /// reused buffers; `f` also gets a reusable buffer (for probabilities). What a decision needs.
    fn with_scores<T>(
        &self,
        obs: &Observation,
        f: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>) -> T,
    ) -> Result<T, AgentError> {
        let e = self.entities_of(obs)?;
        Ok(forward::with_scratch(|scratch| {
            pulp::Arch::new().dispatch(ForwardOp {
                params: self,
                e,
                with_value: false,
                scratch,
            });
            f(&mut scratch.scores, &mut scratch.probabilities)
        }))
    }

    /// [`EntityParams::forward`] on the instruction set `simd` (tests compare the sets).
    pub fn forward_on<S: pulp::Simd>(
        &self,
        simd: S,
        obs: &Observation,
    ) -> Result<(Vec<f32>, f32), AgentError> {
        let e = self.entities_of(obs)?;
        Ok(forward::with_scratch(|scratch| {
            let value = simd.vectorize(ForwardOp {
                params: self,
                e,
                with_value: true,
                scratch,
            });
            (scratch.scores.clone(), value)
        }))
    }

    /// The entity part of `obs`, checked against the network's row and global widths.
    fn entities_of<'o>(&self, obs: &'o Observation) -> Result<&'o EntityObs, AgentError> {
        let s = &self.spec;
        obs.as_entities()
            .filter(|e| e.width == s.row_width && e.global.len() == s.global_width)
            .ok_or_else(|| AgentError::ObservationMismatch {
                expected: format!(
                    "entity rows of {} features and {} global features",
                    s.row_width, s.global_width
                ),
                got: match obs.as_entities() {
                    Some(e) => format!("rows of {} and {} global", e.width, e.global.len()),
                    None => "a vector observation".into(),
                },
            })
    }
}

/// The constant added to every (entity, kind) score: `-ln(n_entities * n_kinds)`, so that with equal raw
/// scores the no-op and the set of all remedial actions are equally likely, whatever the cluster size.
/// Without it a fresh policy on a 68-entity cluster with 9 kinds picks the no-op with probability
/// 1/613 and explores as the random baseline does (availability 0.59 on `default`); PPO then settled
/// on acting every step (measured, issue 4 closing note). The scores of a size-independent policy
/// should also not shift the no-op's share with the entity count. (The same idea as initialising an
/// output bias to the log prior of a rare class: Lin et al., "Focal Loss", ICCV 2017, §3.3.)
pub fn action_prior(n_entities: usize, n_kinds: usize) -> f32 {
    -((n_entities * n_kinds).max(1) as f32).ln()
}

/// An entity network as a [`Policy`]: logits (PPO) or Q-values (DQN) over the flat cluster actions, for
/// any number of entities.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityPolicy {
    /// Algorithm name.
    pub algorithm: String,
    /// Meaning of the scores.
    pub output: OutputKind,
    /// The network.
    pub params: EntityParams,
    /// Epsilon of non-deterministic `predict` for Q-value policies.
    pub exploration_eps: f32,
    /// Number of actions of the env it was built for (`1 + entities * n_kinds`), reported by
    /// [`Policy::n_actions`]. The network itself acts on observations of any entity count: the scores
    /// and the mask then have `1 + rows * n_kinds` entries.
    pub n_actions: usize,
}

impl EntityPolicy {
    /// The action count for `obs` (`1 + rows * n_kinds`), which may differ from the training env's.
    pub fn n_actions_for(&self, obs: &Observation) -> usize {
        obs.as_entities()
            .map_or(0, |e| 1 + e.n_entities() * self.params.spec.n_kinds)
    }
}

/// Checks `mask` against `scores` and sets every masked score to `-inf`, in place.
fn mask_in_place(scores: &mut [f32], mask: Option<&[bool]>) -> Result<(), AgentError> {
    check_mask(mask, scores.len())?;
    if let Some(m) = mask {
        for (s, &ok) in scores.iter_mut().zip(m) {
            if !ok {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    Ok(())
}

impl Policy for EntityPolicy {
    fn algorithm(&self) -> &str {
        &self.algorithm
    }

    fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Probabilities come from the vectorised softmax ([`softmax_into`]), the same numbers the
    /// greedy [`Policy::predict`] decides on, so `noop_first_decision` of these probabilities is
    /// exactly the greedy action.
    fn action_scores(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<ActionScores, AgentError> {
        self.params.with_scores(obs, |scores, probabilities| {
            mask_in_place(scores, mask)?;
            Ok(match self.output {
                OutputKind::Logits => {
                    softmax_into(scores, probabilities);
                    ActionScores::Probabilities(probabilities.clone())
                }
                OutputKind::QValues => ActionScores::QValues(scores.clone()),
            })
        })?
    }

    fn predict(
        &self,
        obs: &Observation,
        mask: Option<&[bool]>,
        deterministic: bool,
        rng: &mut dyn RngCore,
    ) -> Result<Action, AgentError> {
        self.params.with_scores(obs, |s, probabilities| {
            mask_in_place(s, mask)?;
            Ok(match (self.output, deterministic) {
                // Greedy for a probability output is the mode of "act? then which action", not the
                // plain argmax: over hundreds of (entity, kind) actions the no-op is the single
                // likeliest action even when acting is likelier in total, so the argmax never acts
                // (session 2: PPO's sampled policy beat the runbook while its argmax stayed the
                // no-op). See `crate::noop_first`. Masked actions have probability 0 and are never
                // chosen; a NaN score decides the no-op.
                (OutputKind::Logits, true) => {
                    softmax_into(s, probabilities);
                    noop_first_decision(probabilities).action
                }
                (OutputKind::QValues, true) => argmax(s),
                // Sampling keeps glibc's `expf` softmax, the one PPO's rollouts sample from.
                (OutputKind::Logits, false) => sample(&log_softmax(s), rng),
                (OutputKind::QValues, false) => {
                    if rng.random::<f32>() < self.exploration_eps {
                        random_valid_action(s.len(), mask, rng)
                    } else {
                        argmax(s)
                    }
                }
            })
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Dense, plain};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The hidden non-linearity in place (the definition the forward's kernels must match).
    fn activate(values: &mut [f32], activation: Activation) {
        match activation {
            Activation::Tanh => crate::nn::fast_tanh::tanh_in_place(values),
            Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
    }

    fn spec() -> EntitySpec {
        EntitySpec {
            row_width: 3,
            global_width: 2,
            hidden: 8,
            n_kinds: 2,
            activation: Activation::Tanh,
        }
    }

    fn obs(rows: Vec<f32>) -> Observation {
        Observation::Entities(EntityObs {
            global: vec![0.5, -0.5],
            width: 3,
            rows,
        })
    }

    #[test]
    fn scores_are_permutation_equivariant_and_split_layer_matches_concatenation() {
        let mut p = EntityParams::init(spec(), &mut ChaCha8Rng::seed_from_u64(3));
        // Larger output gain so scores are not all near zero.
        for w in &mut p.scorer.layers[1].weight {
            *w *= 100.0;
        }
        let a = [0.1, 0.2, 0.3];
        let b = [0.9, -0.4, 0.0];
        let (s_ab, v_ab) = p.forward(&obs([a, b].concat())).unwrap();
        let (s_ba, v_ba) = p.forward(&obs([b, a].concat())).unwrap();
        assert_eq!(s_ab.len(), 1 + 2 * 2);
        assert!((v_ab - v_ba).abs() < 1e-6);
        assert!((s_ab[0] - s_ba[0]).abs() < 1e-6);
        for k in 0..2 {
            assert!((s_ab[1 + k] - s_ba[3 + k]).abs() < 1e-5);
            assert!((s_ab[3 + k] - s_ba[1 + k]).abs() < 1e-5);
        }
        // Reference: the scorer evaluated on the concatenated input [h_i, context] with plain::forward.
        let mut emb = plain::forward(&p.encoder, &[a, b].concat());
        activate(&mut emb, Activation::Tanh);
        let h = 8;
        let mean: Vec<f32> = (0..h).map(|k| (emb[k] + emb[h + k]) / 2.0).collect();
        let max: Vec<f32> = (0..h).map(|k| emb[k].max(emb[h + k])).collect();
        let ctx = [mean, max, vec![0.5, -0.5]].concat();
        let input = [emb[..h].to_vec(), ctx].concat();
        let reference: Vec<f32> = plain::forward(&p.scorer, &input)
            .into_iter()
            .map(|x| x + action_prior(2, 2))
            .collect();
        assert!((reference[0] - s_ab[1]).abs() < 1e-5 && (reference[1] - s_ab[2]).abs() < 1e-5);
    }

    #[test]
    fn fresh_network_gives_the_noop_about_half_the_probability_at_any_size() {
        let params = EntityParams::init(spec(), &mut ChaCha8Rng::seed_from_u64(4));
        for n in [1usize, 10, 200] {
            let policy = EntityPolicy {
                algorithm: "ppo".into(),
                output: OutputKind::Logits,
                params: params.clone(),
                exploration_eps: 0.0,
                n_actions: 1 + 2 * n,
            };
            let o = obs((0..3 * n).map(|i| (i % 5) as f32 * 0.2).collect());
            let ActionScores::Probabilities(p) = policy.action_scores(&o, None).unwrap() else {
                unreachable!("PPO policies give probabilities")
            };
            assert!(
                (p[0] - 0.5).abs() < 0.05,
                "{n} entities: P(no-op) = {}",
                p[0]
            );
        }
    }

    #[test]
    fn one_network_acts_on_any_entity_count_and_respects_masks() {
        let params = EntityParams::init(spec(), &mut ChaCha8Rng::seed_from_u64(1));
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in [1usize, 4, 9] {
            let policy = EntityPolicy {
                algorithm: "ppo".into(),
                output: OutputKind::Logits,
                params: params.clone(),
                exploration_eps: 0.0,
                n_actions: 1 + 2 * n,
            };
            let o = obs((0..3 * n).map(|i| i as f32 * 0.1).collect());
            let mask: Vec<bool> = (0..policy.n_actions).map(|a| a % 3 == 1).collect();
            for _ in 0..50 {
                let a = policy.predict(&o, Some(&mask), false, &mut rng).unwrap();
                assert!(mask[a]);
            }
        }
    }

    fn ppo_policy(params: EntityParams, n: usize) -> EntityPolicy {
        EntityPolicy {
            algorithm: "ppo".into(),
            output: OutputKind::Logits,
            params,
            exploration_eps: 0.0,
            n_actions: 1 + 2 * n,
        }
    }

    fn probabilities(policy: &EntityPolicy, o: &Observation, mask: Option<&[bool]>) -> Vec<f32> {
        match policy.action_scores(o, mask).unwrap() {
            ActionScores::Probabilities(p) => p,
            ActionScores::QValues(_) => unreachable!("PPO policies give probabilities"),
        }
    }

    /// Session 2's bug: with many actions the no-op was the argmax although acting was likelier in
    /// total, so the greedy policy never acted.
    #[test]
    fn greedy_acts_when_acting_is_likelier_in_total_though_the_noop_is_the_argmax() {
        let n = 10;
        let o = obs((0..3 * n)
            .map(|i| ((i * 7) % 11) as f32 * 0.1 - 0.5)
            .collect());
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (noop_shift, expect_act) in [(-0.5f32, true), (0.5, false)] {
            let mut params = EntityParams::init(spec(), &mut ChaCha8Rng::seed_from_u64(5));
            params.noop.layers[1].bias[0] += noop_shift;
            let policy = ppo_policy(params, n);
            let p = probabilities(&policy, &o, None);
            assert_eq!(
                argmax(&p),
                0,
                "the no-op is the single likeliest action: {p:?}"
            );
            let act_probability: f32 = p[1..].iter().sum();
            assert_eq!(
                act_probability > p[0],
                expect_act,
                "P(act) {act_probability}"
            );
            let a = policy.predict(&o, None, true, &mut rng).unwrap();
            if expect_act {
                assert_eq!(a, 1 + argmax(&p[1..]), "the likeliest remedial action");
            } else {
                assert_eq!(a, 0);
            }
        }
    }

    #[test]
    fn greedy_never_chooses_a_masked_action() {
        let n = 6;
        let mut params = EntityParams::init(spec(), &mut ChaCha8Rng::seed_from_u64(6));
        params.noop.layers[1].bias[0] -= 1.0;
        for w in &mut params.scorer.layers[1].weight {
            *w *= 200.0;
        }
        let policy = ppo_policy(params, n);
        let o = obs((0..3 * n).map(|i| ((i * 5) % 7) as f32 * 0.15).collect());
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let unmasked = policy.predict(&o, None, true, &mut rng).unwrap();
        assert_ne!(unmasked, 0, "this policy acts");
        // Masking the chosen action moves the choice to another valid one; masking the no-op
        // forces an action; masking every remedial action forces the no-op.
        let mut mask = vec![true; policy.n_actions];
        mask[unmasked] = false;
        let a = policy.predict(&o, Some(&mask), true, &mut rng).unwrap();
        assert!(mask[a] && a != unmasked);
        for pattern in 0..40usize {
            let mask: Vec<bool> = (0..policy.n_actions)
                .map(|i| (i * 7 + pattern * 3) % 5 < 2 || i == pattern % policy.n_actions)
                .collect();
            let a = policy.predict(&o, Some(&mask), true, &mut rng).unwrap();
            assert!(mask[a], "pattern {pattern}: masked action {a} chosen");
        }
        let only_noop: Vec<bool> = (0..policy.n_actions).map(|i| i == 0).collect();
        assert_eq!(
            policy
                .predict(&o, Some(&only_noop), true, &mut rng)
                .unwrap(),
            0
        );
        let no_noop: Vec<bool> = (0..policy.n_actions).map(|i| i != 0).collect();
        assert_ne!(
            policy.predict(&o, Some(&no_noop), true, &mut rng).unwrap(),
            0
        );
    }

    #[test]
    fn greedy_q_value_policies_keep_the_plain_argmax() {
        let n = 10;
        let mut params = EntityParams::init(spec(), &mut ChaCha8Rng::seed_from_u64(5));
        params.noop.layers[1].bias[0] -= 0.5;
        let mut policy = ppo_policy(params, n);
        policy.output = OutputKind::QValues;
        let o = obs((0..3 * n)
            .map(|i| ((i * 7) % 11) as f32 * 0.1 - 0.5)
            .collect());
        let ActionScores::QValues(q) = policy.action_scores(&o, None).unwrap() else {
            unreachable!("Q-value output")
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            policy.predict(&o, None, true, &mut rng).unwrap(),
            argmax(&q)
        );
    }

    /// A 100-service, 40-node observation of the v1 feature schema (the benchmark's size) and a
    /// network with heads scaled up, so comparisons are not between numbers all near zero.
    fn cluster_case(hidden: usize, activation: Activation) -> (EntityParams, Observation) {
        let schema = mend_monitor::features::FeatureSchema::builtin();
        let (w, g, n) = (schema.width(), schema.global.len(), 140);
        let spec = EntitySpec {
            row_width: w,
            global_width: g,
            hidden,
            n_kinds: 9,
            activation,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut params = EntityParams::init(spec, &mut rng);
        for w in params.scorer.layers[1]
            .weight
            .iter_mut()
            .chain(&mut params.noop.layers[1].weight)
        {
            *w *= 100.0;
        }
        let o = Observation::Entities(EntityObs {
            global: (0..g).map(|_| rng.random_range(0.0..3.0)).collect(),
            width: w,
            rows: (0..w * n).map(|_| rng.random_range(-1.0..2.0)).collect(),
        });
        (params, o)
    }

    /// Issue 7: the run-time dispatched forward gives the same bits on every instruction set this
    /// CPU has (AVX-512, AVX2, the baseline), so results do not depend on the CPU.
    #[test]
    fn forward_is_bit_identical_on_every_instruction_set() {
        for activation in [Activation::Tanh, Activation::Relu] {
            let (params, o) = cluster_case(64, activation);
            let want = params.forward_on(pulp::Scalar::new(), &o).unwrap();
            assert_eq!(want.0.len(), 1 + 140 * 9);
            let mut sets = vec![("dispatched", params.forward(&o).unwrap())];
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(v3) = pulp::x86::V3::try_new() {
                    sets.push(("avx2", params.forward_on(v3, &o).unwrap()));
                }
                if let Some(v4) = pulp::x86::V4::try_new() {
                    sets.push(("avx512", params.forward_on(v4, &o).unwrap()));
                }
            }
            for (name, (scores, value)) in sets {
                assert_eq!(
                    value.to_bits(),
                    want.1.to_bits(),
                    "{name} {activation:?} value"
                );
                let differ = scores
                    .iter()
                    .zip(&want.0)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert_eq!(differ, None, "{name} {activation:?}: first differing score");
            }
        }
    }

    /// The forward pass against its definition written as plain sequential loops (every output
    /// `bias + x_0 w_0 + x_1 w_1 + ...` in input order, pooling in entity order, the heads through
    /// `plain::forward`, the scorer's context part by the 8-lane `dot`): bit-identical, so the
    /// inference path's buffers, strides and blocking never change a result (the rollouts PPO trains
    /// on read the same forward).
    #[test]
    fn forward_is_bit_identical_to_the_sequential_definition() {
        fn layer(
            x: &[f32],
            width: usize,
            l: &Dense,
            cols: std::ops::Range<usize>,
            init: &[f32],
        ) -> Vec<f32> {
            x.chunks_exact(width)
                .flat_map(|row| {
                    let cols = cols.clone();
                    (0..l.fan_out).map(move |j| {
                        let mut acc = init[j];
                        for (k, c) in cols.clone().enumerate() {
                            acc += row[k] * l.weight[j * l.fan_in + c];
                        }
                        acc
                    })
                })
                .collect()
        }
        for (activation, hidden, n) in [
            (Activation::Tanh, 64, 140),
            (Activation::Relu, 32, 9),
            (Activation::Tanh, 13, 3),
        ] {
            let (mut params, o) = cluster_case(hidden, activation);
            let e = o.as_entities().unwrap().clone();
            let e = EntityObs {
                rows: e.rows[..n * e.width].to_vec(),
                ..e
            };
            let o = Observation::Entities(e.clone());
            params.noop.layers[0].bias[0] += 0.25;
            let h = hidden;
            let w = e.width;
            let [enc0, enc1] = [&params.encoder.layers[0], &params.encoder.layers[1]];
            let mut h1 = layer(&e.rows, w, enc0, 0..w, &enc0.bias);
            activate(&mut h1, activation);
            let mut emb = layer(&h1, h, enc1, 0..h, &enc1.bias);
            activate(&mut emb, activation);
            let mut mean = vec![0.0f32; h];
            let mut max = vec![f32::NEG_INFINITY; h];
            for row in emb.chunks_exact(h) {
                for k in 0..h {
                    mean[k] += row[k];
                    max[k] = max[k].max(row[k]);
                }
            }
            mean.iter_mut().for_each(|m| *m /= n as f32);
            let ctx = [mean, max, e.global.clone()].concat();
            let noop = plain::forward(&params.noop, &ctx)[0];
            let value = plain::forward(&params.value, &ctx)[0];
            let first = &params.scorer.layers[0];
            let ctx_part: Vec<f32> = first
                .weight
                .chunks_exact(first.fan_in)
                .zip(&first.bias)
                .map(|(wr, b)| {
                    let mut acc = [0.0f32; 8];
                    let (ca, cb) = (wr[h..].chunks_exact(8), ctx.chunks_exact(8));
                    let tail: f32 = ca
                        .remainder()
                        .iter()
                        .zip(cb.remainder())
                        .map(|(x, y)| x * y)
                        .sum();
                    for (x, y) in ca.zip(cb) {
                        for k in 0..8 {
                            acc[k] += x[k] * y[k];
                        }
                    }
                    b + (((acc[0] + acc[1]) + (acc[2] + acc[3]))
                        + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
                        + tail)
                })
                .collect();
            let mut hid = layer(&emb, h, first, 0..h, &ctx_part);
            activate(&mut hid, activation);
            let out = &params.scorer.layers[1];
            let prior = action_prior(n, params.spec.n_kinds);
            let bias: Vec<f32> = out.bias.iter().map(|b| b + prior).collect();
            let want = [vec![noop], layer(&hid, h, out, 0..h, &bias)].concat();
            let (scores, v) = params.forward(&o).unwrap();
            assert_eq!(v.to_bits(), value.to_bits(), "{activation:?} h{h}: value");
            assert_eq!(scores.len(), want.len());
            let differ = scores
                .iter()
                .zip(&want)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert_eq!(
                differ, None,
                "{activation:?} h{h} n{n}: first differing score"
            );
        }
    }

    /// The per-thread buffers never carry a stale result: after a weight changes in place (as a
    /// training step changes it, at the same address), the forward equals a forward on a fresh
    /// thread (fresh buffers). Session 5 kept transposed weights per thread here; the rows-as-lanes
    /// kernel reads the weights in place, and this test stays as the guard against any such cache.
    #[test]
    fn forward_after_an_in_place_weight_change_equals_a_fresh_forward() {
        let (mut params, o) = cluster_case(32, Activation::Tanh);
        let fresh = |p: &EntityParams| {
            let (p, o) = (p.clone(), o.clone());
            std::thread::spawn(move || p.forward(&o).unwrap())
                .join()
                .unwrap()
        };
        let before = params.forward(&o).unwrap();
        assert_eq!(before, fresh(&params));
        for (layer, i) in [(0usize, 3usize), (1, 40)] {
            params.encoder.layers[layer].weight[i] += 0.5;
            params.scorer.layers[layer].weight[i] -= 0.25;
            let after = params.forward(&o).unwrap();
            assert_ne!(after.0, before.0);
            assert_eq!(after, fresh(&params), "layer {layer}");
        }
        // -0.0 and 0.0 compare equal as floats but are different weights.
        params.encoder.layers[1].weight[0] = 0.0;
        params.forward(&o).unwrap();
        params.encoder.layers[1].weight[0] = -0.0;
        let minus = params.forward(&o).unwrap();
        let want = fresh(&params);
        assert!(
            minus
                .0
                .iter()
                .zip(&want.0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    /// The greedy decision before the vectorised softmax (session 4): glibc's `expf` through
    /// `log_softmax`, `P(act)` summed in order, the first likeliest remedial action.
    fn glibc_greedy(masked: &[f32]) -> (usize, f32, f32) {
        let p: Vec<f32> = log_softmax(masked).into_iter().map(f32::exp).collect();
        let act: f32 = p[1..].iter().sum();
        if act <= p[0] {
            return (0, p[0], act);
        }
        let best = (1..p.len()).fold(1, |b, i| if p[i] > p[b] { i } else { b });
        (best, p[0], act)
    }

    /// Issue 4: the vectorised softmax changes the decision's numerics (within 1e-6), not its
    /// decisions. On observations recorded from the `default` scenario (four episodes, the env's masks),
    /// the committed executor fixture policy (a warm-started PPO policy trained on `default`) and the
    /// same policy made eager to act (no-op bias lowered, so the second stage is exercised on most
    /// steps) decide exactly as the glibc-softmax decision does, and `action_scores` stays within
    /// 1e-5 (relative; absolute below 1e-3) of the glibc probabilities.
    #[test]
    fn fast_decisions_equal_the_glibc_softmax_decisions_on_recorded_fixture_observations() {
        use crate::policy::PolicyNet;
        use mend_envs::{ClusterConfig, ClusterEnv, Env};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../executor/tests/fixtures/policy/ppo-default-warm.safetensors");
        let file = crate::policy_file::PolicyFile::load(&path, None).unwrap();
        let PolicyNet::Entity(fixture) = file.policy else {
            panic!("the fixture is an entity policy")
        };
        let mut eager = (*fixture).clone();
        eager.params.noop.layers[1].bias[0] -= 4.0;
        let (mut decisions, mut acting, mut closest) = (0usize, 0usize, f32::INFINITY);
        let mut worst = 0.0f32;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for (seed, policy) in [
            (1000u64, &*fixture),
            (1001, &*fixture),
            (1002, &eager),
            (1003, &eager),
        ] {
            let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
            let (mut obs, _) = env.reset(Some(seed), None).unwrap();
            for _ in 0..1_500 {
                let mask = env.action_mask().unwrap();
                let (mut scores, _) = policy.params.forward(&obs).unwrap();
                for (s, &ok) in scores.iter_mut().zip(&mask) {
                    if !ok {
                        *s = f32::NEG_INFINITY;
                    }
                }
                let (want, p_noop, p_act) = glibc_greedy(&scores);
                let got = policy.predict(&obs, Some(&mask), true, &mut rng).unwrap();
                assert_eq!(got, want, "seed {seed}, decision {decisions}");
                let ActionScores::Probabilities(p) =
                    policy.action_scores(&obs, Some(&mask)).unwrap()
                else {
                    unreachable!("PPO policies give probabilities")
                };
                let reference = crate::distribution::softmax(&scores);
                for (a, b) in p.iter().zip(&reference) {
                    worst = worst.max((a - b).abs() / b.max(1e-3));
                }
                decisions += 1;
                acting += usize::from(want != 0);
                closest = closest.min((p_act - p_noop).abs());
                let step = env.step(got).unwrap();
                obs = step.obs;
                if step.terminated || step.truncated {
                    break;
                }
            }
        }
        assert!(decisions >= 2_000, "{decisions} decisions");
        assert!(
            acting >= 200,
            "only {acting} acting decisions of {decisions}"
        );
        eprintln!(
            "{decisions} decisions, {acting} acting, closest |P(act) - p(no-op)| {closest:e}"
        );
    }

    /// Issue 7: the fast inference path equals the candle forward PPO trains through, to 1e-5, at
    /// the benchmark's size (100 services + 40 nodes, hidden 64).
    #[test]
    fn fast_forward_equals_the_candle_forward_at_the_cluster_size() {
        use super::super::entity_candle::{CandleEntity, EntityBatch};
        for activation in [Activation::Tanh, Activation::Relu] {
            let (params, o) = cluster_case(64, activation);
            let e = o.as_entities().unwrap();
            let mut batch = EntityBatch::new(e.width, e.global.len());
            batch.push(e);
            let net = CandleEntity::from_params(&params, &candle_core::Device::Cpu).unwrap();
            let (logits, values) = net.forward(&batch).unwrap();
            let logits = logits.to_vec2::<f32>().unwrap();
            let value = values.to_vec1::<f32>().unwrap()[0];
            let (scores, v) = params.forward(&o).unwrap();
            assert!(
                (value - v).abs() <= 1e-5 * v.abs().max(1.0),
                "value {value} vs {v}"
            );
            assert_eq!(logits[0].len(), scores.len());
            for (a, (c, f)) in logits[0].iter().zip(&scores).enumerate() {
                assert!(
                    (c - f).abs() <= 1e-5 * f.abs().max(1.0),
                    "{activation:?} action {a}: candle {c} vs fast {f}"
                );
            }
        }
    }
}

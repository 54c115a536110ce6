//! DQN hyperparameters ([`DqnConfig`]) with CleanRL's names, their presets (rl-baselines3-zoo's CartPole
//! settings and the cluster default) and their validation.

use serde::{Deserialize, Serialize};

use super::warm_start::DqnWarmStartConfig;
use crate::error::AgentError;
use crate::nn::Activation;

/// DQN hyperparameters, with CleanRL's names (SB3's `gradient_steps` and `max_grad_norm` added).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Master seed: network init, exploration, replay sampling, env reset seeds.
    pub seed: u64,
    /// Planned training budget in env steps; the exploration schedule runs over it.
    pub total_timesteps: u64,
    /// Adam learning rate (constant).
    pub learning_rate: f64,
    /// Parallel envs the vector env must have.
    pub num_envs: usize,
    /// Replay buffer capacity (transitions).
    pub buffer_size: usize,
    /// Discount factor.
    pub gamma: f64,
    /// Env steps between hard copies of the online network into the target network.
    pub target_network_frequency: u64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Initial exploration epsilon.
    pub start_e: f64,
    /// Final exploration epsilon.
    pub end_e: f64,
    /// Share of `total_timesteps` over which epsilon falls from `start_e` to `end_e`.
    pub exploration_fraction: f64,
    /// Env steps of uniformly random acting before learning starts.
    pub learning_starts: u64,
    /// Vector steps between gradient phases.
    pub train_frequency: u64,
    /// Gradient updates per phase.
    pub gradient_steps: usize,
    /// Use double DQN targets (online network picks, target network evaluates).
    pub double_q: bool,
    /// Maximum gradient norm (SB3 DQN default 10).
    pub max_grad_norm: f64,
    /// Hidden layer widths of the MLP; for entity observations, `hidden[0]` is the entity network's
    /// width (embedding and every hidden layer).
    pub hidden: Vec<usize>,
    /// Hidden activation (SB3 DQN: ReLU).
    pub activation: Activation,
    /// Adam epsilon (PyTorch default 1e-8, which SB3's DQN keeps).
    pub adam_eps: f64,
    /// Rewards are multiplied by this before they are stored (1 = SB3). The cluster's per-step
    /// rewards are costs in USD-like units; scaling keeps Q-values near the Huber loss's quadratic
    /// zone.
    #[serde(default = "one")]
    pub reward_scale: f64,
    /// How a random (exploring) action is drawn. `None`: uniformly among the valid actions (SB3's
    /// `action_space.sample()`). `Some(p)`: act with probability `p` (a uniformly random valid action
    /// other than action 0), else action 0, the no-op of the cluster env. With hundreds of (entity,
    /// kind) actions a uniform draw almost never picks the no-op and behaves as the random baseline
    /// (availability 0.59 on `default`, issue 4 closing note), which is no way to explore a cluster.
    #[serde(default)]
    pub explore_act_prob: Option<f64>,
    /// Entity networks only (action 0 = the no-op): act greedily only if the best action's Q-value
    /// exceeds the no-op's by more than this, in training (the behaviour policy and the action the TD
    /// target evaluates) and at inference (recorded in the policy file's manifest under
    /// `training.config.noop_margin`). See [`super::decision`]. 0 = plain argmax (SB3).
    #[serde(default)]
    pub noop_margin: f64,
    /// Entity networks only: learning from the expert runbook's demonstrations before and during
    /// DQN (DQfD, [`super::warm_start`]). `None` (the default): DQN from the seeded initial weights,
    /// as before (and omitted when serialised, so configs, policy files and results of runs without
    /// a warm start keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<DqnWarmStartConfig>,
    /// Entity networks only: dueling Q-values `V + A - mean A` (Wang et al. 2016, [`super::dueling`]),
    /// the value head as `V`. Changes the values TD targets and losses read, not any decision.
    /// `false` (the default) is omitted when serialised, so earlier configs keep their bytes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dueling: bool,
}

fn one() -> f64 {
    1.0
}

impl DqnConfig {
    /// rl-baselines3-zoo's `hyperparams/dqn.yml` for CartPole-v1 (lr 2.3e-3, batch 64, buffer 1e5,
    /// learning_starts 1000, gamma 0.99, target update 10, train_freq 256, gradient_steps 128,
    /// exploration_fraction 0.16, final eps 0.04, net [256, 256], 5e4 steps, 1 env); SB3 defaults
    /// otherwise (vanilla DQN targets, max_grad_norm 10, Huber loss, start eps 1).
    pub fn cartpole_zoo(seed: u64) -> Self {
        Self {
            seed,
            total_timesteps: 50_000,
            learning_rate: 2.3e-3,
            num_envs: 1,
            buffer_size: 100_000,
            gamma: 0.99,
            target_network_frequency: 10,
            batch_size: 64,
            start_e: 1.0,
            end_e: 0.04,
            exploration_fraction: 0.16,
            learning_starts: 1_000,
            train_frequency: 256,
            gradient_steps: 128,
            double_q: false,
            max_grad_norm: 10.0,
            hidden: vec![256, 256],
            activation: Activation::Relu,
            adam_eps: 1e-8,
            reward_scale: 1.0,
            explore_act_prob: None,
            noop_margin: 0.0,
            warm_start: None,
            dueling: false,
        }
    }

    /// Defaults for the cluster env with the entity network (a starting point, not tuned on
    /// evaluation seeds): 4 envs; one gradient step of 64 transitions every 4 vector steps (16 env
    /// steps, CleanRL's `train_frequency` 4 per env order); buffer 50,000 (the cluster's transitions
    /// hold whole entity sets); double DQN; target copied every 2,000 env steps; epsilon 1 -> 0.05
    /// over the first 30 %; exploring acts with probability 0.05 (else no-op), about the runbook's
    /// action rate; rewards x 0.01 as PPO's `cluster_default`; entity width 64, ReLU.
    pub fn cluster_default(seed: u64) -> Self {
        Self {
            seed,
            total_timesteps: 100_000,
            learning_rate: 5e-4,
            num_envs: 4,
            buffer_size: 50_000,
            gamma: 0.99,
            target_network_frequency: 2_000,
            batch_size: 64,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.3,
            learning_starts: 2_000,
            train_frequency: 4,
            gradient_steps: 1,
            double_q: true,
            max_grad_norm: 10.0,
            hidden: vec![64],
            activation: Activation::Relu,
            adam_eps: 1e-8,
            reward_scale: 0.01,
            explore_act_prob: Some(0.05),
            noop_margin: 0.0,
            warm_start: None,
            dueling: false,
        }
    }

    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), AgentError> {
        use crate::config_check as check;
        check::at_least_one("num_envs", self.num_envs as u64)?;
        check::at_least_one("buffer_size", self.buffer_size as u64)?;
        check::at_least_one("batch_size", self.batch_size as u64)?;
        check::at_least_one("train_frequency", self.train_frequency)?;
        check::unit_interval("gamma", self.gamma)?;
        check::positive_finite("learning_rate", self.learning_rate)?;
        check::unit_interval("start_e", self.start_e)?;
        check::unit_interval("end_e", self.end_e)?;
        check::unit_interval("exploration_fraction", self.exploration_fraction)?;
        check::positive_finite("max_grad_norm", self.max_grad_norm)?;
        check::positive_finite("adam_eps", self.adam_eps)?;
        check::positive_finite("reward_scale", self.reward_scale)?;
        if let Some(p) = self.explore_act_prob {
            check::unit_interval("explore_act_prob", p)?;
        }
        check::non_negative_finite("noop_margin", self.noop_margin)?;
        check::positive_widths("hidden", &self.hidden)?;
        if let Some(ws) = &self.warm_start {
            ws.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_each_bad_field_is_named() {
        DqnConfig::cartpole_zoo(1).validate().unwrap();
        DqnConfig::cluster_default(1).validate().unwrap();
        let cases: Vec<(&str, DqnConfig)> = vec![
            (
                "gamma",
                DqnConfig {
                    gamma: 1.5,
                    ..DqnConfig::cartpole_zoo(1)
                },
            ),
            (
                "reward_scale",
                DqnConfig {
                    reward_scale: 0.0,
                    ..DqnConfig::cartpole_zoo(1)
                },
            ),
            (
                "explore_act_prob",
                DqnConfig {
                    explore_act_prob: Some(-0.1),
                    ..DqnConfig::cartpole_zoo(1)
                },
            ),
            (
                "noop_margin",
                DqnConfig {
                    noop_margin: f64::NAN,
                    ..DqnConfig::cartpole_zoo(1)
                },
            ),
            (
                "hidden",
                DqnConfig {
                    hidden: vec![64, 0],
                    ..DqnConfig::cartpole_zoo(1)
                },
            ),
            (
                "batch_size",
                DqnConfig {
                    batch_size: 0,
                    ..DqnConfig::cartpole_zoo(1)
                },
            ),
        ];
        for (field, config) in cases {
            match config.validate() {
                Err(AgentError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn configs_written_before_the_cluster_fields_still_load() {
        let mut value = serde_json::to_value(DqnConfig::cartpole_zoo(3)).unwrap();
        let map = value.as_object_mut().unwrap();
        map.remove("reward_scale");
        map.remove("explore_act_prob");
        map.remove("noop_margin");
        let back: DqnConfig = serde_json::from_value(value).unwrap();
        assert_eq!(back, DqnConfig::cartpole_zoo(3));
    }
}

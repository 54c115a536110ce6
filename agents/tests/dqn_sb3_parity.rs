//! DQN on CartPole against Stable-Baselines3's DQN, piece by piece (issue 4's DQN proof): the zoo
//! preset, the network's initial weights and the loss gradients. The loop's step counting (target
//! copies, gradient phases, truncation) is tested in `agents/src/dqn/train.rs`.
//!
//! Sources: rl-baselines3-zoo `hyperparams/dqn.yml` (CartPole-v1); SB3 `dqn/dqn.py` (`DQN.__init__`
//! defaults, `train`: `F.smooth_l1_loss`, `clip_grad_norm_(.., max_grad_norm)`), `dqn/policies.py`
//! (`QNetwork` = `create_mlp`, no orthogonal init, so PyTorch's `nn.Linear.reset_parameters`:
//! `kaiming_uniform_(a=sqrt(5))`, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), for weights and biases).

use candle_core::Device;
use mend_agents::dqn::td_loss_grads;
use mend_agents::nn::candle_mlp::CandleMlp;
use mend_agents::nn::init::{InitScheme, init_mlp};
use mend_agents::nn::{Activation, MlpParams, MlpSpec};
use mend_agents::{Agent, Dqn, DqnConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn the_cartpole_preset_is_the_zoo_file_over_sb3_defaults() {
    let c = DqnConfig::cartpole_zoo(9);
    // dqn.yml, CartPole-v1.
    assert_eq!(c.total_timesteps, 50_000);
    assert_eq!(c.learning_rate, 2.3e-3);
    assert_eq!(c.batch_size, 64);
    assert_eq!(c.buffer_size, 100_000);
    assert_eq!(c.learning_starts, 1_000);
    assert_eq!(c.gamma, 0.99);
    assert_eq!(c.target_network_frequency, 10);
    assert_eq!(c.train_frequency, 256);
    assert_eq!(c.gradient_steps, 128);
    assert_eq!(c.exploration_fraction, 0.16);
    assert_eq!(c.end_e, 0.04);
    assert_eq!(c.hidden, vec![256, 256]);
    // SB3 defaults: one env (the zoo's n_envs default), exploration_initial_eps 1, max_grad_norm 10,
    // vanilla targets (max over the target net), ReLU, Adam's PyTorch eps, rewards as the env pays.
    assert_eq!(c.num_envs, 1);
    assert_eq!(c.start_e, 1.0);
    assert_eq!(c.max_grad_norm, 10.0);
    assert!(!c.double_q, "SB3's DQN is not double DQN");
    assert_eq!(c.activation, Activation::Relu);
    assert_eq!(c.adam_eps, 1e-8);
    assert_eq!(c.reward_scale, 1.0);
    assert_eq!(
        c.explore_act_prob, None,
        "exploring draws action_space.sample()"
    );
    assert!(!c.dueling && c.warm_start.is_none() && c.noop_margin == 0.0);
}

#[test]
fn initial_weights_are_pytorch_linear_defaults() {
    let agent = Dqn::new(DqnConfig::cartpole_zoo(5), 4, 2).unwrap();
    let params = agent.q_params();
    let shapes: Vec<(usize, usize)> = params
        .layers
        .iter()
        .map(|l| (l.fan_in, l.fan_out))
        .collect();
    assert_eq!(shapes, vec![(4, 256), (256, 256), (256, 2)]);
    for (k, layer) in params.layers.iter().enumerate() {
        let bound = 1.0 / (layer.fan_in as f64).sqrt();
        for (what, values) in [("weight", &layer.weight), ("bias", &layer.bias)] {
            assert!(
                values.iter().all(|&v| f64::from(v).abs() <= bound + 1e-7),
                "layer {k} {what} outside +-{bound}"
            );
        }
        // U(-b, b) has variance b^2 / 3; the 1,024- and 65,536-weight layers pin it to a few %.
        if layer.weight.len() >= 1_024 {
            let n = layer.weight.len() as f64;
            let var = layer
                .weight
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
                / n;
            let want = bound * bound / 3.0;
            assert!(
                (var / want - 1.0).abs() < 0.1,
                "layer {k}: variance {var} vs {want}"
            );
        }
    }
}

/// Huber (smooth L1, delta 1) mean loss of `Q(obs)[a]` against `targets`, in f64 from the same
/// parameters, as the reference for finite differences.
fn loss_f64(p: &MlpParams, obs: &[f32], actions: &[usize], targets: &[f32]) -> f64 {
    let mut total = 0.0;
    for (b, (&a, &y)) in actions.iter().zip(targets).enumerate() {
        let mut x: Vec<f64> = obs[b * 4..(b + 1) * 4]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        for (k, l) in p.layers.iter().enumerate() {
            let mut out: Vec<f64> = (0..l.fan_out)
                .map(|o| {
                    let row = &l.weight[o * l.fan_in..(o + 1) * l.fan_in];
                    f64::from(l.bias[o])
                        + row
                            .iter()
                            .zip(&x)
                            .map(|(&w, v)| f64::from(w) * v)
                            .sum::<f64>()
                })
                .collect();
            if k + 1 < p.layers.len() {
                out.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            x = out;
        }
        let d = (x[a] - f64::from(y)).abs();
        total += if d < 1.0 { 0.5 * d * d } else { d - 0.5 };
    }
    total / actions.len() as f64
}

#[test]
fn td_loss_gradients_equal_finite_differences_of_smooth_l1() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let spec = MlpSpec {
        input: 4,
        hidden: vec![16, 16],
        output: 2,
        activation: Activation::Relu,
    };
    let params = init_mlp(&spec, InitScheme::TorchDefault, &mut rng);
    let batch = 24;
    let obs: Vec<f32> = (0..batch * 4)
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let actions: Vec<usize> = (0..batch).map(|_| rng.random_range(0..2)).collect();
    // Targets spread so that both Huber branches (|d| < 1 and |d| >= 1) are present.
    let targets: Vec<f32> = (0..batch).map(|_| rng.random_range(-3.0..3.0)).collect();
    let online = CandleMlp::from_params(&params, &Device::Cpu).unwrap();
    let (loss, _, grads) = td_loss_grads(&online, &obs, &actions, targets.clone(), 4).unwrap();
    assert!((loss - loss_f64(&params, &obs, &actions, &targets)).abs() < 1e-5);

    // Small enough that no ReLU or Huber kink lies within +-h of this draw (1e-3 crosses one).
    let h = 1e-4f32;
    let mut checked = 0;
    for (t, grad) in grads.iter().enumerate() {
        for i in (0..grad.len()).step_by(3) {
            let mut plus = params.clone();
            plus.tensors_mut()[t][i] += h;
            let mut minus = params.clone();
            minus.tensors_mut()[t][i] -= h;
            // The step actually taken in f32 (rounding makes it differ from 2h by up to ~1e-3).
            let step = f64::from(plus.tensors()[t][i]) - f64::from(minus.tensors()[t][i]);
            let fd = (loss_f64(&plus, &obs, &actions, &targets)
                - loss_f64(&minus, &obs, &actions, &targets))
                / step;
            let g = f64::from(grad[i]);
            assert!(
                (g - fd).abs() <= 2e-4 + 1e-2 * fd.abs(),
                "tensor {t} index {i}: backprop {g} vs finite difference {fd}"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn evaluating_inside_learn_leaves_training_unchanged() {
    // SB3's EvalCallback plays a separate env and draws no training random number, so the zoo's
    // final model is that of an uninterrupted run; `learn_with_evaluation` must keep that property.
    let config = DqnConfig {
        total_timesteps: 700,
        learning_starts: 100,
        train_frequency: 64,
        gradient_steps: 8,
        hidden: vec![32, 32],
        ..DqnConfig::cartpole_zoo(8)
    };
    let cartpole = || {
        mend_envs::SyncVectorEnv::new(
            vec![mend_envs::make("CartPole-v1").unwrap()],
            mend_envs::AutoresetMode::SameStep,
        )
        .unwrap()
    };
    let mut plain = Dqn::new(config.clone(), 4, 2).unwrap();
    let plain_summary = plain
        .learn(&mut cartpole(), 700, &mut mend_agents::NullSink)
        .unwrap();
    let untrained = Dqn::new(config.clone(), 4, 2).unwrap();
    let mut evaluated = Dqn::new(config, 4, 2).unwrap();
    let mut seen = Vec::new();
    let mut eval_env = mend_envs::make("CartPole-v1").unwrap();
    let mut on_eval = |policy: &mend_agents::MlpPolicy, step: u64| {
        let returns =
            mend_agents::eval::evaluate(policy, eval_env.as_mut(), 2, step, false).unwrap();
        seen.push((step, returns.len()));
    };
    let summary = evaluated
        .learn_with_evaluation(
            &mut cartpole(),
            700,
            &mut mend_agents::NullSink,
            250,
            &mut on_eval,
        )
        .unwrap();
    // 700 steps end inside a rollout, so training runs to 704 (11 rollouts of 64): calls at 250, 500.
    assert_eq!(seen, vec![(250, 2), (500, 2)]);
    assert_eq!(summary.num_timesteps, plain_summary.num_timesteps);
    assert_eq!(summary.gradient_steps, plain_summary.gradient_steps);
    assert_eq!(evaluated.q_params(), plain.q_params());
    assert_ne!(
        plain.q_params(),
        untrained.q_params(),
        "training changed the network"
    );
}

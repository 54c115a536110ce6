"""What the SB3 peer scripts share: rl-baselines3-zoo's DQN settings for CartPole-v1
(`hyperparams/dqn.yml`, the ones `DqnConfig::cartpole_zoo` mirrors), and a recorder of the loss and
gradient norm SB3's own `DQN.train` computes (`F.smooth_l1_loss`, whose first argument is
`Q(s)[a]`, and `clip_grad_norm_`, which returns the norm before clipping).

Imported by `sb3_dqn_cartpole.py`, `sb3_dqn_cartpole_stats.py` and `sb3_dqn_lockstep.py`
(Python puts a script's own folder on the import path).
"""
import functools

import torch

# rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1 (n_timesteps 5e4).
ZOO_DQN_CARTPOLE = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1_000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
    policy_kwargs=dict(net_arch=[256, 256]),
)


class TrainCalls:
    """Replaces `torch.nn.functional.smooth_l1_loss` and `torch.nn.utils.clip_grad_norm_` (which SB3's
    `DQN.train` looks up at call time) by wrappers that record each call's loss, mean `Q(s)[a]` and
    gradient norm before clipping; `restore()` puts the originals back."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.qs: list[float] = []
        self.norms: list[float] = []
        self._loss = torch.nn.functional.smooth_l1_loss
        self._clip = torch.nn.utils.clip_grad_norm_

        @functools.wraps(self._loss)
        def recording_loss(current, *args, **kwargs):
            loss = self._loss(current, *args, **kwargs)
            self.losses.append(loss.item())
            self.qs.append(current.mean().item())
            return loss

        @functools.wraps(self._clip)
        def recording_clip(*args, **kwargs):
            norm = self._clip(*args, **kwargs)
            self.norms.append(float(norm))
            return norm

        torch.nn.functional.smooth_l1_loss = recording_loss
        torch.nn.utils.clip_grad_norm_ = recording_clip

    def clear(self) -> None:
        self.losses.clear(), self.qs.clear(), self.norms.clear()

    def restore(self) -> None:
        torch.nn.functional.smooth_l1_loss = self._loss
        torch.nn.utils.clip_grad_norm_ = self._clip


def evaluate(model, episodes: int = 100) -> list[float]:
    """Returns of `episodes` deterministic episodes of `model` on a fresh CartPole-v1, reset with seeds
    10,000, 10,001, ... (disjoint from training), as mend's examples evaluate."""
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=10_000 + episode)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    return returns

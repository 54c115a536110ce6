#!/usr/bin/env python3
"""SB3's DQN on CartPole-v1 with the zoo's settings (as `sb3_dqn_cartpole.py`), logging one row per
gradient phase to `OUT_DIR/sb3_seed{N}.csv` with the columns `agents/examples/dqn_cartpole.rs --metrics`
writes for mend: step, epsilon, TD loss, mean Q(s)[a], gradient norm before clipping, share of clipped
steps, training episodes ended since the previous row and their mean return.

Loss, Q and gradient norm are read from SB3's own calls in `DQN.train` (`F.smooth_l1_loss`'s first
argument is `Q(s)[a]`; `clip_grad_norm_` returns the norm before clipping); episode returns from the
Monitor wrapper SB3 puts around the env (`info["episode"]["r"]`); epsilon is `exploration_rate` as the
phase starts (after the rollout's last `_on_step`), which mend logs too.

    /tmp/sb3env/bin/python benches/peers/sb3_dqn_cartpole_stats.py OUT_DIR SEED...
"""
import functools
import os
import sys

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

EVAL_EPISODES = 100


class EpisodeReturns(BaseCallback):
    """Collects the returns of training episodes as they end."""

    def __init__(self) -> None:
        super().__init__()
        self.returns: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.returns.append(float(info["episode"]["r"]))
        return True


def run(seed: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    model = DQN(
        "MlpPolicy",
        gym.make("CartPole-v1"),
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
        seed=seed,
        verbose=0,
    )
    losses, qs, norms = [], [], []
    smooth_l1 = torch.nn.functional.smooth_l1_loss
    clip = torch.nn.utils.clip_grad_norm_

    @functools.wraps(smooth_l1)
    def recording_loss(current, target, *args, **kwargs):
        loss = smooth_l1(current, target, *args, **kwargs)
        losses.append(loss.item())
        qs.append(current.mean().item())
        return loss

    @functools.wraps(clip)
    def recording_clip(*args, **kwargs):
        norm = clip(*args, **kwargs)
        norms.append(float(norm))
        return norm

    torch.nn.functional.smooth_l1_loss = recording_loss
    torch.nn.utils.clip_grad_norm_ = recording_clip
    episodes = EpisodeReturns()
    rows = ["step,epsilon,td_loss,q_values,grad_norm,clip_fraction,episodes,mean_return"]
    train = model.train

    def logged_train(gradient_steps: int, batch_size: int) -> None:
        losses.clear(), qs.clear(), norms.clear()
        train(gradient_steps=gradient_steps, batch_size=batch_size)
        clipped = sum(n > model.max_grad_norm for n in norms) / len(norms)
        ret = np.mean(episodes.returns) if episodes.returns else float("nan")
        rows.append(
            f"{model.num_timesteps},{model.exploration_rate:.6f},{np.mean(losses):.6f},{np.mean(qs):.6f},"
            f"{np.mean(norms):.6f},{clipped:.6f},{len(episodes.returns)},{ret:.2f}"
        )
        episodes.returns.clear()

    model.train = logged_train
    try:
        model.learn(total_timesteps=50_000, callback=episodes)
    finally:
        torch.nn.functional.smooth_l1_loss = smooth_l1
        torch.nn.utils.clip_grad_norm_ = clip
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"sb3_seed{seed}.csv")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(path + ".tmp", path)
    eval_env = gym.make("CartPole-v1")
    returns = []
    for episode in range(EVAL_EPISODES):
        obs, _ = eval_env.reset(seed=10_000 + episode)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = eval_env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    print(f"sb3 dqn seed {seed}: eval mean {np.mean(returns):.1f} ({path})", flush=True)


if __name__ == "__main__":
    for s in sys.argv[2:]:
        run(int(s), sys.argv[1])

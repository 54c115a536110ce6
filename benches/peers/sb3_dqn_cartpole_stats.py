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
import os
import sys

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

from sb3_zoo import ZOO_DQN_CARTPOLE, TrainCalls, evaluate

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
        **ZOO_DQN_CARTPOLE,
        seed=seed,
        verbose=0,
    )
    calls = TrainCalls()
    episodes = EpisodeReturns()
    rows = ["step,epsilon,td_loss,q_values,grad_norm,clip_fraction,episodes,mean_return"]
    train = model.train

    def logged_train(gradient_steps: int, batch_size: int) -> None:
        calls.clear()
        train(gradient_steps=gradient_steps, batch_size=batch_size)
        clipped = sum(n > model.max_grad_norm for n in calls.norms) / len(calls.norms)
        ret = np.mean(episodes.returns) if episodes.returns else float("nan")
        rows.append(
            f"{model.num_timesteps},{model.exploration_rate:.6f},{np.mean(calls.losses):.6f},{np.mean(calls.qs):.6f},"
            f"{np.mean(calls.norms):.6f},{clipped:.6f},{len(episodes.returns)},{ret:.2f}"
        )
        episodes.returns.clear()

    model.train = logged_train
    try:
        model.learn(total_timesteps=50_000, callback=episodes)
    finally:
        calls.restore()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"sb3_seed{seed}.csv")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(path + ".tmp", path)
    returns = evaluate(model, EVAL_EPISODES)
    print(f"sb3 dqn seed {seed}: eval mean {np.mean(returns):.1f} ({path})", flush=True)


if __name__ == "__main__":
    for s in sys.argv[2:]:
        run(int(s), sys.argv[1])

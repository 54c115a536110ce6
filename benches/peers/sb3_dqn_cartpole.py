#!/usr/bin/env python3
"""Stable-Baselines3's DQN on CartPole-v1 with rl-baselines3-zoo's settings: the peer of
`agents/examples/cartpole.rs dqn` (issue 4's DQN proof: mean of 100 deterministic episodes >= 475).

Settings from rl-baselines3-zoo hyperparams/dqn.yml (CartPole-v1): lr 2.3e-3, batch 64, buffer 100,000,
learning_starts 1,000, gamma 0.99, target_update_interval 10, train_freq 256, gradient_steps 128,
exploration_fraction 0.16, exploration_final_eps 0.04, net_arch [256, 256], 50,000 steps; SB3's
defaults otherwise. One torch thread.

    python3 -m venv /tmp/sb3env
    /tmp/sb3env/bin/pip install --no-deps torch            # the PyPI wheel imports without CUDA libs
    /tmp/sb3env/bin/pip install -r benches/peers/requirements-sb3.txt
    for s in 1 2 3 4 5 6 7 8 9 10; do /tmp/sb3env/bin/python benches/peers/sb3_dqn_cartpole.py $s; done

Session 8 (SB3 2.9.2, torch 2.15.0, gymnasium 1.4.0; machine busy): seeds 1-10 -> 500.0, 500.0, 190.6,
500.0, 500.0, 301.1, 490.2, 500.0, 500.0, 500.0: 8 of 10 at >= 475, 46-227 s each. mend's DQN with the
same settings: 3 of 10 (500, 500, 372.9, 191.8, 98.7, 438.7, 500, 111.5, 359.9, 383.0). Seeds are not
comparable one by one (different generators), the rates are (two-sided Fisher exact p 0.07): a
difference likely remains, still to be found.

Session 9: the lock-step test (`sb3_dqn_lockstep.py`, `agents/tests/dqn_lockstep.rs`) found one
difference in mend's gradient phase (Adam's `1 - beta2` in f32, fixed for the MLP DQN); with it and the
plain-matrix update, mend's seeds 1-10 -> 500.0, 101.7, 500.0, 500.0, 500.0, 113.2, 341.0, 500.0, 291.5,
190.3: 5 of 10 (4 of 5 on seeds 1-5), Fisher p 0.35 against SB3's 8 of 10. Seeds 11-20: mend 9 of 10
(500, 500, 499.0, 500, 400.0, 500, 500, 500, 500, 496.8), SB3 5 of 10 (353.4, 166.9, 500.0, 500.0, 100.7,
500.0, 317.5, 496.7, 285.9, 500.0; 56-244 s each, busy): 14 of 20 against 13 of 20 (Fisher p 1.0).
Per-phase statistics of both (`sb3_dqn_cartpole_stats.py`, `dqn_cartpole --metrics`) show no
systematic difference.
"""
import sys
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN

from sb3_zoo import ZOO_DQN_CARTPOLE, evaluate

EVAL_EPISODES = 100


def main() -> None:
    seed = int(sys.argv[1])
    torch.set_num_threads(1)
    env = gym.make("CartPole-v1")
    model = DQN(
        "MlpPolicy",
        env,
        **ZOO_DQN_CARTPOLE,
        seed=seed,
        verbose=0,
    )
    start = time.time()
    model.learn(total_timesteps=50_000)
    seconds = time.time() - start
    returns = evaluate(model, EVAL_EPISODES)
    mean = float(np.mean(returns))
    verdict = ">= 475" if mean >= 475 else "< 475"
    print(
        f"sb3 dqn seed {seed}: train {seconds:.0f} s, eval mean {mean:.1f} min {min(returns):.0f} {verdict}",
        flush=True,
    )


if __name__ == "__main__":
    main()

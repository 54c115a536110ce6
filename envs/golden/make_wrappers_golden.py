"""Writes wrappers_golden.json: Gymnasium's NormalizeObservation and NormalizeReward applied to
CartPole-v1 over two episodes that start from the all-zero state (reset options low = high = 0).

The Rust test `envs/tests/wrappers.rs` replays the actions through
`NormalizeReward(NormalizeObservation(CartPole))` and compares observations and rewards.

Re-create with:
    /tmp/gymvenv/bin/python envs/golden/make_wrappers_golden.py > envs/golden/wrappers_golden.json
"""

import json

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import NormalizeObservation, NormalizeReward

env = NormalizeReward(NormalizeObservation(gym.make("CartPole-v1").unwrapped), gamma=0.99, epsilon=1e-8)
episodes = []
for episode in range(2):
    obs, _ = env.reset(seed=episode, options={"low": 0.0, "high": 0.0})
    record = {"reset_obs": [float(v) for v in obs], "steps": []}
    for t in range(500):
        action = (t // 3 + episode) % 2
        obs, reward, terminated, truncated, _ = env.step(action)
        record["steps"].append(
            {"action": action, "obs": [float(v) for v in obs], "reward": float(reward), "terminated": bool(terminated)}
        )
        if terminated:
            break
    episodes.append(record)

print(json.dumps({"source": f"gymnasium {gym.__version__}, numpy {np.__version__}", "episodes": episodes}, indent=1))

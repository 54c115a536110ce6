"""Writes cartpole_v1_golden.json: CartPole-v1 trajectories produced by the real Gymnasium package.

The Rust test `envs/tests/cartpole_golden.rs` replays each trajectory (same initial state, same
actions) through `mend_envs::CartPole` and checks every observation to 1e-6 and the float64 state,
rewards and termination flags.

Re-create with:
    python3 -m venv /tmp/gymvenv && /tmp/gymvenv/bin/pip install gymnasium
    /tmp/gymvenv/bin/python envs/golden/make_cartpole_golden.py > envs/golden/cartpole_v1_golden.json
"""

import json

import gymnasium as gym
import numpy as np


def trajectory(name, initial_state, policy, max_steps=500):
    """Runs the unwrapped env from `initial_state`, choosing actions with `policy(step, obs)`."""
    env = gym.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    # Fixed initial state: Gymnasium draws it from its own generator, which mend does not share.
    env.state = np.array(initial_state, dtype=np.float64)
    obs = np.array(env.state, dtype=np.float32)
    steps = []
    for t in range(max_steps):
        action = int(policy(t, obs))
        obs, reward, terminated, truncated, _ = env.step(action)
        steps.append(
            {
                "action": action,
                "obs": [float(v) for v in obs],
                "state": [float(v) for v in env.state],
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
            }
        )
        if terminated:
            break
    return {"name": name, "initial_state": list(map(float, initial_state)), "steps": steps}


def balance_then_push(t, obs):
    """Balances for 150 steps (with a perturbation every 7th step), then pushes right until the pole falls."""
    if t >= 150:
        return 1
    if t % 7 == 3:
        return 0
    return 1 if obs[2] + 0.5 * obs[3] > 0 else 0


def alternate(t, obs):
    """0, 1, 0, 1, ... until the cart leaves the track."""
    return t % 2


print(
    json.dumps(
        {
            "source": f"gymnasium {gym.__version__}, numpy {np.__version__}, CartPoleEnv (unwrapped)",
            "trajectories": [
                trajectory("balance_then_push", [0.01, -0.02, 0.03, 0.04], balance_then_push),
                trajectory("cart_leaves_track", [2.3, 0.8, 0.0, 0.0], alternate),
                trajectory("push_left_until_fall", [-0.04, 0.0, -0.05, -0.1], lambda t, o: 0),
            ],
        },
        indent=1,
    )
)

#!/usr/bin/env python3
"""Lock-step fixture for mend's DQN gradient phase: Stable-Baselines3's own `DQN.train` on fixed data.

Builds SB3's DQN with the zoo's CartPole-v1 settings (lr 2.3e-3, batch 64, gamma 0.99, max_grad_norm 10,
Adam eps 1e-8) but a small [16, 16] network so the fixture stays small, fills its `ReplayBuffer` with
CartPole transitions from random actions under a 25-step time limit (so some transitions are
terminated, some truncated), fixes the minibatch indices (the buffer's `sample` is replaced by one that
passes the next fixed index row to SB3's own `_get_samples`) and runs SB3's real code path
(`DQN.train(gradient_steps, batch_size=64)`: target max, smooth L1, `clip_grad_norm_`, Adam) for two
phases with a hard target copy between them (as `_on_step` does between rollouts). It writes the
initial weights, the transitions, the indices, the per-step loss and gradient norm (before clipping,
read from `clip_grad_norm_`'s return value) and the weights after each phase to
`agents/tests/fixtures/dqn_sb3_lockstep.json`, which `agents/tests/dqn_lockstep.rs` replays. The same
run in float64 is stored beside it: Adam turns rounding noise in near-zero gradients into full-size
steps, so float32 runs drift apart by ~1e-5 over tens of steps whatever their code; the float64 run
measures how far SB3's own float32 run is from exact, which is the yardstick for ours.

Rewards are multiplied by 20 in the fixture so TD errors exceed 1 (both Huber branches), and the second
phase runs with max_grad_norm 1 instead of SB3's 10 so that the clipping bites (the norms here are 1-5).

    /tmp/sb3env/bin/python benches/peers/sb3_dqn_lockstep.py [OUT]
"""
import json
import os
import sys

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.logger import configure

from sb3_zoo import ZOO_DQN_CARTPOLE, TrainCalls

HIDDEN = [16, 16]
N_TRANSITIONS = 300
PHASES = [40, 40]
# max_grad_norm per phase: SB3's default 10 (the zoo's), then 1 so that clipping bites in the fixture.
MAX_GRAD_NORMS = [10.0, 1.0]
BATCH = 64
REWARD_SCALE = 20.0
OUT = "agents/tests/fixtures/dqn_sb3_lockstep.json"


def weights(model: DQN) -> list[list[float]]:
    """w0, b0, w1, b1, ... of the online Q-network, each row-major (out x in), as mend's MlpParams."""
    return [p.detach().cpu().numpy().astype(np.float32).ravel().tolist() for p in model.q_net.parameters()]


def make_model() -> DQN:
    torch.manual_seed(0)
    model = DQN(
        "MlpPolicy",
        gym.make("CartPole-v1"),
        **{**ZOO_DQN_CARTPOLE, "batch_size": BATCH, "policy_kwargs": dict(net_arch=HIDDEN)},
        seed=0,
    )
    model.set_logger(configure(None, []))
    return model


def transitions() -> dict:
    """CartPole transitions from random actions under a 25-step time limit."""
    rng = np.random.default_rng(0)
    env = gym.make("CartPole-v1", max_episode_steps=25)
    t = {"obs": [], "next_obs": [], "actions": [], "rewards": [], "dones": [], "timeouts": []}
    obs, _ = env.reset(seed=1)
    episode = 1
    while len(t["actions"]) < N_TRANSITIONS:
        action = int(rng.integers(0, 2))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        t["obs"].append(obs.astype(np.float32).tolist())
        t["next_obs"].append(next_obs.astype(np.float32).tolist())
        t["actions"].append(action)
        t["rewards"].append(float(np.float32(reward * REWARD_SCALE)))
        t["dones"].append(bool(done))
        t["timeouts"].append(bool(truncated and not terminated))
        if done:
            episode += 1
            obs, _ = env.reset(seed=episode)
        else:
            obs = next_obs
    assert any(t["timeouts"]) and any(d and not o for d, o in zip(t["dones"], t["timeouts"]))
    return t


def train_phases(t: dict, index_rows: list, dtype: torch.dtype) -> tuple[list, list]:
    """SB3's DQN.train on the stored transitions and fixed indices, its networks in `dtype` (float32
    is SB3 as it runs; float64 is the reference that tells rounding from a real difference)."""
    model = make_model()
    initial = weights(model)
    # Stored through SB3's ReplayBuffer.add, with SB3's `TimeLimit.truncated` info.
    for i in range(N_TRANSITIONS):
        model.replay_buffer.add(
            np.array([t["obs"][i]], dtype=np.float32),
            np.array([t["next_obs"][i]], dtype=np.float32),
            np.array([[t["actions"][i]]]),
            np.array([t["rewards"][i]], dtype=np.float32),
            np.array([t["dones"][i]]),
            [{"TimeLimit.truncated": t["timeouts"][i]}],
        )
    if dtype != torch.float32:
        for net in (model.q_net, model.q_net_target):
            net.to(dtype)
            # SB3's preprocess_obs casts observations with `.float()`: keep them in `dtype`.
            net.extract_features = lambda obs, extractor: extractor(obs.to(dtype))
    # Fixed indices: SB3's sample() with np.random.randint replaced by the next fixed row.
    rows = iter(index_rows)
    buffer = model.replay_buffer

    def fixed_sample(batch_size, env=None):
        s = buffer._get_samples(next(rows), env=env)
        return s._replace(
            observations=s.observations.to(dtype),
            next_observations=s.next_observations.to(dtype),
            rewards=s.rewards.to(dtype),
            dones=s.dones.to(dtype),
        )

    buffer.sample = fixed_sample
    # Each step's loss and pre-clip gradient norm, from SB3's own calls.
    calls = TrainCalls()
    phases = []
    start = 0
    try:
        for n, max_norm in zip(PHASES, MAX_GRAD_NORMS):
            model.max_grad_norm = max_norm
            model.train(gradient_steps=n, batch_size=BATCH)
            phases.append(
                {
                    "max_grad_norm": max_norm,
                    "indices": [r.tolist() for r in index_rows[start : start + n]],
                    "losses": calls.losses[start : start + n],
                    "grad_norms": calls.norms[start : start + n],
                    "after": weights(model),
                }
            )
            start += n
            # The hard target copy between phases (SB3 _on_step: polyak_update with tau = 1).
            model.q_net_target.load_state_dict(model.q_net.state_dict())
    finally:
        calls.restore()
    assert model.policy.optimizer.defaults["eps"] == 1e-8
    return initial, phases


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    torch.set_num_threads(1)
    t = transitions()
    rng = np.random.default_rng(1)
    index_rows = [rng.integers(0, N_TRANSITIONS, size=BATCH) for _ in range(sum(PHASES))]
    initial, phases = train_phases(t, index_rows, torch.float32)
    initial64, phases64 = train_phases(t, index_rows, torch.float64)
    assert initial64 == initial
    for p, p64 in zip(phases, phases64):
        p["after_f64"] = p64["after"]
        p["losses_f64"] = p64["losses"]
        p["grad_norms_f64"] = p64["grad_norms"]
    fixture = {
        "source": "benches/peers/sb3_dqn_lockstep.py",
        "versions": {
            "stable_baselines3": __import__("stable_baselines3").__version__,
            "torch": torch.__version__,
            "gymnasium": gym.__version__,
        },
        "config": {
            "hidden": HIDDEN,
            "learning_rate": 2.3e-3,
            "gamma": 0.99,
            "batch_size": BATCH,
            "adam_eps": 1e-8,
        },
        "initial": initial,
        "transitions": t,
        "phases": phases,
    }
    with open(out + ".tmp", "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    os.replace(out + ".tmp", out)
    clipped = sum(n > m for p, m in zip(phases, MAX_GRAD_NORMS) for n in p["grad_norms"])
    dev = max(
        abs(a - b)
        for p in phases
        for x, y in zip(p["after"], p["after_f64"])
        for a, b in zip(x, y)
    )
    print(f"wrote {out}: {sum(PHASES)} steps, {clipped} clipped; SB3 float32 vs float64 weights: max {dev:.2e}")


if __name__ == "__main__":
    main()

//! Policies and agents: tabular Q-learning, DQN, PPO (candle-nn), hand-written baselines and versioned policy files.

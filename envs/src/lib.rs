//! Gymnasium-style environments: the Env contract, spaces, wrappers, vector envs, the env checker, the cluster environment and CartPole-v1.

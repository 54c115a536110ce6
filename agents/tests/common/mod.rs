//! Helpers shared by the integration tests: CartPole vector envs, a small env with action masks, and
//! running one test of this binary as a child process per thread count.
#![allow(dead_code, unreachable_pub)]

use mend_envs::{
    Action, AutoresetMode, BoxSpace, Discrete, Env, EnvError, Info, Observation, Space, Step,
    SyncVectorEnv,
};

/// `n` CartPole-v1 envs (TimeLimit 500) in a SameStep-autoreset vector env.
pub fn cartpole(n: usize) -> SyncVectorEnv {
    let envs = (0..n)
        .map(|_| mend_envs::make("CartPole-v1").unwrap())
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap()
}

/// A 4-action env whose valid actions change every step: on even steps only actions 0 and 1 are valid,
/// on odd steps only 2 and 3. Action 0 and 3 pay 1, the others 0, so a learner can improve; taking a
/// masked action is an error (as a real cluster env refuses it). Episodes last 20 steps (truncated).
#[derive(Debug, Default)]
pub struct MaskedEnv {
    t: usize,
    started: bool,
}

impl MaskedEnv {
    pub const N_ACTIONS: usize = 4;

    fn obs(&self) -> Observation {
        Observation::Vector(vec![(self.t % 2) as f32, self.t as f32 / 20.0])
    }

    fn mask_at(t: usize) -> Vec<bool> {
        if t.is_multiple_of(2) {
            vec![true, true, false, false]
        } else {
            vec![false, false, true, true]
        }
    }
}

impl Env for MaskedEnv {
    fn reset(
        &mut self,
        _seed: Option<u64>,
        _options: Option<&Info>,
    ) -> Result<(Observation, Info), EnvError> {
        self.t = 0;
        self.started = true;
        Ok((self.obs(), Info::new()))
    }

    fn step(&mut self, action: Action) -> Result<Step, EnvError> {
        if !self.started {
            return Err(EnvError::NotReset {
                env: self.id().into(),
            });
        }
        if !Self::mask_at(self.t)[action] {
            return Err(EnvError::MaskedAction {
                env: self.id().into(),
                action,
            });
        }
        let reward = if action == 0 || action == 3 { 1.0 } else { 0.0 };
        self.t += 1;
        Ok(Step {
            obs: self.obs(),
            reward,
            terminated: false,
            truncated: self.t >= 20,
            info: Info::new(),
        })
    }

    fn observation_space(&self) -> Space {
        Space::Box(BoxSpace::new(vec![0.0, 0.0], vec![1.0, 1.0]))
    }

    fn action_space(&self) -> Space {
        Space::Discrete(Discrete::new(Self::N_ACTIONS))
    }

    fn action_mask(&self) -> Option<Vec<bool>> {
        Some(Self::mask_at(self.t))
    }

    fn id(&self) -> &str {
        "test/Masked-v0"
    }
}

/// `n` masked envs in a SameStep vector env.
pub fn masked(n: usize) -> SyncVectorEnv {
    let envs: Vec<Box<dyn Env>> = (0..n)
        .map(|_| Box::new(MaskedEnv::default()) as Box<dyn Env>)
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap()
}

/// `tiny` with process crashes about every 20 simulated minutes per replica seat, lasting ~10 min
/// (tiny itself has no fault processes, so a teacher would never act on it): crashes leave a
/// service's replicas down, which the runbook restarts (`replicas_down -> restart_replica`), a
/// decision a policy can read off one observation. Used by the warm-start tests.
pub fn crashy_tiny() -> std::sync::Arc<mend_sim::Scenario> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tiny.toml"),
    )
    .unwrap();
    let faults = "\n[[faults.processes]]\nkind = \"process_crash\"\n\
                  up = { dist = \"exponential\", mean = \"20m\" }\n\
                  down = { dist = \"lognormal\", median = \"10m\", sigma = 0.5 }\n";
    std::sync::Arc::new(
        mend_sim::Scenario::from_toml_str(&format!("{text}{faults}"), "crashy-tiny").unwrap(),
    )
}

/// `n` envs of [`crashy_tiny`] in a SameStep-autoreset vector env.
pub fn crashy_tiny_env(n: usize) -> SyncVectorEnv {
    let scenario = crashy_tiny();
    let envs = (0..n)
        .map(|_| {
            Box::new(
                mend_envs::ClusterEnv::new(scenario.clone(), mend_envs::ClusterConfig::default())
                    .unwrap(),
            ) as Box<dyn Env>
        })
        .collect();
    SyncVectorEnv::new(envs, AutoresetMode::SameStep).unwrap()
}

/// The bytes test `child_test` of this test binary writes to the file named by environment
/// variable `out_var`, run once with 1 and once with 2 rayon threads.
///
/// candle reads `RAYON_NUM_THREADS` on every matmul, and the process environment cannot be changed
/// safely from inside a test, so each thread count runs in a child process of this test binary.
pub fn bytes_on_1_and_2_threads(child_test: &str, out_var: &str) -> [Vec<u8>; 2] {
    let dir = tempfile::tempdir().unwrap();
    ["1", "2"].map(|threads| {
        let out = dir.path().join(format!("threads-{threads}.bin"));
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", child_test, "--test-threads", "1"])
            .env("RAYON_NUM_THREADS", threads)
            .env(out_var, &out)
            .status()
            .unwrap();
        assert!(status.success(), "child with {threads} threads failed");
        let bytes = std::fs::read(&out).unwrap();
        assert!(
            !bytes.is_empty(),
            "child with {threads} threads wrote nothing"
        );
        bytes
    })
}

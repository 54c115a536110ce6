//! Vector env tests: each autoreset mode step by step (Gymnasium 1.1 semantics), seeding `seed + i`,
//! error cases, and SyncVectorEnv == ParallelVectorEnv byte for byte under 1, 2 and 4 rayon threads.

mod common;

use common::CountEnv;
use mend_envs::wrappers::RecordEpisodeStatistics;
use mend_envs::{
    AutoresetMode, Env, EnvError, Observation, ParallelVectorEnv, SyncVectorEnv, VectorEnv,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

fn v(o: &Observation) -> Vec<f32> {
    o.as_vector().unwrap().to_vec()
}

/// Sub-env 0 ends after 2 steps (terminated), sub-env 1 after 3 (truncated).
fn count_envs() -> Vec<Box<dyn Env>> {
    vec![
        Box::new(CountEnv::new(2, false)),
        Box::new(CountEnv::new(3, true)),
    ]
}

/// The same two sub-envs under every vector env: sequential, on the rayon pool, and on threads of
/// its own (the caller plus one persistent worker).
fn both(mode: AutoresetMode) -> [Box<dyn VectorEnv>; 3] {
    [
        Box::new(SyncVectorEnv::new(count_envs(), mode).unwrap()),
        Box::new(ParallelVectorEnv::new(count_envs(), mode).unwrap()),
        Box::new(ParallelVectorEnv::with_threads(count_envs(), mode, 2).unwrap()),
    ]
}

#[test]
fn reset_seeds_sub_env_i_with_seed_plus_i_and_none_keeps_generators() {
    for mut venv in both(AutoresetMode::NextStep) {
        let (obs, infos) = venv.reset(Some(10)).unwrap();
        assert_eq!(v(&obs[0]), [0.0, 10.0, 0.0]);
        assert_eq!(v(&obs[1]), [0.0, 11.0, 0.0]);
        assert_eq!(infos[1]["reset"], json!(0));
        let (obs, _) = venv.reset(None).unwrap();
        assert_eq!(
            v(&obs[1]),
            [0.0, 11.0, 1.0],
            "no seed keeps the previous seeding"
        );
        assert_eq!(venv.num_envs(), 2);
        assert_eq!(venv.action_masks(), vec![Some(vec![true, true, false]); 2]);
    }
}

#[test]
fn next_step_mode_resets_on_the_step_after_done_with_reward_zero() {
    for mut venv in both(AutoresetMode::NextStep) {
        venv.reset(Some(0)).unwrap();
        let s1 = venv.step(&[0, 0]).unwrap();
        assert_eq!(
            (v(&s1.obs[0]), s1.rewards.clone()),
            (vec![1.0, 0.0, 0.0], vec![1.0, 1.0])
        );
        let s2 = venv.step(&[0, 0]).unwrap();
        assert_eq!(s2.terminated, [true, false]);
        assert_eq!(
            v(&s2.obs[0]),
            [2.0, 0.0, 0.0],
            "the final observation is returned as is"
        );
        assert!(!s2.infos[0].contains_key("final_obs"));
        let s3 = venv.step(&[1, 1]).unwrap();
        // Sub-env 0 resets: reset obs, reward 0, flags false, reset info; its action is ignored.
        assert_eq!(v(&s3.obs[0]), [0.0, 0.0, 1.0]);
        assert_eq!(
            (s3.rewards[0], s3.terminated[0], s3.truncated[0]),
            (0.0, false, false)
        );
        assert_eq!(s3.infos[0]["reset"], json!(1));
        // Sub-env 1 truncates on its third step.
        assert_eq!(
            (s3.truncated[1], s3.terminated[1], s3.rewards[1]),
            (true, false, 3.0)
        );
        let s4 = venv.step(&[0, 0]).unwrap();
        assert_eq!(v(&s4.obs[0]), [1.0, 0.0, 1.0]);
        assert_eq!((v(&s4.obs[1]), s4.rewards[1]), (vec![0.0, 1.0, 1.0], 0.0));
    }
}

#[test]
fn same_step_mode_resets_in_the_done_step_with_final_obs_in_info() {
    for mut venv in both(AutoresetMode::SameStep) {
        venv.reset(Some(0)).unwrap();
        venv.step(&[0, 0]).unwrap();
        let s2 = venv.step(&[0, 0]).unwrap();
        assert_eq!((s2.terminated[0], s2.rewards[0]), (true, 2.0));
        assert_eq!(
            v(&s2.obs[0]),
            [0.0, 0.0, 1.0],
            "the returned observation is the reset one"
        );
        assert_eq!(s2.infos[0]["final_obs"], json!([2.0, 0.0, 0.0]));
        assert_eq!(s2.infos[0]["final_info"], json!({"step": 2}));
        assert_eq!(s2.infos[0]["reset"], json!(1));
        assert!(!s2.infos[1].contains_key("final_obs"));
        let s3 = venv.step(&[0, 0]).unwrap();
        assert_eq!(
            (v(&s3.obs[0]), s3.rewards[0]),
            (vec![1.0, 0.0, 1.0], 1.0),
            "no reward-0 step in SameStep"
        );
        assert_eq!(
            (s3.truncated[1], v(&s3.obs[1])),
            (true, vec![0.0, 1.0, 1.0])
        );
        assert_eq!(s3.infos[1]["final_obs"], json!([3.0, 1.0, 0.0]));
    }
}

#[test]
fn disabled_mode_refuses_finished_sub_envs_until_reset_where() {
    for mut venv in both(AutoresetMode::Disabled) {
        venv.reset(Some(0)).unwrap();
        venv.step(&[0, 0]).unwrap();
        let s2 = venv.step(&[0, 0]).unwrap();
        assert_eq!(s2.terminated, [true, false]);
        let err = venv.step(&[0, 0]).unwrap_err();
        assert!(matches!(err, EnvError::SubEnv { index: 0, .. }), "{err}");
        let (obs, _) = venv.reset_where(&[true, false], Some(20)).unwrap();
        assert_eq!(v(&obs[0]), [0.0, 20.0, 0.0]);
        assert_eq!(
            v(&obs[1]),
            Vec::<f32>::new(),
            "untouched sub-envs return an empty observation"
        );
        let s = venv.step(&[0, 0]).unwrap();
        assert_eq!((v(&s.obs[0]), s.truncated[1]), (vec![1.0, 20.0, 0.0], true));
    }
}

#[test]
fn bad_inputs_are_errors() {
    for mut venv in both(AutoresetMode::NextStep) {
        venv.reset(Some(0)).unwrap();
        assert!(matches!(
            venv.step(&[0]),
            Err(EnvError::WrongActionCount {
                expected: 2,
                got: 1
            })
        ));
        assert!(
            matches!(venv.step(&[0, 2]), Err(EnvError::SubEnv { index: 1, .. })),
            "masked action"
        );
        assert!(
            matches!(venv.step(&[7, 0]), Err(EnvError::SubEnv { index: 0, .. })),
            "out of range"
        );
        assert!(venv.reset_where(&[true], None).is_err());
    }
    assert!(SyncVectorEnv::new(vec![], AutoresetMode::NextStep).is_err());
    let mixed: Vec<Box<dyn Env>> = vec![
        Box::new(CountEnv::new(2, false)),
        mend_envs::make("CartPole-v1").unwrap(),
    ];
    assert!(ParallelVectorEnv::new(mixed, AutoresetMode::NextStep).is_err());
}

fn cartpoles(n: usize) -> Vec<Box<dyn Env>> {
    (0..n)
        .map(|_| {
            Box::new(RecordEpisodeStatistics::new(
                mend_envs::make("CartPole-v1").unwrap(),
            )) as Box<dyn Env>
        })
        .collect()
}

/// A full transcript of a run: every observation, reward, flag and info, as text (exact floats).
fn transcript(venv: &mut dyn VectorEnv, steps: usize) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut out = format!("{:?}\n", venv.reset(Some(1234)).unwrap());
    for _ in 0..steps {
        let actions: Vec<usize> = (0..venv.num_envs())
            .map(|_| rng.random_range(0..2))
            .collect();
        let s = venv.step(&actions).unwrap();
        out += &format!(
            "{:?} {:?} {:?} {:?} {}\n",
            s.obs,
            s.rewards,
            s.terminated,
            s.truncated,
            serde_json::to_string(&s.infos).unwrap()
        );
    }
    out
}

#[test]
fn parallel_equals_sync_byte_for_byte_under_1_2_and_4_threads() {
    for mode in [AutoresetMode::NextStep, AutoresetMode::SameStep] {
        let reference = transcript(&mut SyncVectorEnv::new(cartpoles(7), mode).unwrap(), 400);
        assert!(
            reference.contains("\"episode\""),
            "the run should span several episodes"
        );
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| {
                transcript(
                    &mut ParallelVectorEnv::new(cartpoles(7), mode).unwrap(),
                    400,
                )
            });
            assert!(
                got == reference,
                "{mode:?}: ParallelVectorEnv on {threads} threads differs from SyncVectorEnv"
            );
            // Threads of its own: the caller and persistent workers claim sub-envs step by step.
            let own = transcript(
                &mut ParallelVectorEnv::with_threads(cartpoles(7), mode, threads).unwrap(),
                400,
            );
            assert!(
                own == reference,
                "{mode:?}: ParallelVectorEnv::with_threads({threads}) differs from SyncVectorEnv"
            );
        }
    }
    assert!(matches!(
        ParallelVectorEnv::with_threads(cartpoles(2), AutoresetMode::NextStep, 0),
        Err(EnvError::InvalidConfig { .. })
    ));
}

/// Panics in `step` after `after` steps (stands in for a buggy env).
#[derive(Debug)]
struct PanicEnv {
    inner: CountEnv,
    after: u32,
    steps: u32,
}

impl Env for PanicEnv {
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&mend_envs::Info>,
    ) -> Result<(Observation, mend_envs::Info), EnvError> {
        self.inner.reset(seed, options)
    }
    fn step(&mut self, action: usize) -> Result<mend_envs::Step, EnvError> {
        self.steps += 1;
        assert!(self.steps <= self.after, "PanicEnv: step {}", self.steps);
        self.inner.step(action)
    }
    fn observation_space(&self) -> mend_envs::Space {
        self.inner.observation_space()
    }
    fn action_space(&self) -> mend_envs::Space {
        self.inner.action_space()
    }
    fn action_mask(&self) -> Option<Vec<bool>> {
        self.inner.action_mask()
    }
    fn id(&self) -> &str {
        "test/Panic-v0"
    }
}

#[test]
fn a_sub_env_panic_on_own_threads_is_an_error_naming_it_and_the_env_stays_usable() {
    let envs: Vec<Box<dyn Env>> = (0..4)
        .map(|i| {
            Box::new(PanicEnv {
                inner: CountEnv::new(100, false),
                after: if i == 2 { 1 } else { u32::MAX },
                steps: 0,
            }) as Box<dyn Env>
        })
        .collect();
    let mut venv = ParallelVectorEnv::with_threads(envs, AutoresetMode::NextStep, 2).unwrap();
    venv.reset(Some(0)).unwrap();
    venv.step(&[0; 4]).unwrap();
    let err = venv.step(&[0; 4]).unwrap_err();
    assert!(
        matches!(&err, EnvError::SubEnv { index: 2, .. })
            && err.to_string().contains("PanicEnv: step 2"),
        "got {err}"
    );
    // No thread is stuck: masks, resets and drop (which joins the worker) still return.
    assert_eq!(venv.action_masks().len(), 4);
    venv.reset(Some(0)).unwrap();
    drop(venv);
}

#[test]
fn with_threads_uses_no_more_threads_than_sub_envs_and_matches_sync() {
    for threads in [1, 3, 8] {
        let mut own =
            ParallelVectorEnv::with_threads(count_envs(), AutoresetMode::SameStep, threads)
                .unwrap();
        let mut sync = SyncVectorEnv::new(count_envs(), AutoresetMode::SameStep).unwrap();
        assert_eq!(
            format!("{:?}", own.reset(Some(3)).unwrap()),
            format!("{:?}", sync.reset(Some(3)).unwrap())
        );
        for _ in 0..7 {
            let (a, b) = (own.step(&[1, 0]).unwrap(), sync.step(&[1, 0]).unwrap());
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{threads} threads");
        }
        let mask = [false, true];
        assert_eq!(
            format!("{:?}", own.reset_where(&mask, Some(9)).unwrap()),
            format!("{:?}", sync.reset_where(&mask, Some(9)).unwrap())
        );
    }
}

#[test]
fn crew_counters_account_for_every_sub_env_of_every_job_and_leave_results_alone() {
    let steps = 40;
    let actions = vec![1; 5];
    for threads in [1, 2, 3] {
        let mut venv =
            ParallelVectorEnv::with_threads(cartpoles(5), AutoresetMode::NextStep, threads)
                .unwrap();
        let start = venv.crew_stats().unwrap();
        assert_eq!(start.jobs, 0);
        assert_eq!(
            start.threads.len(),
            threads,
            "the caller and threads - 1 workers"
        );
        venv.reset(Some(3)).unwrap();
        for _ in 0..steps {
            venv.step(&actions).unwrap();
        }
        let stats = venv.crew_stats().unwrap().since(&start);
        assert_eq!(
            stats.jobs,
            steps as u64 + 1,
            "one job per step and per reset"
        );
        let claimed: u64 = stats.threads.iter().map(|t| t.claimed).sum();
        assert_eq!(
            claimed,
            5 * (steps as u64 + 1),
            "every sub-env of every job, once"
        );
        let caller = &stats.threads[0];
        assert_eq!(
            caller.jobs, stats.jobs,
            "the caller takes part in every job"
        );
        assert_eq!(
            caller.spin_waits + caller.parked_waits,
            stats.jobs,
            "the caller waits once per job"
        );
        if threads == 1 {
            assert_eq!(
                caller.claimed, claimed,
                "alone, the caller steps everything"
            );
            assert_eq!(stats.share(0), 1.0);
        }
        for w in &stats.threads[1..] {
            assert!(
                w.jobs <= stats.jobs,
                "a worker counts at most one wake per job"
            );
            assert!(w.idle_jobs <= w.jobs);
        }
        let shares: f64 = (0..threads).map(|i| stats.share(i)).sum();
        assert!((shares - 1.0).abs() < 1e-12, "shares sum to 1: {stats}");

        // Counting changes nothing: the transcript equals the sequential one.
        let mut sync = SyncVectorEnv::new(cartpoles(5), AutoresetMode::NextStep).unwrap();
        assert_eq!(transcript(&mut venv, 30), transcript(&mut sync, 30));
    }
    let rayon = ParallelVectorEnv::new(cartpoles(2), AutoresetMode::NextStep).unwrap();
    assert!(rayon.crew_stats().is_none(), "no crew on the rayon pool");
}

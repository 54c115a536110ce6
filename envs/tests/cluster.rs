//! The cluster env over `sim`: check_env (both masked-action policies), reward terms summing to
//! the reward, replay reproducing the exogenous faults, truncation at the horizon, the action
//! layout, and sync == parallel vector runs.

use std::sync::Arc;

use mend_envs::cluster::{
    ClusterAction, ClusterConfig, ClusterEnv, MaskedActionPolicy, N_KINDS, StepInfo,
};
use mend_envs::{
    AutoresetMode, CheckConfig, Env, EnvError, ParallelVectorEnv, SyncVectorEnv, VectorEnv,
    check_env, check_env_with,
};
use mend_sim::ActionKind;
// `onsets`: the exogenous events (seat onsets by seat, not by the replica that happened to
// occupy it), which compare across policies.
use mend_sim::trace::{TraceRecord, onsets};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn tiny(config: ClusterConfig) -> ClusterEnv {
    ClusterEnv::builtin("tiny", config).unwrap()
}

/// A random valid action: no-op half the time, else uniform among unmasked actions.
fn random_valid(env: &ClusterEnv, rng: &mut ChaCha8Rng) -> usize {
    let mask = env.action_mask().unwrap();
    let valid: Vec<usize> = (1..mask.len()).filter(|&a| mask[a]).collect();
    if valid.is_empty() || rng.random_bool(0.5) {
        0
    } else {
        valid[rng.random_range(0..valid.len())]
    }
}

#[test]
fn cluster_env_passes_check_env_under_both_masked_action_policies() {
    let report = check_env(&mut tiny(ClusterConfig::default())).unwrap();
    assert!(
        report.episodes >= 2,
        "300 steps of 30 s cross the 1 h horizon: {report:?}"
    );
    assert!(
        report.refused_probes > report.steps,
        "masked actions were probed: {report:?}"
    );
    let mut penalised = tiny(ClusterConfig {
        masked_actions: MaskedActionPolicy::NoOpWithPenalty { penalty: 5.0 },
        ..ClusterConfig::default()
    });
    check_env_with(
        &mut penalised,
        &CheckConfig {
            masked_actions_penalised: true,
            steps: 150,
            ..CheckConfig::default()
        },
    )
    .unwrap();
}

#[test]
fn reward_terms_sum_to_the_reward_and_the_episode_truncates_at_the_horizon() {
    let mut env = tiny(ClusterConfig::default());
    let (obs, info) = env.reset(Some(11), None).unwrap();
    let entities = info["entities"].as_array().unwrap().len();
    assert_eq!(obs.as_entities().unwrap().n_entities(), entities);
    assert_eq!(env.action_space().n(), Some(1 + entities * N_KINDS));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut steps, mut acted, mut total_cost) = (0, 0, 0.0);
    loop {
        let action = random_valid(&env, &mut rng);
        let step = env.step(action).unwrap();
        steps += 1;
        acted += usize::from(!step.info["applied"].is_null());
        let terms = step.info["reward_terms"].as_object().unwrap();
        let sum: f64 = terms.values().map(|v| v.as_f64().unwrap()).sum();
        assert!(
            (sum - step.reward).abs() <= 1e-9 * step.reward.abs().max(1.0),
            "step {steps}: terms {terms:?} sum to {sum}, reward {}",
            step.reward
        );
        assert!(
            terms.values().all(|v| v.as_f64().unwrap() <= 0.0),
            "every term is a cost: {terms:?}"
        );
        total_cost -= step.reward;
        assert!(
            !step.terminated,
            "the cluster env never terminates, it truncates"
        );
        if step.truncated {
            break;
        }
        assert!(steps < 1000, "no truncation");
    }
    assert_eq!(steps, 120, "1 h horizon / 30 s decision interval");
    assert!(acted > 5, "random valid actions were applied: {acted}");
    assert!(total_cost > 0.0, "infrastructure costs money");
    assert!(matches!(env.step(0), Err(EnvError::EpisodeOver { .. })));
}

fn run_episode(env: &mut ClusterEnv, seed: u64, policy_seed: Option<u64>) -> Vec<TraceRecord> {
    env.reset(Some(seed), None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(policy_seed.unwrap_or(0));
    let mut trace = env.take_trace();
    loop {
        let action = if policy_seed.is_some() {
            random_valid(env, &mut rng)
        } else {
            0
        };
        let done = env.step(action).unwrap().truncated;
        trace.extend(env.take_trace());
        if done {
            return trace;
        }
    }
}

#[test]
fn replay_reproduces_the_exogenous_faults_whatever_the_policy() {
    let scenario = Arc::new(mend_sim::Scenario::builtin("default").unwrap());
    let mut recorder = ClusterEnv::new(scenario.clone(), ClusterConfig::default()).unwrap();
    let recorded = run_episode(&mut recorder, 21, None);
    let faults = onsets(&recorded);
    assert!(
        !faults.is_empty(),
        "the default scenario should produce faults in its horizon"
    );
    let replay = Arc::new(recorded);
    let mut replayer = ClusterEnv::new(
        scenario,
        ClusterConfig {
            replay: Some(replay),
            ..ClusterConfig::default()
        },
    )
    .unwrap();
    // A different master seed and an acting policy: the faults must still be the recorded ones.
    let replayed = run_episode(&mut replayer, 99, Some(5));
    assert!(
        replayed
            .iter()
            .any(|r| matches!(r, TraceRecord::ActionApplied { .. })),
        "the replaying policy acted"
    );
    assert_eq!(onsets(&replayed), faults);
}

#[test]
fn masked_actions_are_refused_or_penalised_as_configured() {
    let mut env = tiny(ClusterConfig::default());
    env.reset(Some(2), None).unwrap();
    let layout_n = env.layout().unwrap().n_entities();
    let mask = env.action_mask().unwrap();
    assert!(mask[0], "no-op is always valid");
    // Replacing a *service* is never valid: the first service row's ReplaceNode slot is masked.
    let masked = env
        .encode(ClusterAction::Act {
            entity: 0,
            kind: ActionKind::ReplaceNode,
        })
        .unwrap();
    assert!(!mask[masked]);
    assert!(matches!(
        env.step(masked),
        Err(EnvError::MaskedAction { .. })
    ));
    assert!(matches!(
        env.step(1 + layout_n * N_KINDS),
        Err(EnvError::InvalidAction { .. })
    ));

    let mut lenient = tiny(ClusterConfig {
        masked_actions: MaskedActionPolicy::NoOpWithPenalty { penalty: 7.5 },
        ..ClusterConfig::default()
    });
    let mut strict = tiny(ClusterConfig::default());
    lenient.reset(Some(2), None).unwrap();
    strict.reset(Some(2), None).unwrap();
    let penalised = lenient.step(masked).unwrap();
    let noop = strict.step(0).unwrap();
    assert_eq!(penalised.info["masked_action"], serde_json::json!(true));
    assert!(
        (penalised.reward - (noop.reward - 7.5)).abs() < 1e-9,
        "a masked action is a no-op minus the penalty"
    );
    assert_eq!(penalised.obs, noop.obs);
    assert!(
        ClusterEnv::builtin(
            "tiny",
            ClusterConfig {
                masked_actions: MaskedActionPolicy::NoOpWithPenalty { penalty: -1.0 },
                ..ClusterConfig::default()
            }
        )
        .is_err()
    );
    assert!(ClusterEnv::builtin("renewal", ClusterConfig::default()).is_err());
    assert!(ClusterEnv::builtin("no-such-scenario", ClusterConfig::default()).is_err());
}

#[test]
fn structured_and_flat_actions_round_trip() {
    let mut env = tiny(ClusterConfig::default());
    env.reset(Some(0), None).unwrap();
    let n = env.action_space().n().unwrap();
    for a in 0..n {
        let structured = env.decode(a).unwrap();
        assert_eq!(env.encode(structured), Some(a));
        if let ClusterAction::Act { entity, kind } = structured {
            assert_eq!(a, 1 + entity * N_KINDS + kind as usize);
        }
    }
    assert_eq!(env.decode(n), None);
    assert_eq!(env.decode(0), Some(ClusterAction::NoOp));
}

#[test]
fn parallel_cluster_vector_env_equals_sync() {
    let envs = || {
        let full = || ClusterConfig {
            step_info: StepInfo::Full,
            ..ClusterConfig::default()
        };
        (0..3)
            .map(|_| Box::new(tiny(full())) as Box<dyn Env>)
            .collect::<Vec<_>>()
    };
    let run = |venv: &mut dyn VectorEnv| {
        let mut out = format!("{:?}", venv.reset(Some(40)).unwrap());
        for t in 0..130 {
            let actions: Vec<usize> = venv
                .action_masks()
                .iter()
                .map(|m| {
                    let m = m.as_ref().unwrap();
                    (1..m.len()).filter(|&a| m[a]).nth(t % 7).unwrap_or(0)
                })
                .collect();
            let s = venv.step(&actions).unwrap();
            out += &format!(
                "{:?}{:?}{:?}{}",
                s.obs,
                s.rewards,
                s.truncated,
                serde_json::to_string(&s.infos).unwrap()
            );
        }
        out
    };
    let reference = run(&mut SyncVectorEnv::new(envs(), AutoresetMode::SameStep).unwrap());
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool
            .install(|| run(&mut ParallelVectorEnv::new(envs(), AutoresetMode::SameStep).unwrap()));
        assert!(
            got == reference,
            "parallel cluster run on {threads} threads differs"
        );
        let own =
            run(
                &mut ParallelVectorEnv::with_threads(envs(), AutoresetMode::SameStep, threads)
                    .unwrap(),
            );
        assert!(
            own == reference,
            "parallel cluster run on {threads} threads of its own differs"
        );
    }
}

#[test]
fn full_step_info_adds_components_and_truth_and_compact_leaves_them_out() {
    let full_config = ClusterConfig {
        step_info: StepInfo::Full,
        ..ClusterConfig::default()
    };
    let mut full = ClusterEnv::builtin("default", full_config).unwrap();
    let mut compact = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    full.reset(Some(5), None).unwrap();
    compact.reset(Some(5), None).unwrap();
    let mut saw_fault = false;
    for _ in 0..200 {
        let (f, c) = (full.step(0).unwrap(), compact.step(0).unwrap());
        assert_eq!(
            f.reward.to_bits(),
            c.reward.to_bits(),
            "info level never changes the run"
        );
        assert_eq!(f.obs, c.obs);
        for key in ["reward_terms", "applied", "masked_action", "sim_time_s"] {
            assert_eq!(f.info[key], c.info[key], "{key}");
        }
        assert!(!c.info.contains_key("truth") && !c.info.contains_key("reward_components"));
        // The raw components, weighted, are the (signed) terms.
        let (raw, terms) = (&f.info["reward_components"], &f.info["reward_terms"]);
        let slo = raw["slo_violating_requests"].as_f64().unwrap();
        assert!(slo >= 0.0 && raw["infra_cost_usd"].as_f64().unwrap() > 0.0);
        assert_eq!(slo == 0.0, terms["slo"].as_f64().unwrap() == 0.0);
        let faults = f.info["truth"]["active_faults"].as_array().unwrap();
        for fault in faults {
            assert!(
                fault[0].is_string() && (fault[1].is_u64() || fault[1].is_null()),
                "{fault}"
            );
        }
        saw_fault |= !faults.is_empty();
        assert!(f.info["truth"]["incidents_so_far"].is_u64());
    }
    assert!(
        saw_fault,
        "the default scenario has faults within 200 steps"
    );
}

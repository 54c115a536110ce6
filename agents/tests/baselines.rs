//! Baselines: the reactive controller's rules and HPA formula against hand-worked values, runbook
//! escalation and validation errors, and full episodes on `tiny` with masks respected.

use mend_agents::Policy;
use mend_agents::baselines::reactive::{ReactiveConfig, ReactiveController};
use mend_agents::baselines::runbook::Runbook;
use mend_agents::baselines::view::kind_names_from_info;
use mend_agents::baselines::{BaselineError, Controller, NoOpPolicy, RandomPolicy, Stateful};
use mend_envs::{ClusterConfig, ClusterEnv, EntityObs, Env, Observation};
use mend_monitor::features::FeatureSchema;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn kinds() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

fn kind(name: &str) -> usize {
    kinds().iter().position(|k| k == name).unwrap()
}

/// Two healthy services (2 replicas each, CPU at target) and one healthy node; `edit` changes cells.
fn obs(edit: &[(usize, &str, f32)]) -> Observation {
    let s = FeatureSchema::builtin();
    let w = s.columns.len();
    let mut rows = vec![0.0; 3 * w];
    let set = |rows: &mut Vec<f32>, e: usize, name: &str, v: f32| {
        rows[e * w + s.column_index(name).unwrap()] = v;
    };
    for e in 0..2 {
        set(&mut rows, e, "is_service", 1.0);
        set(&mut rows, e, "svc_replicas_up_ratio", 1.0);
        set(&mut rows, e, "svc_replica_count", 2f32.ln_1p());
        set(&mut rows, e, "svc_replica_cpu_mean", 0.7);
        set(&mut rows, e, "svc_replica_cpu_max", 0.7);
        set(&mut rows, e, "svc_latency_p99", 0.05f32.ln_1p());
    }
    set(&mut rows, 2, "is_node", 1.0);
    set(&mut rows, 2, "node_up", 1.0);
    for &(e, name, v) in edit {
        set(&mut rows, e, name, v);
    }
    Observation::Entities(EntityObs {
        global: vec![0.0; s.global.len()],
        width: w,
        rows,
    })
}

fn act(entity: usize, kind_name: &str) -> usize {
    1 + entity * kinds().len() + kind(kind_name)
}

fn reactive() -> ReactiveController {
    ReactiveController::new(ReactiveConfig::default(), FeatureSchema::builtin(), kinds()).unwrap()
}

#[test]
fn hpa_formula_matches_the_documented_examples() {
    let c = reactive();
    // ceil(4 * 0.9 / 0.7) = ceil(5.14) = 6.
    assert_eq!(c.hpa_desired(4, 0.9), 6);
    // 0.75 / 0.7 = 1.071: within the 10 % tolerance, no change.
    assert_eq!(c.hpa_desired(4, 0.75), 4);
    // ceil(4 * 0.35 / 0.7) = 2.
    assert_eq!(c.hpa_desired(4, 0.35), 2);
}

#[test]
fn liveness_restart_after_failure_threshold_times_period() {
    let mut c = reactive();
    let down = obs(&[(1, "svc_replicas_up_ratio", 0.5)]);
    // 3 x 10 s = 30 s: pending at the first observation, firing one 30 s decision later.
    assert_eq!(c.decide(&down, None).unwrap(), 0);
    assert_eq!(c.decide(&down, None).unwrap(), act(1, "restart_replica"));
    // Cooldown: the entity is left alone right after.
    assert_eq!(c.decide(&down, None).unwrap(), 0);
    // A healthy observation resets the timer.
    let mut c = reactive();
    c.decide(&down, None).unwrap();
    c.decide(&obs(&[]), None).unwrap();
    assert_eq!(c.decide(&down, None).unwrap(), 0);
}

#[test]
fn masked_rule_falls_through_to_the_next_candidate() {
    let mut c = reactive();
    let o = obs(&[
        (0, "svc_replicas_up_ratio", 0.5),
        (1, "svc_replicas_up_ratio", 0.5),
    ]);
    let n = 1 + 3 * kinds().len();
    let mut mask = vec![true; n];
    mask[act(0, "restart_replica")] = false;
    c.decide(&o, Some(&mask)).unwrap();
    assert_eq!(
        c.decide(&o, Some(&mask)).unwrap(),
        act(1, "restart_replica")
    );
}

#[test]
fn hpa_scales_out_at_once_and_in_only_after_the_stabilisation_window() {
    let mut c = reactive();
    let hot = obs(&[(0, "svc_replica_cpu_mean", 1.4)]);
    assert_eq!(c.decide(&hot, None).unwrap(), act(0, "scale_out"));
    // Now 4 replicas at low CPU: desired = ceil(4 * 0.2 / 0.7) = 2, but the window still holds the
    // earlier recommendation of 4 replicas (and minReplicas is the first count seen, 2).
    let cold = obs(&[
        (0, "svc_replica_cpu_mean", 0.2),
        (0, "svc_replica_count", 4f32.ln_1p()),
    ]);
    let window_decisions = (300.0 / 30.0) as usize;
    let mut first_scale_in = None;
    for d in 1..=window_decisions + 2 {
        if c.decide(&cold, None).unwrap() == act(0, "scale_in") {
            first_scale_in = Some(d);
            break;
        }
    }
    // The hot recommendation (t = 0) leaves the 300 s window at t = 330 s, the 11th decision.
    assert_eq!(first_scale_in, Some(window_decisions + 1));
}

#[test]
fn error_alert_waits_for_its_for_duration() {
    let mut c = reactive();
    let errs = obs(&[(0, "svc_error_ratio", 0.2)]);
    // for = 60 s: pending at t = 0, 30 s, firing at 60 s.
    assert_eq!(c.decide(&errs, None).unwrap(), 0);
    assert_eq!(c.decide(&errs, None).unwrap(), 0);
    assert_eq!(c.decide(&errs, None).unwrap(), act(0, "restart_service"));
}

/// A runbook with one three-step symptom (waits 60, 120, 180 s), independent of the tuned default.
const ESCALATION: &str = r#"
[runbook]
name = "escalation"
decision_interval_s = 30.0
[[remediation]]
symptom = "replicas_down"
entity = "service"
feature = "svc_replicas_up_ratio"
op = "<"
threshold = 1.0
for_s = 30.0
actions = [
  { kind = "restart_replica", wait_s = 60.0 },
  { kind = "reallocate", wait_s = 120.0 },
  { kind = "failover", wait_s = 180.0 },
]
"#;

fn escalation() -> Runbook {
    Runbook::from_toml(
        ESCALATION,
        "escalation.toml",
        FeatureSchema::builtin(),
        kinds(),
    )
    .unwrap()
}

#[test]
fn default_runbook_is_valid() {
    Runbook::default_runbook(FeatureSchema::builtin(), kinds()).unwrap();
}

#[test]
fn runbook_escalates_then_waits_for_a_human_and_rearms_when_cleared() {
    let mut r = escalation();
    let down = obs(&[(0, "svc_replicas_up_ratio", 0.5)]);
    let mut seen = Vec::new();
    for d in 0..60 {
        let a = r.decide(&down, None).unwrap();
        if a != 0 {
            seen.push((d * 30, a));
        }
    }
    // Due at t = 30 s (for_s), then each step once the previous one's wait has passed.
    let expected = vec![
        (30, act(0, "restart_replica")),
        (90, act(0, "reallocate")),
        (210, act(0, "failover")),
    ];
    assert_eq!(seen, expected);
    r.decide(&obs(&[]), None).unwrap();
    r.decide(&down, None).unwrap();
    assert_eq!(r.decide(&down, None).unwrap(), act(0, "restart_replica"));
}

#[test]
fn runbook_skips_masked_remediations() {
    let mut r = escalation();
    let down = obs(&[(0, "svc_replicas_up_ratio", 0.5)]);
    let mut mask = vec![true; 1 + 3 * kinds().len()];
    mask[act(0, "restart_replica")] = false;
    r.decide(&down, Some(&mask)).unwrap();
    assert_eq!(r.decide(&down, Some(&mask)).unwrap(), act(0, "reallocate"));
}

fn runbook_error(text: &str) -> String {
    match Runbook::from_toml(text, "rb.toml", FeatureSchema::builtin(), kinds()) {
        Err(e @ BaselineError::Runbook { .. }) => e.to_string(),
        other => panic!("expected a runbook error, got {other:?}"),
    }
}

const HEADER: &str = "[runbook]\nname = \"t\"\ndecision_interval_s = 30.0\n";

#[test]
fn runbook_errors_name_the_file_and_field() {
    let rule = |feature: &str, op: &str, kind: &str| {
        format!(
            "{HEADER}[[remediation]]\nsymptom = \"s\"\nentity = \"service\"\nfeature = \"{feature}\"\n\
             op = \"{op}\"\nthreshold = 1.0\nfor_s = 0.0\nactions = [{{ kind = \"{kind}\", wait_s = 1.0 }}]\n"
        )
    };
    let e = runbook_error(&rule("no_such_feature", ">", "scale_out"));
    assert!(
        e.contains("rb.toml") && e.contains("remediation[0].feature"),
        "{e}"
    );
    let e = runbook_error(&rule("svc_error_ratio", ">=", "scale_out"));
    assert!(e.contains("remediation[0].op"), "{e}");
    let e = runbook_error(&rule("svc_error_ratio", ">", "reboot"));
    assert!(e.contains("remediation[0].actions[0].kind"), "{e}");
    let e = runbook_error(&format!("{HEADER}remediation = []\n"));
    assert!(e.contains("`remediation`"), "{e}");
    let e = runbook_error("[runbook]\nname = \"t\"\ndecision_interval_s = 30.0\ncolour = 1\n");
    assert!(e.contains("line") && e.contains("colour"), "{e}");
    let e = runbook_error(&rule("svc_error_ratio", ">", "scale_out").replace("30.0", "-1.0"));
    assert!(e.contains("runbook.decision_interval_s"), "{e}");
}

#[test]
fn baselines_name_missing_features_and_kinds() {
    let mut s = FeatureSchema::builtin();
    s.columns.retain(|c| c.name != "svc_error_ratio");
    let e = ReactiveController::new(ReactiveConfig::default(), s, kinds()).unwrap_err();
    assert!(e.to_string().contains("svc_error_ratio"), "{e}");
    let e = ReactiveController::new(
        ReactiveConfig::default(),
        FeatureSchema::builtin(),
        vec!["scale_out".into()],
    )
    .unwrap_err();
    assert!(e.to_string().contains("restart_replica"), "{e}");
    let bad = ReactiveConfig {
        hpa_target_cpu: 0.0,
        ..ReactiveConfig::default()
    };
    let e = ReactiveController::new(bad, FeatureSchema::builtin(), kinds()).unwrap_err();
    assert!(e.to_string().contains("hpa_target_cpu"), "{e}");
}

/// Runs one `tiny` episode; returns (actions taken, return). Fails if a masked action is chosen
/// (the env's default masked-action policy refuses it with an error).
fn episode(policy: &dyn Policy, seed: u64) -> (Vec<usize>, f64) {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    let (mut o, _) = env.reset(Some(seed), None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut actions, mut ret) = (Vec::new(), 0.0);
    loop {
        let mask = env.action_mask();
        let a = policy.predict(&o, mask.as_deref(), true, &mut rng).unwrap();
        let step = env.step(a).unwrap();
        actions.push(a);
        ret += step.reward;
        o = step.obs;
        if step.terminated || step.truncated {
            return (actions, ret);
        }
    }
}

#[test]
fn baselines_run_tiny_episodes_within_masks_and_deterministically() {
    let mut env = ClusterEnv::builtin("tiny", ClusterConfig::default()).unwrap();
    let (_, info) = env.reset(Some(1), None).unwrap();
    let names = kind_names_from_info(&info).unwrap();
    assert_eq!(names, kinds());
    let n = env.layout().unwrap().n_actions();
    let reactive = Stateful::new(
        ReactiveController::new(
            ReactiveConfig::default(),
            FeatureSchema::builtin(),
            names.clone(),
        )
        .unwrap(),
        n,
    );
    let runbook = Stateful::new(
        Runbook::default_runbook(FeatureSchema::builtin(), names).unwrap(),
        n,
    );
    let random = RandomPolicy::new(n, 7);
    let noop = NoOpPolicy { n_actions: n };
    let (noop_actions, _) = episode(&noop, 3);
    assert!(noop_actions.iter().all(|&a| a == 0));
    let (a1, r1) = episode(&random, 3);
    random.reset(7);
    let (a2, r2) = episode(&random, 3);
    assert_eq!((a1.clone(), r1), (a2, r2));
    assert!(a1.iter().any(|&a| a != 0));
    for p in [&reactive, &runbook] as [&dyn Policy; 2] {
        let (b1, q1) = episode(p, 3);
        assert!(b1.iter().all(|&a| a < n));
        let _ = q1;
    }
    reactive.reset();
    runbook.reset();
    let (b1, q1) = episode(&reactive, 3);
    reactive.reset();
    let (b2, q2) = episode(&reactive, 3);
    assert_eq!((b1, q1), (b2, q2));
    assert_eq!(reactive.algorithm(), "reactive");
    assert_eq!(runbook.algorithm(), "runbook");
}

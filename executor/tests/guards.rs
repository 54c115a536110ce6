//! The guard chain as the loop will use it: config from TOML, evaluation, and the verdicts
//! recorded in the audit log.

use std::collections::BTreeMap;

use mend_executor::audit::{AuditWriter, verify};
use mend_executor::decision::{Action, ActionKind, Decision, Outcome, Verdict, observation_digest};
use mend_executor::guards::{
    Evaluation, ExecutedAction, GuardConfig, GuardState, Guards, Proposal,
};

fn action(service: &str, kind: ActionKind) -> Action {
    Action {
        namespace: "shop".into(),
        service: service.into(),
        kind,
    }
}

fn auto_config() -> GuardConfig {
    toml::from_str(
        r#"
        shadow = false
        allowlist = ["shop/api", "shop/web"]
        cooldown_ms = { restart = 60000 }
        max_actions = 2
        window_ms = 600000
        max_replica_share = 0.34
        settle_ms = 30000
        max_metric_age_ms = 15000
        confidence_threshold = 0.6
        "#,
    )
    .unwrap()
}

struct World {
    history: Vec<ExecutedAction>,
    replicas: BTreeMap<String, usize>,
    metric_times: BTreeMap<String, Option<u64>>,
}

impl World {
    fn new() -> Self {
        World {
            history: Vec::new(),
            replicas: BTreeMap::from([("api".into(), 3), ("web".into(), 3), ("db".into(), 1)]),
            metric_times: BTreeMap::from([
                ("up".into(), Some(100_000)),
                ("cpu".into(), Some(99_000)),
            ]),
        }
    }

    fn state(&self, now_ms: u64, kill: bool) -> GuardState<'_> {
        GuardState {
            now_ms,
            history: &self.history,
            replicas: &self.replicas,
            metric_times: &self.metric_times,
            kill_switch_engaged: kill,
        }
    }
}

fn proposal(action: Action, probability: f64) -> Proposal {
    Proposal {
        action,
        probability,
        fallback: Action::noop("shop", "api"),
    }
}

fn denied_by(eval: &Evaluation) -> Vec<&str> {
    eval.verdicts
        .iter()
        .filter(|v| matches!(v.verdict, Verdict::Deny { .. }))
        .map(|v| v.guard.as_str())
        .collect()
}

#[test]
fn the_default_config_is_shadow_with_an_empty_allowlist() {
    let guards = Guards::new(&GuardConfig::default()).unwrap();
    let world = World::new();
    let eval = guards.evaluate(
        &proposal(action("api", ActionKind::Restart { replica: Some(0) }), 0.9),
        &world.state(100_000, false),
    );
    assert!(!eval.allowed);
    assert_eq!(denied_by(&eval), ["allowlist", "shadow"]);
    assert_eq!(eval.verdicts.len(), 7, "every guard records a verdict");
}

#[test]
fn a_confident_allowed_action_passes_every_guard() {
    let guards = Guards::new(&auto_config()).unwrap();
    let world = World::new();
    let restart = action("api", ActionKind::Restart { replica: Some(1) });
    let eval = guards.evaluate(
        &proposal(restart.clone(), 0.9),
        &world.state(100_000, false),
    );
    assert!(eval.allowed, "{:?}", eval.verdicts);
    assert_eq!(eval.action, restart);
    assert!(eval.verdicts.iter().all(|v| v.verdict == Verdict::Allow));
}

#[test]
fn each_guard_can_stop_an_action_on_its_own() {
    let guards = Guards::new(&auto_config()).unwrap();
    let mut world = World::new();
    let restart = action("api", ActionKind::Restart { replica: Some(1) });
    let p = proposal(restart.clone(), 0.9);
    assert_eq!(
        denied_by(&guards.evaluate(&p, &world.state(100_000, true))),
        ["kill_switch"]
    );
    assert_eq!(
        denied_by(&guards.evaluate(&p, &world.state(114_001, false))),
        ["fresh_metrics"],
        "cpu is 15001 ms old"
    );
    let outside = proposal(action("db", ActionKind::Restart { replica: Some(0) }), 0.9);
    assert_eq!(
        denied_by(&guards.evaluate(&outside, &world.state(100_000, false))),
        ["allowlist"]
    );
    let whole = proposal(action("web", ActionKind::Restart { replica: None }), 0.9);
    assert_eq!(
        denied_by(&guards.evaluate(&whole, &world.state(100_000, false))),
        ["replica_share"]
    );
    // Cooldown: the same restart 10 s ago (cooldown 60 s). 1 settling + 1 <= ceil(0.34 x 3) = 2.
    world.history.push(ExecutedAction {
        time_ms: 90_000,
        action: restart.clone(),
        replicas_touched: 1,
    });
    assert_eq!(
        denied_by(&guards.evaluate(&p, &world.state(100_000, false))),
        ["rate_limit"]
    );
    // Replica share: 2 replicas still settling + 1 > 2.
    world.history[0].replicas_touched = 2;
    let stop = proposal(action("api", ActionKind::Stop { replica: Some(2) }), 0.9);
    assert_eq!(
        denied_by(&guards.evaluate(&stop, &world.state(100_000, false))),
        ["replica_share"]
    );
    // Rate limit: 2 actions in the window already.
    world.history.push(ExecutedAction {
        time_ms: 95_000,
        action: action("web", ActionKind::Stop { replica: Some(0) }),
        replicas_touched: 1,
    });
    let start = proposal(action("web", ActionKind::Start { replica: Some(0) }), 0.9);
    let eval = guards.evaluate(&start, &world.state(100_000, false));
    assert_eq!(denied_by(&eval), ["rate_limit"]);
    assert!(
        matches!(&eval.verdicts[4].verdict, Verdict::Deny { reason } if reason.contains("2 actions"))
    );
}

#[test]
fn an_unsure_policy_is_replaced_by_the_fallback_which_the_other_guards_then_judge() {
    let guards = Guards::new(&auto_config()).unwrap();
    let world = World::new();
    let scale = action("api", ActionKind::ScaleTo { replicas: 1 });
    let runbook = action("web", ActionKind::Restart { replica: Some(2) });
    let p = Proposal {
        action: scale,
        probability: 0.41,
        fallback: runbook.clone(),
    };
    let eval = guards.evaluate(&p, &world.state(100_000, false));
    assert!(eval.allowed, "{:?}", eval.verdicts);
    assert_eq!(eval.action, runbook);
    assert!(matches!(&eval.verdicts[2].verdict, Verdict::Replace { by, .. } if *by == runbook));
    let p = Proposal {
        fallback: action("db", ActionKind::Restart { replica: Some(0) }),
        ..p
    };
    assert_eq!(
        denied_by(&guards.evaluate(&p, &world.state(100_000, false))),
        ["allowlist"]
    );
}

#[test]
fn bad_configs_name_the_field() {
    let err = toml::from_str::<GuardConfig>("shadow = false\nallow_list = []")
        .unwrap_err()
        .to_string();
    assert!(err.contains("allow_list"), "{err}");
    let mut c = auto_config();
    c.allowlist.push("no-slash".into());
    assert_eq!(Guards::new(&c).unwrap_err().field, "allowlist[2]");
    let mut c = auto_config();
    c.cooldown_ms.insert("reboot".into(), 1);
    assert_eq!(Guards::new(&c).unwrap_err().field, "cooldown_ms.reboot");
    let mut c = auto_config();
    c.max_replica_share = 0.0;
    assert_eq!(Guards::new(&c).unwrap_err().field, "max_replica_share");
}

#[test]
fn verdicts_are_recorded_in_a_verifiable_audit_log() {
    let guards = Guards::new(&GuardConfig::default()).unwrap();
    let world = World::new();
    let eval = guards.evaluate(
        &proposal(action("api", ActionKind::Stop { replica: Some(0) }), 0.8),
        &world.state(100_000, false),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditWriter::open(&path, None, 99_000).unwrap();
    let decision = Decision {
        obs_digest: observation_digest(&[1.0, 0.0]),
        action: eval.action.clone(),
        probabilities: vec![0.2, 0.8],
        verdicts: eval.verdicts.clone(),
        outcome: Outcome::NotActed {
            reason: "denied by allowlist, shadow".into(),
        },
        fields: BTreeMap::new(),
    };
    log.append(100_000, &decision).unwrap();
    log.close().unwrap();
    assert_eq!(verify(&path).unwrap().decisions, 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(r#"{"guard":"shadow","verdict":"deny","reason":"shadow mode"#),
        "{text}"
    );
}

//! The cluster env's action-history columns (feature schema v2) equal the history it applied: an
//! episode acts on a service and a node, then ages, in-flight flags and recent counts are checked
//! against values worked out by hand from the action times and the simulator's default action
//! durations (sim/src/actions.rs `ActionKind::defaults`: restart_service 120 s, scale_out 60 s);
//! they age out to "never" and a reset clears them.

use mend_envs::cluster::{ClusterAction, ClusterConfig, ClusterEnv, Target};
use mend_envs::{Env, Observation};
use mend_monitor::features::history::{ACTION_AGE_NEVER_S, ActionValues, RECENT_WINDOW_S};
use mend_monitor::features::{FeatureSchema, Transform};
use mend_sim::ActionKind;

fn column(obs: &Observation, schema: &FeatureSchema, row: usize, name: &str) -> f32 {
    let e = obs.as_entities().expect("entity observation");
    e.rows[row * e.width + schema.column_index(name).expect(name)]
}

fn now(env: &ClusterEnv) -> f64 {
    env.simulation().unwrap().now().as_secs_f64()
}

/// The values worked out by hand for an entity acted on at `starts` (seconds), seen at `now`.
fn by_hand(starts: &[f64], now: f64, in_flight: bool) -> ActionValues {
    match starts.last() {
        None => ActionValues::NEVER,
        Some(&last) => ActionValues {
            age_s: (now - last).min(ACTION_AGE_NEVER_S),
            in_flight,
            recent: starts
                .iter()
                .filter(|&&t| now - t < RECENT_WINDOW_S)
                .count() as u32,
        },
    }
}

#[test]
fn action_columns_follow_the_actions_the_env_applied() {
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let schema = env.feature_schema().clone();
    let (obs, _) = env.reset(Some(11), None).unwrap();
    let targets = env.layout().unwrap().targets().to_vec();
    assert_eq!(
        env.action_history(),
        vec![ActionValues::NEVER; targets.len()]
    );
    assert_eq!(
        column(&obs, &schema, 0, "svc_action_age"),
        Transform::Log1p.apply(ACTION_AGE_NEVER_S)
    );
    let node = targets
        .iter()
        .position(|t| matches!(t, Target::Node(_)))
        .expect("a node row");
    let Target::Node(node_id) = targets[node] else {
        unreachable!()
    };
    let restart = env
        .encode(ClusterAction::Act {
            entity: 0,
            kind: ActionKind::RestartService,
        })
        .unwrap();
    let replace = env
        .encode(ClusterAction::Act {
            entity: node,
            kind: ActionKind::ReplaceNode,
        })
        .unwrap();
    let (mut service_starts, mut node_starts) = (Vec::new(), Vec::new());
    // Restart the service at steps 0 and 8 (the first restart has finished by then), replace the
    // node at step 3; 30 s decisions, 25 steps (12.5 minutes: the first restart leaves the window).
    for k in 0..25 {
        let t = now(&env);
        let action = match k {
            0 | 8 => {
                service_starts.push(t);
                restart
            }
            3 => {
                assert!(env.action_allowed(replace), "the node can be replaced");
                node_starts.push(t);
                replace
            }
            _ => 0,
        };
        assert!(env.action_allowed(action), "step {k}");
        let step = env.step(action).unwrap();
        let t = now(&env);
        let last_restart = *service_starts.last().unwrap();
        let service = by_hand(&service_starts, t, t < last_restart + 120.0);
        assert_eq!(env.action_history()[0], service, "service row, step {k}");
        let node_running = env.simulation().unwrap().node_action_running(node_id);
        assert_eq!(
            env.action_history()[node],
            by_hand(&node_starts, t, node_running),
            "node row, step {k}"
        );
        if k == 3 {
            assert!(node_running, "a replacement takes 60 s plus provisioning");
        }
        assert_eq!(
            env.action_history()[1],
            ActionValues::NEVER,
            "row 1 untouched"
        );
        // The observation carries the transformed values.
        let obs = &step.obs;
        assert_eq!(
            column(obs, &schema, 0, "svc_action_age"),
            Transform::Log1p.apply(service.age_s)
        );
        assert_eq!(
            column(obs, &schema, 0, "svc_action_in_flight"),
            f32::from(u8::from(service.in_flight))
        );
        assert_eq!(
            column(obs, &schema, 0, "svc_actions_recent"),
            service.recent as f32
        );
        let node_values = env.action_history()[node];
        assert_eq!(
            column(obs, &schema, node, "node_action_age"),
            Transform::Log1p.apply(node_values.age_s)
        );
        assert_eq!(
            column(obs, &schema, node, "node_actions_recent"),
            node_values.recent as f32
        );
        assert_eq!(
            column(obs, &schema, node, "svc_action_age"),
            0.0,
            "service columns are 0 on node rows"
        );
    }
    // Hand-computed landmarks: the first restart left the window 600 s after it started.
    let last = env.action_history()[0];
    assert_eq!((last.age_s, last.recent, last.in_flight), (510.0, 1, false));
}

#[test]
fn history_ages_out_to_never_and_reset_clears_it() {
    let mut env = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    env.reset(Some(5), None).unwrap();
    let t0 = now(&env);
    let scale_out = env
        .encode(ClusterAction::Act {
            entity: 0,
            kind: ActionKind::ScaleOut,
        })
        .unwrap();
    env.step(scale_out).unwrap();
    while now(&env) < t0 + ACTION_AGE_NEVER_S + 60.0 {
        env.step(0).unwrap();
        let t = now(&env);
        assert_eq!(
            env.action_history()[0],
            by_hand(&[t0], t, t < t0 + 60.0),
            "t = {t}"
        );
    }
    assert_eq!(env.action_history()[0], ActionValues::NEVER);
    env.step(scale_out).unwrap();
    assert_eq!(env.action_history()[0].recent, 1);
    env.reset(Some(5), None).unwrap();
    assert!(
        env.action_history()
            .iter()
            .all(|h| *h == ActionValues::NEVER),
        "reset clears the history"
    );
}

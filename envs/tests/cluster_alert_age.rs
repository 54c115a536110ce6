//! The cluster env's alert-age columns (feature schema v3): the detector bank run beside the env
//! changes nothing in the simulated world (same trace, rewards, masks and every other column
//! under the same actions as an env without it), the ages grow by the telemetry interval while an
//! alert holds and drop to 0 when it clears, and a bad detector spec is refused naming its field.

use mend_envs::cluster::{ClusterConfig, ClusterEnv};
use mend_envs::{Env, EnvError, Observation};
use mend_monitor::features::FeatureSchema;
use mend_monitor::features::alert_age::ALERT_AGE_CAP_S;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod common;

fn alert_columns(schema: &FeatureSchema) -> [usize; 2] {
    ["svc_alert_age", "node_alert_age"].map(|c| schema.column_index(c).expect(c))
}

/// Rows with the alert columns removed, as bits.
fn other_columns(obs: &Observation, skip: [usize; 2]) -> Vec<u32> {
    let e = obs.as_entities().unwrap();
    e.rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !skip.contains(&(i % e.width)))
        .map(|(_, x)| x.to_bits())
        .collect()
}

/// Raw seconds of each row's alert-age column (the kind's own column; the other is 0).
fn ages(obs: &Observation, cols: [usize; 2]) -> Vec<f64> {
    let e = obs.as_entities().unwrap();
    e.rows
        .chunks(e.width)
        .map(|r| f64::from(r[cols[0]].max(r[cols[1]])).exp_m1())
        .collect()
}

#[test]
fn the_alert_clock_does_not_change_the_world_and_its_ages_follow_the_alerts() {
    let mut with = ClusterEnv::builtin("default", ClusterConfig::default()).unwrap();
    let mut without = ClusterEnv::builtin(
        "default",
        ClusterConfig {
            alert_detector: None,
            ..ClusterConfig::default()
        },
    )
    .unwrap();
    let cols = alert_columns(with.feature_schema());
    let (mut a, _) = with.reset(Some(5), None).unwrap();
    let (b, _) = without.reset(Some(5), None).unwrap();
    assert_eq!(other_columns(&a, cols), other_columns(&b, cols));
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (mut active_steps, mut grew) = (0, 0);
    let mut last_time = with.simulation().unwrap().telemetry().time.as_secs_f64();
    for t in 0..400 {
        let mask = with.action_mask().unwrap();
        assert_eq!(Some(&mask), without.action_mask().as_ref(), "step {t}");
        let action = common::occasional_valid_action(&mask, &mut rng);
        let sa = with.step(action).unwrap();
        let sb = without.step(action).unwrap();
        assert_eq!(sa.reward.to_bits(), sb.reward.to_bits(), "step {t}");
        assert_eq!(sa.info, sb.info, "step {t}");
        assert_eq!(
            other_columns(&sa.obs, cols),
            other_columns(&sb.obs, cols),
            "step {t}"
        );
        assert!(ages(&sb.obs, cols).iter().all(|&x| x == 0.0));
        let now = with.simulation().unwrap().telemetry().time.as_secs_f64();
        let dt = now - last_time;
        for (row, (&before, &after)) in ages(&a, cols).iter().zip(&ages(&sa.obs, cols)).enumerate()
        {
            // Prometheus' activeAt: 0 (cleared, or the first anomalous evaluation) or one
            // evaluation interval older than before (up to the cap).
            let expected = (before + dt).min(ALERT_AGE_CAP_S);
            let continued = (after - expected).abs() < 1e-3 * (1.0 + after);
            assert!(
                after == 0.0 || continued,
                "step {t}, row {row}: {before} s then {after} s ({dt} s apart)"
            );
            grew += usize::from(after > 0.0 && continued);
        }
        active_steps += usize::from(ages(&sa.obs, cols).iter().any(|&x| x > 0.0));
        last_time = now;
        a = sa.obs;
        if sa.truncated {
            break;
        }
    }
    assert_eq!(with.take_trace(), without.take_trace());
    assert!(
        active_steps >= 10 && grew >= 10,
        "alerts were active ({active_steps} steps) and aged ({grew} row-steps)"
    );
}

#[test]
fn a_bad_alert_detector_is_refused_naming_its_field() {
    let err = ClusterEnv::builtin(
        "tiny",
        ClusterConfig {
            alert_detector: Some("no_such_detector".into()),
            ..ClusterConfig::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, EnvError::InvalidConfig { field, .. } if field == "alert_detector"),
        "{err}"
    );
    assert!(err.to_string().contains("no_such_detector"), "{err}");
}

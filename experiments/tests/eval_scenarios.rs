//! The held-out evaluation scenarios (`scenarios/eval/`): each validates with `mend scenario
//! validate`, and one episode (`mend simulate`) has enough faults of the mix the file is about to
//! compare agents on it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const MEND: &str = env!("CARGO_BIN_EXE_mend");

fn eval_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/eval/{name}.toml"))
}

/// Faults by kind in one episode of `name` with `seed`, and the summary.
fn simulate(name: &str, seed: u64) -> (BTreeMap<String, u64>, serde_json::Value) {
    let out = Command::new(MEND)
        .args([
            "simulate",
            eval_file(name).to_str().unwrap(),
            "--seed",
            &seed.to_string(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let faults = summary["faults_by_kind"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    (faults, summary)
}

const NAMES: [&str; 3] = ["eval-mid-network", "eval-large-zones", "eval-regional"];

#[test]
fn every_eval_scenario_validates_and_is_held_out() {
    let files: Vec<String> = NAMES
        .iter()
        .map(|n| eval_file(n).display().to_string())
        .collect();
    let mut args = vec!["scenario", "validate"];
    args.extend(files.iter().map(String::as_str));
    let out = Command::new(MEND).args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in NAMES {
        assert!(text.contains(&format!("({name})")), "{text}");
        assert!(
            !["tiny", "default", "large"].contains(&name),
            "held out from training"
        );
    }
}

#[test]
fn each_episode_has_enough_faults_of_its_mix() {
    for seed in 1..=3 {
        // Mid-size, network faults dominate.
        let (f, _) = simulate("eval-mid-network", seed);
        let total: u64 = f.values().sum();
        let network: u64 = ["network_delay", "packet_loss", "partition"]
            .iter()
            .map(|k| f.get(*k).copied().unwrap_or(0))
            .sum();
        assert!(total >= 6, "seed {seed}: {f:?}");
        assert!(
            network * 10 >= total * 4,
            "seed {seed}: network share {f:?}"
        );

        // Large, with zone outages in every episode (two scripted).
        let (f, s) = simulate("eval-large-zones", seed);
        assert!(f.values().sum::<u64>() >= 20, "seed {seed}: {f:?}");
        assert!(f["zone_outage"] >= 2, "seed {seed}: {f:?}");
        assert_eq!(s["simulated_seconds"], 12.0 * 3600.0);

        // Correlated regional faults: regions fail with their provider's control plane.
        let (f, _) = simulate("eval-regional", seed);
        assert!(f["region_outage"] >= 2, "seed {seed}: {f:?}");
        assert!(f["control_plane_outage"] >= 2, "seed {seed}: {f:?}");
        assert!(f["partition"] >= 2, "seed {seed}: {f:?}");
        assert!(f.values().sum::<u64>() >= 8, "seed {seed}: {f:?}");
    }
}

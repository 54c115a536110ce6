//! Executor benchmarks: audit-log append and verify throughput, guard evaluation per decision, and
//! decision latency (metrics received -> action issued, excluding the actuator: readings ->
//! snapshot -> features -> policy or rule -> guards; issue 7 bound 100 ms) for 1 and 100 services,
//! with the rule, a flat reference policy file and the entity PPO fixture of the end-to-end test.
//!
//! Run: `cargo bench -p mend-benches --bench executor` (`-- decision` for the latency only). Appends `fsync` the log and replace the head
//! file each time, so their figure is the disk's, not the CPU's; verification runs in memory.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mend_executor::audit::{
    AuditSigner, AuditWriter, VerifyOptions, head_path, read_head, verify_bytes,
};
use mend_executor::cluster::ClusterFile;
use mend_executor::decide::LivePolicy;
use mend_executor::decision::{
    Action, ActionKind, Decision, GuardVerdict, Outcome, Verdict, observation_digest,
};
use mend_executor::guards::{ExecutedAction, GuardConfig, GuardState, Guards, Proposal};
use mend_executor::observe::Readings;
use mend_executor::pipeline::{Mode, Pipeline};
use mend_executor::reference_policy::reference_policy_file;

fn decision(i: usize) -> Decision {
    Decision {
        obs_digest: observation_digest(&[i as f64; 32]),
        action: Action {
            namespace: "shop".into(),
            service: format!("svc-{}", i % 100),
            kind: ActionKind::Restart {
                replica: Some(i % 3),
            },
        },
        probabilities: vec![0.05, 0.7, 0.1, 0.05, 0.05, 0.05],
        verdicts: [
            "kill_switch",
            "fresh_metrics",
            "confidence",
            "allowlist",
            "rate_limit",
            "replica_share",
            "shadow",
        ]
        .iter()
        .map(|g| GuardVerdict {
            guard: (*g).into(),
            verdict: Verdict::Allow,
        })
        .collect(),
        outcome: Outcome::Applied,
        fields: BTreeMap::new(),
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mend-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_log(path: &Path, records: usize, signer: Option<AuditSigner>) -> Vec<u8> {
    let mut w = AuditWriter::open(path, signer, 0).unwrap();
    for i in 0..records {
        w.append(i as u64, &decision(i)).unwrap();
    }
    w.close().unwrap();
    std::fs::read(path).unwrap()
}

fn audit(c: &mut Criterion) {
    let dir = scratch_dir("audit");
    let mut group = c.benchmark_group("audit");
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);

    group.throughput(Throughput::Elements(1));
    let mut writer = AuditWriter::open(&dir.join("append.jsonl"), None, 0).unwrap();
    let d = decision(1);
    group.bench_function("append_fsync", |b| {
        b.iter(|| writer.append(1, black_box(&d)).unwrap())
    });
    drop(writer);

    for (label, signer) in [
        ("unsigned", None),
        ("signed", Some(AuditSigner::from_seed(&[9; 32]))),
    ] {
        let path = dir.join(format!("verify-{label}.jsonl"));
        let bytes = write_log(&path, 1000, signer);
        let head = read_head(&head_path(&path))
            .unwrap()
            .expect("the writer keeps a head file");
        group.throughput(Throughput::Elements(1001));
        group.bench_function(format!("verify_1000_{label}"), |b| {
            b.iter(|| {
                verify_bytes(
                    &path,
                    black_box(&bytes),
                    Some(&head),
                    &VerifyOptions::default(),
                )
                .unwrap()
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn guards(c: &mut Criterion) {
    let config = GuardConfig {
        shadow: false,
        allowlist: vec!["shop/*".into()],
        max_actions: 1000,
        ..GuardConfig::default()
    };
    let guards = Guards::new(&config).unwrap();
    let replicas: BTreeMap<String, usize> = (0..100).map(|i| (format!("svc-{i}"), 3)).collect();
    let metric_times: BTreeMap<String, Option<u64>> = (0..20)
        .map(|i| (format!("feature-{i}"), Some(1_000_000)))
        .collect();
    let history: Vec<ExecutedAction> = (0..100)
        .map(|i| ExecutedAction {
            time_ms: 1_000 * i as u64,
            action: decision(i).action,
            replicas_touched: 1,
        })
        .collect();
    let proposal = Proposal {
        action: Action {
            namespace: "shop".into(),
            service: "svc-42".into(),
            kind: ActionKind::Restart { replica: Some(1) },
        },
        probability: 0.4,
        fallback: Action {
            namespace: "shop".into(),
            service: "svc-7".into(),
            kind: ActionKind::Stop { replica: Some(0) },
        },
    };
    let state = GuardState {
        now_ms: 1_000_000,
        history: &history,
        replicas: &replicas,
        metric_times: &metric_times,
        kill_switch_engaged: false,
    };
    let mut group = c.benchmark_group("guards");
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    group.bench_function("evaluate_100_services_100_history", |b| {
        b.iter(|| guards.evaluate(black_box(&proposal), black_box(&state)))
    });
    group.finish();
}

/// A cluster file of `n` services (3 replicas each) and readings with one replica down in the last.
fn live_cluster(n: usize) -> (ClusterFile, Readings) {
    let mut text = String::from("namespace = \"bench\"\n[guards]\nallowlist = [\"bench/*\"]\n");
    let mut readings = Readings::default();
    for i in 0..n {
        let name = format!("svc-{i:03}");
        text += &format!(
            "[[services]]\nname = \"{name}\"\nprocess = {{ command = \"x\", replicas = 3 }}\n\
             replica_metrics = {{ up = {{ scrape = \"up\" }}, memory_utilization = {{ scrape = \"m\" }} }}\n"
        );
        readings.replicas.insert(name.clone(), 3);
        for r in 0..3 {
            let up = if i + 1 == n && r == 1 { 0.0 } else { 1.0 };
            readings.replica.insert((name.clone(), r, "up".into()), up);
            readings
                .replica
                .insert((name.clone(), r, "memory_utilization".into()), 0.2);
        }
        readings
            .metric_times
            .insert(format!("{name}:up"), Some(1_000_000));
    }
    let cluster = ClusterFile::parse(Path::new("bench.toml"), &text, Path::new(".")).unwrap();
    (cluster, readings)
}

/// The end-to-end test's entity PPO policy (hidden 64), which reads any number of services.
const ENTITY_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../executor/tests/fixtures/policy/ppo-default-warm.safetensors"
);

fn decision_latency(c: &mut Criterion) {
    let dir = scratch_dir("decision");
    let mut group = c.benchmark_group("decision");
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    for n in [1, 100] {
        let (cluster, readings) = live_cluster(n);
        let path = dir.join(format!("reference-{n}.safetensors"));
        reference_policy_file(&cluster.service_names())
            .save(&path)
            .unwrap();
        for (label, policy) in [
            ("rule", None),
            (
                "policy_file",
                Some(LivePolicy::load(&path, &cluster).unwrap()),
            ),
            (
                "entity_ppo_h64",
                Some(LivePolicy::load(Path::new(ENTITY_FIXTURE), &cluster).unwrap()),
            ),
        ] {
            let mut pipeline = Pipeline::new(&cluster, Mode::Auto, policy.into()).unwrap();
            group.bench_function(format!("{label}_{n}_services"), |b| {
                b.iter(|| {
                    pipeline
                        .decide(&cluster, black_box(&readings), 1_000_000, false)
                        .unwrap()
                })
            });
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, audit, guards, decision_latency);
criterion_main!(benches);

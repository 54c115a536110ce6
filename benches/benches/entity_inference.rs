//! Entity-policy inference, broken down (issues 4 and 7: one decision for 100 services + 40 nodes at
//! hidden 64 in at most 50 µs on one core): the forward pass alone, the greedy decision
//! (`Policy::predict(.., deterministic = true, ..)`: forward + no-op-first choice), the probabilities
//! the executor reads (`Policy::action_scores`) and a sampled action, at hidden 32 and 64, on the
//! issue's cluster (140 entities, 1,261 actions) and on the `default` scenario's size (68 entities,
//! 613 actions).
//!
//! Time is the benchmark thread's **CPU time** (`CLOCK_THREAD_CPUTIME_ID`), not the wall clock: on the
//! shared 2-core machine the other engineers' builds take the CPU away for whole milliseconds, which
//! the wall clock counts and CPU time does not (cache and memory-bus interference still show).
//! `ENTITY_BENCH_WALL=1` measures the wall clock instead.
//!
//! Run: `cargo bench -p mend-benches --bench entity_inference` (`-- h64_140` for the size).
//!
//! Two plain modes (no criterion) for figures that survive a busy machine, on the decision path
//! (`predict(.., deterministic = true, ..)`), for each of `h32_140`, `h64_140`, `h64_default68`:
//! - `ENTITY_BENCH_MEDIAN=1`: the median over 200 batches of the per-decision thread CPU time of a
//!   batch of 20 decisions (the median drops the batches a preemption or another build disturbed);
//! - `ENTITY_BENCH_COUNT=N`: exactly `N` decisions per case and nothing else, to count instructions
//!   with `valgrind --tool=callgrind` (repeatable whatever the load): the count at `N` minus the
//!   count at 0, divided by `N`, is one decision's. Valgrind has no AVX-512, so the run-time
//!   dispatch picks the AVX2 kernels there. `ENTITY_BENCH_CASE=h64_140` runs one case only.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use mend_agents::Policy;
use mend_agents::nn::Activation;
use mend_agents::nn::entity::{EntityParams, EntityPolicy, EntitySpec};
use mend_agents::policy::OutputKind;
use mend_envs::{EntityObs, Observation};
use rand::{Rng, RngCore, SeedableRng};

/// Entities of the cluster (100 services + 40 nodes) and of the `default` scenario.
const SIZES: [(usize, usize, &str); 2] = [(100, 40, "140"), (40, 28, "default68")];

/// A cluster observation of `services` + `nodes` entities with the current feature schema's widths
/// (values in the features' usual ranges; the row width is read from the schema, not assumed).
fn cluster_obs(services: usize, nodes: usize) -> Observation {
    let schema = mend_monitor::features::FeatureSchema::builtin();
    cluster_obs_of(schema.width(), schema.global.len(), services, nodes)
}

/// [`cluster_obs`] with `w` features per row and `g` global features.
fn cluster_obs_of(w: usize, g: usize, services: usize, nodes: usize) -> Observation {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let n = services + nodes;
    let mut rows = vec![0.0f32; n * w];
    for (i, row) in rows.chunks_exact_mut(w).enumerate() {
        for v in row.iter_mut() {
            *v = rng.random::<f32>();
        }
        row[0] = f32::from(u8::from(i < services));
        row[1] = f32::from(u8::from(i >= services));
    }
    Observation::Entities(EntityObs {
        global: vec![0.5; g],
        width: w,
        rows,
    })
}

/// A PPO entity policy of hidden width `hidden` for the v1 schema and the simulator's action kinds.
fn policy(hidden: usize, n_entities: usize) -> EntityPolicy {
    let schema = mend_monitor::features::FeatureSchema::builtin();
    policy_of(schema.width(), schema.global.len(), hidden, n_entities)
}

/// [`policy`] for rows of `w` features and `g` global features.
fn policy_of(w: usize, g: usize, hidden: usize, n_entities: usize) -> EntityPolicy {
    let n_kinds = mend_sim::ActionKind::ALL.len();
    let spec = EntitySpec {
        row_width: w,
        global_width: g,
        hidden,
        n_kinds,
        activation: Activation::Tanh,
    };
    EntityPolicy {
        algorithm: "ppo".into(),
        output: OutputKind::Logits,
        params: EntityParams::init(spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)),
        exploration_eps: 0.0,
        n_actions: 1 + n_entities * n_kinds,
    }
}

fn entity_inference<M: Measurement + 'static>(c: &mut Criterion<M>) {
    let mut group = c.benchmark_group("entity_inference");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    for (services, nodes, size) in SIZES {
        let obs = cluster_obs(services, nodes);
        for hidden in [32, 64] {
            let policy = policy(hidden, services + nodes);
            let id = format!("h{hidden}_{size}");
            group.bench_function(format!("forward/{id}"), |b| {
                b.iter(|| policy.params.forward(black_box(&obs)).expect("fits"))
            });
            group.bench_function(format!("decision/{id}"), |b| {
                b.iter(|| {
                    policy
                        .predict(black_box(&obs), None, true, &mut UnusedRng)
                        .expect("acts")
                })
            });
            group.bench_function(format!("action_scores/{id}"), |b| {
                b.iter(|| policy.action_scores(black_box(&obs), None).expect("scores"))
            });
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
            group.bench_function(format!("sample/{id}"), |b| {
                b.iter(|| {
                    policy
                        .predict(black_box(&obs), None, false, &mut rng)
                        .expect("acts")
                })
            });
        }
    }
    group.finish();
}

/// Deterministic prediction draws no random numbers; this generator only satisfies the signature.
struct UnusedRng;

impl RngCore for UnusedRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(0);
    }
}

/// CPU time of the calling thread (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, POSIX), in nanoseconds.
struct ThreadCpuTime;

/// The one `unsafe` call: std has no thread CPU clock.
#[allow(unsafe_code)]
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuNanos
    }
}

/// Formats nanoseconds of CPU time as criterion formats wall time (ns, µs, ms, s; decisions/s).
struct CpuNanos;

impl ValueFormatter for CpuNanos {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical_ns {
            t if t < 1e3 => (1.0, "ns cpu"),
            t if t < 1e6 => (1e-3, "µs cpu"),
            t if t < 1e9 => (1e-6, "ms cpu"),
            _ => (1e-9, "s cpu"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iter = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        values.iter_mut().for_each(|v| *v = per_iter * 1e9 / *v);
        "elem/s cpu"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Row and global widths of the plain modes, fixed (feature schema v3's, session 6) so figures
/// measured before and after a schema change compare the same work.
const PLAIN_WIDTHS: (usize, usize) = (25, 11);

/// The decision-path cases of the plain modes: (label, hidden width, services, nodes).
const PLAIN_CASES: [(&str, usize, usize, usize); 3] = [
    ("h32_140", 32, 100, 40),
    ("h64_140", 64, 100, 40),
    ("h64_default68", 64, 40, 28),
];

/// `ENTITY_BENCH_MEDIAN` / `ENTITY_BENCH_COUNT` (see the module doc). Returns whether one ran.
fn plain_modes() -> bool {
    let median = std::env::var_os("ENTITY_BENCH_MEDIAN").is_some();
    let count: Option<usize> = std::env::var("ENTITY_BENCH_COUNT")
        .ok()
        .map(|v| v.parse().expect("ENTITY_BENCH_COUNT is a decision count"));
    if !median && count.is_none() {
        return false;
    }
    let (w, g) = PLAIN_WIDTHS;
    let only = std::env::var("ENTITY_BENCH_CASE").ok();
    for (label, hidden, services, nodes) in PLAIN_CASES {
        if only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let obs = cluster_obs_of(w, g, services, nodes);
        let policy = policy_of(w, g, hidden, services + nodes);
        let decide = || {
            policy
                .predict(black_box(&obs), None, true, &mut UnusedRng)
                .expect("acts")
        };
        if let Some(n) = count {
            for _ in 0..n {
                black_box(decide());
            }
            println!("{label}: {n} decisions");
            continue;
        }
        const BATCH: u64 = 20;
        for _ in 0..BATCH * 20 {
            black_box(decide());
        }
        let mut per_decision: Vec<u64> = (0..200)
            .map(|_| {
                let start = thread_cpu_ns();
                for _ in 0..BATCH {
                    black_box(decide());
                }
                (thread_cpu_ns() - start) / BATCH
            })
            .collect();
        per_decision.sort_unstable();
        println!(
            "{label}: decision median {:.1} µs cpu (quartiles {:.1} .. {:.1})",
            per_decision[100] as f64 / 1e3,
            per_decision[50] as f64 / 1e3,
            per_decision[150] as f64 / 1e3
        );
    }
    true
}

fn main() {
    if plain_modes() {
        return;
    }
    if std::env::var_os("ENTITY_BENCH_WALL").is_some() {
        let mut c = Criterion::default()
            .with_measurement(WallTime)
            .configure_from_args();
        entity_inference(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        entity_inference(&mut c);
        c.final_summary();
    }
}

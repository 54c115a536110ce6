//! Golden digests of the shipped cluster scenarios' worlds: a change to the simulator that must not
//! alter existing scenarios (a new fault kind, a refactor) keeps these digests. Each digest folds
//! (FNV-1a, 64 bits) every trace record, the telemetry at every decision (metric, entity and value
//! bits) and the ground-truth summary of a run with a fixed action script (a replica restart, a
//! scale-out and a service restart: the repair paths run too).
//!
//! The expected values in `tests/golden/world_digests.txt` were written by the simulator *before*
//! the `process_hang` fault kind was added (session 6), so this test is the check that adding a kind
//! drew no extra random numbers and changed no existing world. After an intentional change to the
//! simulator's worlds, regenerate them with
//! `MEND_BLESS_DIGESTS=1 cargo test -p mend-sim --test world_digests` and say why in the commit.

use mend_sim::scenario::BUILTINS;
use mend_sim::time::SimTime;
use mend_sim::topology::{ReplicaId, ServiceId};
use mend_sim::{Action, Scenario, Simulation};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/world_digests.txt"
);
/// Scenarios too large for a debug-build test in reasonable time (1,000 nodes, 24 h), and the
/// renewal model (no cluster world).
const SKIPPED_AS_TOO_LARGE_OR_NOT_A_CLUSTER: [&str; 2] = ["large", "renewal"];
const SEEDS: [u64; 2] = [1, 2];

/// FNV-1a, 64 bits (Fowler, Noll, Vo; parameters from the IETF draft
/// draft-eastlake-fnv, "The FNV Non-Cryptographic Hash Algorithm": offset basis
/// 0xcbf29ce484222325, prime 0x100000001b3).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The digest of `scenario` on `seed`, with the fixed action script.
fn digest(scenario: &Scenario, seed: u64) -> u64 {
    let mut sim = Simulation::new(scenario, seed);
    let mut h = Fnv::new();
    let step = scenario.spec().scenario.decision_interval;
    let horizon = sim.horizon();
    let mut t = SimTime::ZERO;
    let mut decision = 0_u64;
    while t < horizon {
        t = (t + step).min(horizon);
        sim.run_until(t);
        decision += 1;
        // The action script: rejected actions are fine (their errors change no state).
        let action = match decision % 120 {
            20 => Some(Action::RestartReplica {
                replica: ReplicaId(0),
            }),
            60 => Some(Action::ScaleOut {
                service: ServiceId(0),
            }),
            100 => Some(Action::RestartService {
                service: ServiceId(0),
            }),
            _ => None,
        };
        if let Some(a) = action {
            let _ = sim.apply(a);
        }
        let topo = sim.topology();
        for s in sim.telemetry().samples(topo) {
            h.bytes(s.metric.as_bytes());
            h.bytes(s.labels.name.as_bytes());
            h.bytes(&s.value.to_bits().to_le_bytes());
        }
    }
    for r in sim.take_trace() {
        h.bytes(serde_json::to_string(&r).unwrap().as_bytes());
    }
    h.bytes(serde_json::to_string(&sim.summary()).unwrap().as_bytes());
    h.0
}

fn digests() -> String {
    let mut out = String::new();
    for (name, _) in BUILTINS {
        if SKIPPED_AS_TOO_LARGE_OR_NOT_A_CLUSTER.contains(&name) {
            continue;
        }
        let scenario = Scenario::builtin(name).unwrap();
        for seed in SEEDS {
            out.push_str(&format!("{name} {seed} {:016x}\n", digest(&scenario, seed)));
        }
    }
    out
}

#[test]
fn existing_scenarios_worlds_are_unchanged() {
    let got = digests();
    if std::env::var_os("MEND_BLESS_DIGESTS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(GOLDEN)
        .unwrap_or_else(|e| panic!("{GOLDEN}: {e} (MEND_BLESS_DIGESTS=1 writes it)"));
    assert_eq!(
        got, want,
        "a shipped scenario's world changed (trace, telemetry or truth)"
    );
}

/// The digest sees a change: another seed, or one more action, gives another digest.
#[test]
fn the_digest_is_sensitive_to_the_world() {
    let scenario = Scenario::builtin("tiny").unwrap();
    assert_ne!(digest(&scenario, 1), digest(&scenario, 3));
    assert_eq!(digest(&scenario, 1), digest(&scenario, 1));
}

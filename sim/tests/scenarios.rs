//! The shipped scenario files parse and validate, and have the shape their documentation promises.

use mend_sim::scenario::{BUILTINS, ModelKind, Scenario};
use mend_sim::topology::Topology;

#[test]
fn every_builtin_scenario_validates() {
    for (name, _) in BUILTINS {
        let s = Scenario::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.name(), name);
    }
}

#[test]
fn shipped_scenarios_have_the_documented_sizes() {
    let tiny = Scenario::builtin("tiny").unwrap();
    let t = Topology::build(tiny.spec()).unwrap();
    assert_eq!((t.providers.len(), t.services.len()), (1, 3));

    let default = Scenario::builtin("default").unwrap();
    let t = Topology::build(default.spec()).unwrap();
    assert_eq!(t.providers.len(), 3);
    assert_eq!(t.regions.len(), 6);
    assert_eq!(t.services.len(), 20);
    assert_eq!(default.horizon().as_secs_f64(), 6.0 * 3600.0);
    assert!(
        default
            .spec()
            .faults
            .scripted
            .iter()
            .any(|f| f.kind.name() == "region_outage")
    );

    let large = Scenario::builtin("large").unwrap();
    let t = Topology::build(large.spec()).unwrap();
    assert_eq!((t.nodes.len(), t.services.len()), (1000, 200));
    assert_eq!(large.horizon().as_secs_f64(), 86_400.0);

    let renewal = Scenario::builtin("renewal").unwrap();
    assert_eq!(renewal.model(), ModelKind::Renewal);
    assert_eq!(renewal.renewal().unwrap().components, 10_000);
}

#[test]
fn unknown_builtin_lists_the_known_names() {
    let e = Scenario::builtin("huge").unwrap_err().to_string();
    assert!(
        e.contains("huge") && e.contains("tiny, default, large, renewal, eval-mid-network"),
        "{e}"
    );
}

#[test]
fn placement_spreads_replicas_over_providers_when_asked() {
    let s = Scenario::builtin("default").unwrap();
    let t = Topology::build(s.spec()).unwrap();
    let frontend = t
        .services
        .iter()
        .position(|x| x.name == "frontend")
        .unwrap();
    let providers: std::collections::BTreeSet<u32> = t
        .replicas
        .iter()
        .filter(|r| r.service.index() == frontend)
        .map(|r| t.nodes[r.node.index()].provider.0)
        .collect();
    assert!(
        providers.len() >= 2,
        "frontend replicas on providers {providers:?}"
    );
}

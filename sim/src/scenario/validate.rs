//! Semantic validation of a parsed [`ScenarioSpec`]: references, cycles, ranges, units and
//! placement feasibility. Returns the first problem found as an [`Issue`] with its field path; the
//! loader adds the file name and line. Every rule here has a test in `sim/tests/validation.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::schema::*;
use crate::time::SimDuration;
use crate::topology::Topology;

/// One validation failure: field path, what is wrong, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Field path such as `services[3].depends_on[0]`.
    pub path: String,
    /// What is wrong with the value found.
    pub problem: String,
    /// What would have been accepted.
    pub expected: String,
}

impl Issue {
    /// Builds an issue.
    pub fn new(
        path: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Issue {
        Issue {
            path: path.into(),
            problem: problem.into(),
            expected: expected.into(),
        }
    }
}

type Check = Result<(), Issue>;

/// Checks every semantic rule; the first failure is returned.
pub fn validate(spec: &ScenarioSpec) -> Check {
    header(spec)?;
    match spec.scenario.model {
        ModelKind::Renewal => renewal(spec),
        ModelKind::Cluster => {
            if spec.renewal.is_some() {
                return Err(Issue::new(
                    "renewal",
                    "a [renewal] section in a cluster scenario",
                    "no [renewal] section unless scenario.model = \"renewal\"",
                ));
            }
            clock(spec)?;
            providers_regions_nodes(spec)?;
            services(spec)?;
            dependency_cycles(spec)?;
            load_balancer(spec)?;
            traffic(spec)?;
            faults(spec)?;
            actions(spec)?;
            reward(spec)?;
            // Placement must succeed now so that it cannot fail at run time.
            Topology::build(spec).map(|_| ())
        }
    }
}

fn finite_positive(path: &str, value: f64, what: &str) -> Check {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Issue::new(
            path,
            format!("{what} is {value}"),
            format!("a finite number > 0 ({what})"),
        ))
    }
}

fn finite_non_negative(path: &str, value: f64, what: &str) -> Check {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Issue::new(
            path,
            format!("{what} is {value}"),
            format!("a finite number >= 0 ({what})"),
        ))
    }
}

fn ratio(path: &str, value: f64, what: &str) -> Check {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Issue::new(
            path,
            format!("{what} is {value}"),
            format!("a {what} in [0, 1]"),
        ))
    }
}

fn unique<'a>(names: impl Iterator<Item = (String, &'a str)>, what: &str) -> Check {
    let mut seen = BTreeMap::new();
    for (path, name) in names {
        if let Some(first) = seen.insert(name, path.clone()) {
            return Err(Issue::new(
                path,
                format!("duplicate {what} name `{name}` (first defined at `{first}`)"),
                format!("unique {what} names"),
            ));
        }
    }
    Ok(())
}

fn header(spec: &ScenarioSpec) -> Check {
    let h = &spec.scenario;
    if h.name.trim().is_empty() {
        return Err(Issue::new(
            "scenario.name",
            "empty name",
            "a non-empty scenario name",
        ));
    }
    if h.horizon.0 == 0 {
        return Err(Issue::new(
            "scenario.horizon",
            "horizon is 0",
            "a horizon > 0 such as \"6h\"",
        ));
    }
    Ok(())
}

fn renewal(spec: &ScenarioSpec) -> Check {
    let Some(r) = &spec.renewal else {
        return Err(Issue::new(
            "renewal",
            "missing [renewal] section",
            "a [renewal] section with components and process when scenario.model = \"renewal\"",
        ));
    };
    if r.components == 0 || r.components > u64::from(u32::MAX) + 1 {
        return Err(Issue::new(
            "renewal.components",
            format!("{} components", r.components),
            "between 1 and 2^32 components",
        ));
    }
    r.process.validate().map_err(|e| {
        let field = if e.starts_with("up") {
            "up"
        } else if e.starts_with("down") {
            "down"
        } else {
            ""
        };
        let path = if field.is_empty() {
            "renewal.process".to_string()
        } else {
            format!("renewal.process.{field}")
        };
        Issue::new(path, e, "valid up and down distributions")
    })?;
    Ok(())
}

fn multiple_of_tick(path: &str, value: SimDuration, tick: SimDuration) -> Check {
    if value.0 == 0 || !value.0.is_multiple_of(tick.0) {
        return Err(Issue::new(
            path,
            format!(
                "{} ms is not a positive multiple of the tick ({} ms)",
                value.0, tick.0
            ),
            "a positive multiple of scenario.tick",
        ));
    }
    Ok(())
}

fn clock(spec: &ScenarioSpec) -> Check {
    let h = &spec.scenario;
    if h.tick.0 == 0 {
        return Err(Issue::new(
            "scenario.tick",
            "tick is 0",
            "a tick > 0 such as \"5s\"",
        ));
    }
    multiple_of_tick("scenario.scrape_interval", h.scrape_interval, h.tick)?;
    multiple_of_tick("scenario.decision_interval", h.decision_interval, h.tick)?;
    if h.horizon.0 < h.decision_interval.0 {
        return Err(Issue::new(
            "scenario.horizon",
            format!(
                "horizon ({} s) is shorter than the decision interval ({} s)",
                h.horizon.as_secs_f64(),
                h.decision_interval.as_secs_f64()
            ),
            "a horizon at least as long as scenario.decision_interval",
        ));
    }
    Ok(())
}

fn providers_regions_nodes(spec: &ScenarioSpec) -> Check {
    if spec.providers.is_empty() {
        return Err(Issue::new(
            "providers",
            "no providers",
            "at least one [[providers]] entry",
        ));
    }
    unique(
        spec.providers
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("providers[{i}].name"), p.name.as_str())),
        "provider",
    )?;
    if spec.regions.is_empty() {
        return Err(Issue::new(
            "regions",
            "no regions",
            "at least one [[regions]] entry",
        ));
    }
    unique(
        spec.regions
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("regions[{i}].name"), r.name.as_str())),
        "region",
    )?;
    let providers: BTreeSet<&str> = spec.providers.iter().map(|p| p.name.as_str()).collect();
    for (i, r) in spec.regions.iter().enumerate() {
        if !providers.contains(r.provider.as_str()) {
            return Err(Issue::new(
                format!("regions[{i}].provider"),
                format!("unknown provider `{}`", r.provider),
                format!("one of the providers: {}", join(&providers)),
            ));
        }
        if r.zones.is_empty() {
            return Err(Issue::new(
                format!("regions[{i}].zones"),
                "no zones",
                "at least one zone name",
            ));
        }
    }
    unique(
        spec.regions.iter().enumerate().flat_map(|(i, r)| {
            r.zones
                .iter()
                .enumerate()
                .map(move |(j, z)| (format!("regions[{i}].zones[{j}]"), z.as_str()))
        }),
        "zone",
    )?;
    let zones: BTreeSet<&str> = spec
        .regions
        .iter()
        .flat_map(|r| r.zones.iter().map(String::as_str))
        .collect();
    if spec.node_pools.is_empty() {
        return Err(Issue::new(
            "node_pools",
            "no node pools",
            "at least one [[node_pools]] entry",
        ));
    }
    for (i, p) in spec.node_pools.iter().enumerate() {
        let at = |f: &str| format!("node_pools[{i}].{f}");
        if !zones.contains(p.zone.as_str()) {
            return Err(Issue::new(
                at("zone"),
                format!("unknown zone `{}`", p.zone),
                "the name of a zone listed in [[regions]]",
            ));
        }
        if p.count == 0 {
            return Err(Issue::new(at("count"), "count is 0", "at least 1 node"));
        }
        finite_positive(&at("cpu_cores"), p.cpu_cores, "CPU cores")?;
        if p.memory_bytes == 0 {
            return Err(Issue::new(
                at("memory_bytes"),
                "memory is 0 bytes",
                "memory_bytes > 0",
            ));
        }
        if p.disk_bytes == 0 {
            return Err(Issue::new(
                at("disk_bytes"),
                "disk is 0 bytes",
                "disk_bytes > 0",
            ));
        }
        finite_non_negative(
            &at("price_usd_per_hour"),
            p.price_usd_per_hour,
            "price in USD per hour",
        )?;
    }
    Ok(())
}

fn join(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}

fn services(spec: &ScenarioSpec) -> Check {
    if spec.services.is_empty() {
        return Err(Issue::new(
            "services",
            "no services",
            "at least one [[services]] entry",
        ));
    }
    unique(
        spec.services
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("services[{i}].name"), s.name.as_str())),
        "service",
    )?;
    let names: BTreeSet<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    let regions: BTreeSet<&str> = spec.regions.iter().map(|r| r.name.as_str()).collect();
    for (i, s) in spec.services.iter().enumerate() {
        let at = |f: &str| format!("services[{i}].{f}");
        if s.replicas == 0 {
            return Err(Issue::new(
                at("replicas"),
                "0 replicas",
                "at least 1 replica",
            ));
        }
        if let Some(max) = s.max_replicas
            && max < s.replicas
        {
            return Err(Issue::new(
                at("max_replicas"),
                format!("max_replicas {max} is below replicas {}", s.replicas),
                "max_replicas >= replicas",
            ));
        }
        for (j, r) in s.regions.iter().enumerate() {
            if !regions.contains(r.as_str()) {
                return Err(Issue::new(
                    format!("services[{i}].regions[{j}]"),
                    format!("unknown region `{r}`"),
                    format!("one of the regions: {}", join(&regions)),
                ));
            }
        }
        let mut deps = BTreeSet::new();
        for (j, d) in s.depends_on.iter().enumerate() {
            let path = format!("services[{i}].depends_on[{j}]");
            if !names.contains(d.as_str()) {
                return Err(Issue::new(
                    path,
                    format!("unknown service `{d}`"),
                    "the name of a service defined in [[services]]",
                ));
            }
            if !deps.insert(d.as_str()) {
                return Err(Issue::new(
                    path,
                    format!("`{d}` listed twice"),
                    "each dependency listed once",
                ));
            }
        }
        finite_positive(
            &at("calls_per_request"),
            s.calls_per_request,
            "calls per request",
        )?;
        finite_positive(
            &at("capacity_rps"),
            s.capacity_rps,
            "capacity in requests per second",
        )?;
        finite_positive(
            &at("base_latency_seconds"),
            s.base_latency_seconds,
            "base latency in seconds",
        )?;
        finite_positive(
            &at("timeout_seconds"),
            s.timeout_seconds,
            "timeout in seconds",
        )?;
        if s.timeout_seconds <= s.base_latency_seconds {
            return Err(Issue::new(
                at("timeout_seconds"),
                format!(
                    "timeout {} s is not above the base latency {} s",
                    s.timeout_seconds, s.base_latency_seconds
                ),
                "timeout_seconds > base_latency_seconds",
            ));
        }
        finite_positive(&at("cpu_cores"), s.cpu_cores, "CPU cores per replica")?;
        if s.memory_bytes == 0 {
            return Err(Issue::new(
                at("memory_bytes"),
                "memory is 0 bytes",
                "memory_bytes > 0",
            ));
        }
        if let Some(limit) = s.memory_limit_bytes
            && limit < s.memory_bytes
        {
            return Err(Issue::new(
                at("memory_limit_bytes"),
                format!("limit {limit} is below memory_bytes {}", s.memory_bytes),
                "memory_limit_bytes >= memory_bytes",
            ));
        }
        if let Some(rep) = &s.replication {
            if !regions.contains(rep.standby_region.as_str()) {
                return Err(Issue::new(
                    at("replication.standby_region"),
                    format!("unknown region `{}`", rep.standby_region),
                    format!("one of the regions: {}", join(&regions)),
                ));
            }
            if s.regions.is_empty() || s.regions.contains(&rep.standby_region) {
                return Err(Issue::new(
                    at("replication.standby_region"),
                    format!(
                        "standby region `{}` may also hold the primary replicas",
                        rep.standby_region
                    ),
                    "services.regions listing the primary regions, none of them the standby region",
                ));
            }
            ratio(
                &at("replication.write_ratio"),
                rep.write_ratio,
                "write ratio",
            )?;
            finite_non_negative(
                &at("replication.base_lag_seconds"),
                rep.base_lag_seconds,
                "replication lag in seconds",
            )?;
        }
        finite_positive(
            &at("slo.latency_p99_seconds"),
            s.slo.latency_p99_seconds,
            "p99 latency objective in seconds",
        )?;
        ratio(&at("slo.error_ratio"), s.slo.error_ratio, "error ratio")?;
    }
    Ok(())
}

/// Depth-first search for a cycle in `depends_on`; the error names the whole cycle.
fn dependency_cycles(spec: &ScenarioSpec) -> Check {
    let index: BTreeMap<&str, usize> = spec
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let n = spec.services.len();
    // 0 = unvisited, 1 = on the stack, 2 = done
    let mut state = vec![0u8; n];
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        // stack of (service, next dependency position)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (s, ref mut next)) = stack.last_mut() {
            let deps = &spec.services[s].depends_on;
            if *next >= deps.len() {
                state[s] = 2;
                stack.pop();
                continue;
            }
            let j = *next;
            *next += 1;
            let d = index[deps[j].as_str()];
            if state[d] == 1 {
                let from = stack.iter().position(|&(x, _)| x == d).unwrap_or(0);
                let mut names: Vec<&str> = stack[from..]
                    .iter()
                    .map(|&(x, _)| spec.services[x].name.as_str())
                    .collect();
                names.push(spec.services[d].name.as_str());
                return Err(Issue::new(
                    format!("services[{s}].depends_on[{j}]"),
                    format!("dependency cycle {}", names.join(" -> ")),
                    "services.depends_on forming a directed acyclic graph",
                ));
            }
            if state[d] == 0 {
                state[d] = 1;
                stack.push((d, 0));
            }
        }
    }
    Ok(())
}

fn load_balancer(spec: &ScenarioSpec) -> Check {
    let lb = &spec.load_balancer;
    multiple_of_tick(
        "load_balancer.health_check_interval",
        lb.health_check_interval,
        spec.scenario.tick,
    )?;
    if lb.failure_threshold == 0 {
        return Err(Issue::new(
            "load_balancer.failure_threshold",
            "threshold is 0",
            "at least 1 failed check",
        ));
    }
    Ok(())
}

fn traffic(spec: &ScenarioSpec) -> Check {
    let t = &spec.traffic;
    if t.entries.is_empty() {
        return Err(Issue::new(
            "traffic.entries",
            "no entry services",
            "at least one [[traffic.entries]] entry",
        ));
    }
    let names: BTreeSet<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    unique(
        t.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("traffic.entries[{i}].service"), e.service.as_str())),
        "entry service",
    )?;
    for (i, e) in t.entries.iter().enumerate() {
        if !names.contains(e.service.as_str()) {
            return Err(Issue::new(
                format!("traffic.entries[{i}].service"),
                format!("unknown service `{}`", e.service),
                "the name of a service defined in [[services]]",
            ));
        }
        finite_positive(
            &format!("traffic.entries[{i}].base_rps"),
            e.base_rps,
            "request rate per second",
        )?;
    }
    ratio(
        "traffic.daily_amplitude_ratio",
        t.daily_amplitude_ratio,
        "amplitude ratio",
    )?;
    ratio("traffic.noise_ratio", t.noise_ratio, "noise ratio")?;
    if t.peak_at.0 >= SimDuration::from_secs(86_400).0 {
        return Err(Issue::new(
            "traffic.peak_at",
            format!("{} s is not a time of day", t.peak_at.as_secs_f64()),
            "a time of day below \"24h\"",
        ));
    }
    if !(1..=10).contains(&t.retry.max_attempts) {
        return Err(Issue::new(
            "traffic.retry.max_attempts",
            format!("{} attempts", t.retry.max_attempts),
            "between 1 and 10 attempts (1 = no retries)",
        ));
    }
    Ok(())
}

/// Whether `name` is an entity of `kind` in the scenario's initial topology.
fn target_exists(spec: &ScenarioSpec, kind: TargetKind, name: &str) -> bool {
    match kind {
        TargetKind::Provider => spec.providers.iter().any(|p| p.name == name),
        TargetKind::Region => spec.regions.iter().any(|r| r.name == name),
        TargetKind::Zone => spec
            .regions
            .iter()
            .any(|r| r.zones.iter().any(|z| z == name)),
        TargetKind::Service => spec.services.iter().any(|s| s.name == name),
        TargetKind::Node => crate::topology::node_name_exists(spec, name),
        TargetKind::Replica => spec.services.iter().any(|s| {
            name.strip_prefix(s.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|i| i.parse::<u32>().ok())
                .is_some_and(|i| i < s.replicas)
        }),
    }
}

fn faults(spec: &ScenarioSpec) -> Check {
    let f = &spec.faults;
    finite_positive(
        "faults.rate_multiplier",
        f.rate_multiplier,
        "rate multiplier",
    )?;
    let providers: BTreeSet<&str> = spec.providers.iter().map(|p| p.name.as_str()).collect();
    for (i, p) in f.processes.iter().enumerate() {
        if let Some(prov) = &p.provider
            && !providers.contains(prov.as_str())
        {
            return Err(Issue::new(
                format!("faults.processes[{i}].provider"),
                format!("unknown provider `{prov}`"),
                format!("one of the providers: {}", join(&providers)),
            ));
        }
        p.up.validate().map_err(|e| {
            Issue::new(
                format!("faults.processes[{i}].up"),
                e,
                "a valid distribution",
            )
        })?;
        p.down.validate().map_err(|e| {
            Issue::new(
                format!("faults.processes[{i}].down"),
                e,
                "a valid distribution",
            )
        })?;
    }
    let entries: BTreeSet<&str> = spec
        .traffic
        .entries
        .iter()
        .map(|e| e.service.as_str())
        .collect();
    for (i, s) in f.scripted.iter().enumerate() {
        let at = |x: &str| format!("faults.scripted[{i}].{x}");
        let kind = s.kind.target_kind();
        if !target_exists(spec, kind, &s.target) {
            return Err(Issue::new(
                at("target"),
                format!(
                    "no {kind:?} named `{}` for a {} fault",
                    s.target,
                    s.kind.name()
                )
                .to_lowercase(),
                format!(
                    "the name of a {} in the scenario",
                    format!("{kind:?}").to_lowercase()
                ),
            ));
        }
        if s.kind == FaultKind::LoadSurge && !entries.contains(s.target.as_str()) {
            return Err(Issue::new(
                at("target"),
                format!("`{}` is not an entry service", s.target),
                "a service listed in [[traffic.entries]]",
            ));
        }
        if s.at.0 >= spec.scenario.horizon.0 {
            return Err(Issue::new(
                at("at"),
                format!("onset {} s is not before the horizon", s.at.as_secs_f64()),
                "an onset before scenario.horizon",
            ));
        }
        if s.duration.0 == 0 {
            return Err(Issue::new(
                at("duration"),
                "duration is 0",
                "a duration > 0",
            ));
        }
    }
    let e = &f.effects;
    finite_non_negative(
        "faults.effects.memory_leak_bytes_per_second",
        e.memory_leak_bytes_per_second,
        "leak rate in bytes per second",
    )?;
    finite_non_negative("faults.effects.cpu_hog_cores", e.cpu_hog_cores, "CPU cores")?;
    finite_non_negative(
        "faults.effects.network_delay_seconds",
        e.network_delay_seconds,
        "delay in seconds",
    )?;
    ratio(
        "faults.effects.packet_loss_ratio",
        e.packet_loss_ratio,
        "packet loss ratio",
    )?;
    ratio(
        "faults.effects.bad_deploy_error_ratio",
        e.bad_deploy_error_ratio,
        "error ratio",
    )?;
    for (path, v) in [
        (
            "faults.effects.load_surge_multiplier",
            e.load_surge_multiplier,
        ),
        (
            "faults.effects.retry_storm_multiplier",
            e.retry_storm_multiplier,
        ),
    ] {
        if !(v.is_finite() && v >= 1.0) {
            return Err(Issue::new(
                path,
                format!("multiplier is {v}"),
                "a finite multiplier >= 1",
            ));
        }
    }
    Ok(())
}

fn actions(spec: &ScenarioSpec) -> Check {
    let a = &spec.actions;
    for (name, o) in [
        ("restart_replica", &a.restart_replica),
        ("restart_service", &a.restart_service),
        ("scale_out", &a.scale_out),
        ("scale_in", &a.scale_in),
        ("reallocate", &a.reallocate),
        ("failover", &a.failover),
        ("rollback", &a.rollback),
        ("replace_node", &a.replace_node),
        ("shed_load", &a.shed_load),
    ] {
        if let Some(d) = o.duration
            && d.0 == 0
        {
            return Err(Issue::new(
                format!("actions.{name}.duration"),
                "duration is 0 (no action is instant)",
                "a duration > 0",
            ));
        }
        if let Some(c) = o.cost_usd {
            finite_non_negative(&format!("actions.{name}.cost_usd"), c, "cost in USD")?;
        }
        if let Some(p) = o.success_probability {
            ratio(
                &format!("actions.{name}.success_probability"),
                p,
                "probability",
            )?;
        }
    }
    if let Some(r) = a.shed_ratio
        && !(r > 0.0 && r <= 1.0)
    {
        return Err(Issue::new(
            "actions.shed_ratio",
            format!("ratio is {r}"),
            "a shed ratio in (0, 1]",
        ));
    }
    Ok(())
}

fn reward(spec: &ScenarioSpec) -> Check {
    let r = &spec.reward;
    finite_non_negative(
        "reward.slo_violation_usd_per_request",
        r.slo_violation_usd_per_request,
        "USD per request",
    )?;
    finite_non_negative("reward.infra_cost_weight", r.infra_cost_weight, "weight")?;
    finite_non_negative("reward.action_cost_weight", r.action_cost_weight, "weight")?;
    finite_non_negative(
        "reward.data_loss_usd_per_write",
        r.data_loss_usd_per_write,
        "USD per write",
    )?;
    Ok(())
}

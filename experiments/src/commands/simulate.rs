//! `mend simulate`: run one scenario with no agent (every decision is the no-op) and print the
//! ground-truth summary; optionally record the trace, or replay the exogenous events of one.

use std::process::ExitCode;

use anyhow::{Result, bail};
use mend_sim::renewal::run_renewal;
use mend_sim::scenario::ModelKind;
use mend_sim::time::SimTime;
use mend_sim::{Scenario, Simulation};
use serde::Serialize;

use crate::cli::SimulateArgs;
use crate::{progress, scenarios, traces};

/// Runs the command.
pub fn run(args: &SimulateArgs) -> Result<ExitCode> {
    let scenario = scenarios::load(&args.scenario)?;
    match scenario.model() {
        ModelKind::Renewal => simulate_renewal(&scenario, args),
        ModelKind::Cluster => simulate_cluster(&scenario, args),
    }
}

fn simulate_renewal(scenario: &Scenario, args: &SimulateArgs) -> Result<ExitCode> {
    if args.trace.is_some() || args.replay.is_some() {
        bail!(
            "--trace and --replay apply to cluster scenarios; `{}` is a renewal model",
            scenario.name()
        );
    }
    let Some(config) = scenario.renewal() else {
        bail!(
            "{}: a renewal model needs a [renewal] section",
            scenario.origin()
        );
    };
    let report = run_renewal(config, scenario.horizon(), args.common.seed);
    print(&report, args.json, |r| {
        vec![
            ("scenario", scenario.name().to_string()),
            ("seed", args.common.seed.to_string()),
            ("components", r.components.to_string()),
            ("horizon", r.horizon.to_string()),
            ("events processed", r.events.to_string()),
            ("failures", r.failures.to_string()),
            (
                "availability (time-weighted)",
                format!(
                    "{:.6} ± {:.6} (1 s.e.)",
                    r.availability, r.availability_std_error
                ),
            ),
            (
                "analytic availability",
                format!("{:.6}", r.analytic_availability),
            ),
        ]
    })
}

fn simulate_cluster(scenario: &Scenario, args: &SimulateArgs) -> Result<ExitCode> {
    let seed = args.common.seed;
    let mut sim = match &args.replay {
        Some(path) => Simulation::replay(scenario, seed, &traces::read(path)?),
        None => Simulation::new(scenario, seed),
    };
    let horizon = sim.horizon();
    let minutes = horizon.millis().div_ceil(60_000);
    let bar = progress::bar(minutes, scenario.name(), "sim-min", args.common.quiet);
    let mut records = sim.take_trace();
    while !sim.is_finished() {
        let next = SimTime::from_millis((sim.now().millis() / 60_000 + 1) * 60_000).min(horizon);
        sim.run_until(next);
        if args.trace.is_some() {
            records.extend(sim.take_trace());
        }
        bar.set_position(sim.now().millis() / 60_000);
        if next >= horizon {
            break;
        }
    }
    bar.finish_and_clear();
    if let Some(path) = &args.trace {
        records.extend(sim.take_trace());
        traces::write(path, &records)?;
    }
    let summary = sim.summary();
    print(&summary, args.json, |s| {
        let mut rows = vec![
            ("scenario", s.scenario.clone()),
            ("seed", s.seed.to_string()),
            ("simulated", format!("{:.0} s", s.simulated_seconds)),
            (
                "availability (request-weighted)",
                format!("{:.6}", s.availability),
            ),
            ("uptime (time-weighted)", format!("{:.6}", s.uptime)),
            ("incidents (> 1 min)", s.incidents.to_string()),
            (
                "requests at entry services",
                format!("{:.0}", s.requests_total),
            ),
            ("reward", format!("{:.2}", s.reward)),
        ];
        let faults: u64 = s.faults_by_kind.values().sum();
        rows.push(("faults", faults.to_string()));
        for (kind, count) in &s.faults_by_kind {
            rows.push(("", format!("{count} x {kind}")));
        }
        rows
    })
}

/// Prints `value` as pretty JSON, or as a two-column table built by `rows`.
fn print<T: Serialize>(
    value: &T,
    json: bool,
    rows: impl FnOnce(&T) -> Vec<(&'static str, String)>,
) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        let rows = rows(value);
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, val) in rows {
            println!("{key:<width$}  {val}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! Trace records: every exogenous event (fault onsets and ends) and every action with its outcome,
//! as serde values with a `type` tag, one JSON object per line when written by the CLI. The sim
//! does no I/O: [`crate::world::Simulation::take_trace`] drains the records. Fault onsets are the
//! exogenous part: [`crate::world::Simulation::replay`] schedules them instead of drawing faults.
//!
//! Stochastic replica faults are drawn per replica *seat* ([`SeatRef`]), whether or not the seat
//! is occupied, so the trace records every seat onset: a [`TraceRecord::FaultOnset`] with its
//! `seat` when the seat held a replica, a [`TraceRecord::EmptySeatOnset`] when it did not. A
//! replay resolves each seat onset against the replaying run's own replicas, so a policy that
//! keeps a seat the recorded policy had scaled away still meets that seat's faults. [`onsets`]
//! gives the part of a trace that no policy can change (format 2; format 1 had no seats).

use serde::{Deserialize, Serialize};

use crate::actions::ActionKind;
use crate::scenario::schema::FaultKind;

/// Version of the trace format; bump on any change to the records below.
pub const TRACE_FORMAT_VERSION: u32 = 2;

/// Where a fault came from. A replayed fault keeps the origin recorded in its trace, so a
/// replay reproduces the original onset records exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultOrigin {
    /// Drawn from a `[[faults.processes]]` renewal process.
    Stochastic,
    /// A `[[faults.scripted]]` entry.
    Scripted,
}

/// How a fault ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndCause {
    /// Its duration ran out.
    Expired,
    /// A recovery action ended it.
    Repaired,
}

/// A replica seat: the `ordinal`-th replica of `service` that is not removed (in creation order)
/// when an onset fires. Seats `0..replicas` hold the initial replicas; seats up to the service's
/// `max_replicas` can only be filled by scale-outs. A seat process of a provider-filtered fault
/// process (`provider`) hits the seat's replica only while it runs on a node of that provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatRef {
    /// Service name.
    pub service: String,
    /// Rank among the service's replicas that are not removed, from 0.
    pub ordinal: u32,
    /// The fault process's provider filter, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// One trace record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TraceRecord {
    /// First record of every trace.
    Header {
        /// [`TRACE_FORMAT_VERSION`].
        format_version: u32,
        /// Scenario name.
        scenario: String,
        /// Master seed.
        seed: u64,
    },
    /// A fault starts (exogenous).
    FaultOnset {
        /// Simulated time, ms.
        at_ms: u64,
        /// Fault id, in onset order.
        fault: u32,
        /// Fault kind.
        kind: FaultKind,
        /// Target entity name.
        target: String,
        /// Nominal duration (if no action ends it), ms.
        duration_ms: u64,
        /// Where it came from.
        origin: FaultOrigin,
        /// The replica seat a seat process drew this onset for (stochastic replica faults only):
        /// a replay resolves the seat again instead of the target's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat: Option<SeatRef>,
    },
    /// A seat process's onset on a seat that held no replica (or none on the process's
    /// provider): nothing failed in this run, but a replay whose policy fills the seat fails
    /// that replica (exogenous; always from a stochastic process).
    EmptySeatOnset {
        /// Simulated time, ms.
        at_ms: u64,
        /// Fault kind.
        kind: FaultKind,
        /// The empty seat.
        seat: SeatRef,
        /// Nominal duration the fault would have had, ms.
        duration_ms: u64,
    },
    /// A fault ends.
    FaultEnd {
        /// Simulated time, ms.
        at_ms: u64,
        /// Fault id.
        fault: u32,
        /// Why it ended.
        cause: EndCause,
    },
    /// An action was accepted.
    ActionApplied {
        /// Simulated time, ms.
        at_ms: u64,
        /// Action id, in apply order.
        action: u32,
        /// Action kind.
        kind: ActionKind,
        /// Target entity name (and destination for moves, as `target->destination`).
        target: String,
        /// Cost charged, USD.
        cost_usd: f64,
    },
    /// An action completed.
    ActionOutcome {
        /// Simulated time, ms.
        at_ms: u64,
        /// Action id.
        action: u32,
        /// Whether it succeeded.
        success: bool,
    },
}

/// What an onset hits: a named entity, or a replica seat resolved when the onset fires.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OnsetTarget {
    /// An entity by name (scripted faults and every non-replica process).
    Entity(String),
    /// A replica seat (stochastic replica faults).
    Seat(SeatRef),
}

/// The policy-independent content of an onset record: the same in every run of one seed (and in
/// every replay of its trace), whatever the actions. Which replica a seat onset hit, the fault id
/// and whether the seat was empty depend on the actions, so they are left out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Onset {
    /// Simulated time, ms.
    pub at_ms: u64,
    /// Fault kind.
    pub kind: FaultKind,
    /// What it hits.
    pub target: OnsetTarget,
    /// Nominal duration, ms.
    pub duration_ms: u64,
    /// Where it came from.
    pub origin: FaultOrigin,
}

impl TraceRecord {
    /// Whether the record is exogenous (an onset: [`TraceRecord::FaultOnset`] or
    /// [`TraceRecord::EmptySeatOnset`]). Compare runs with [`TraceRecord::onset`], not the
    /// records themselves: a seat onset's record depends on the seat's occupant.
    pub fn is_exogenous(&self) -> bool {
        self.onset().is_some()
    }

    /// The policy-independent content of an onset record; `None` for other records.
    pub fn onset(&self) -> Option<Onset> {
        match self {
            TraceRecord::FaultOnset {
                at_ms,
                kind,
                target,
                duration_ms,
                origin,
                seat,
                ..
            } => Some(Onset {
                at_ms: *at_ms,
                kind: *kind,
                target: match seat {
                    Some(seat) => OnsetTarget::Seat(seat.clone()),
                    None => OnsetTarget::Entity(target.clone()),
                },
                duration_ms: *duration_ms,
                origin: *origin,
            }),
            TraceRecord::EmptySeatOnset {
                at_ms,
                kind,
                seat,
                duration_ms,
            } => Some(Onset {
                at_ms: *at_ms,
                kind: *kind,
                target: OnsetTarget::Seat(seat.clone()),
                duration_ms: *duration_ms,
                origin: FaultOrigin::Stochastic,
            }),
            _ => None,
        }
    }
}

/// The onsets of a trace in record order: what every replay of it schedules, equal for two
/// runs of one seed whatever their actions (BRIEF §3.2).
pub fn onsets(records: &[TraceRecord]) -> Vec<Onset> {
    records.iter().filter_map(TraceRecord::onset).collect()
}

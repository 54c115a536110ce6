//! Trace records: every exogenous event (fault onsets and ends) and every action with its outcome,
//! as serde values with a `type` tag, one JSON object per line when written by the CLI. The sim
//! does no I/O: [`crate::world::Simulation::take_trace`] drains the records. Fault onsets are the
//! exogenous part: [`crate::world::Simulation::replay`] schedules them instead of drawing faults.

use serde::{Deserialize, Serialize};

use crate::actions::ActionKind;
use crate::scenario::schema::FaultKind;

/// Version of the trace format; bump on any change to the records below.
pub const TRACE_FORMAT_VERSION: u32 = 1;

/// Where a fault came from. A replayed fault keeps the origin recorded in its trace, so a
/// replay reproduces the original onset records exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

impl TraceRecord {
    /// Whether the record is exogenous (independent of the actions taken).
    pub fn is_exogenous(&self) -> bool {
        matches!(self, TraceRecord::FaultOnset { .. })
    }
}

//! Trace files: the simulator's trace records as JSON Lines, one record per line, written
//! atomically; read back with errors that name the file and the line; and the scenario a trace was
//! recorded on, found from its header.

use std::path::Path;

use anyhow::{Context, Result, bail};
use mend_sim::Scenario;
use mend_sim::trace::{TRACE_FORMAT_VERSION, TraceRecord};

use crate::output::write_atomic;

/// Folders searched, in order, for `<name>.toml` when a trace's scenario is not a built-in.
pub const SCENARIO_FOLDERS: [&str; 2] = ["scenarios", "scenarios/eval"];

/// The scenario of a trace: `explicit` (a file or built-in name) if given, else the header's
/// scenario name as a built-in or as `<name>.toml` in one of [`SCENARIO_FOLDERS`]. Returns the
/// argument it loaded and the scenario; errors name `origin` and what to pass instead. (Whether the
/// scenario matches the trace is checked by [`crate::plots::resimulate::check_scenario`].)
pub fn scenario_of(
    records: &[TraceRecord],
    explicit: Option<&str>,
    origin: &str,
) -> Result<(String, Scenario)> {
    if let Some(arg) = explicit {
        return Ok((arg.to_string(), crate::scenarios::load(arg)?));
    }
    let Some(TraceRecord::Header { scenario, .. }) = records.first() else {
        bail!("{origin}:1: the first record is not a header; expected {{\"type\":\"header\",...}}");
    };
    if crate::scenarios::builtin_names().contains(&scenario.as_str()) {
        return Ok((scenario.clone(), crate::scenarios::load(scenario)?));
    }
    for folder in SCENARIO_FOLDERS {
        let path = Path::new(folder).join(format!("{scenario}.toml"));
        if path.is_file() {
            let arg = path.display().to_string();
            return Ok((arg.clone(), crate::scenarios::load(&arg)?));
        }
    }
    bail!(
        "{origin}:1: the trace's scenario `{scenario}` is not a built-in and no {scenario}.toml is in {}; \
         pass its file with --scenario",
        SCENARIO_FOLDERS.join(" or ")
    )
}

/// Serialises records as JSON Lines.
pub fn to_jsonl(records: &[TraceRecord]) -> Result<String> {
    let mut out = String::new();
    for record in records {
        out.push_str(&serde_json::to_string(record).context("cannot serialise a trace record")?);
        out.push('\n');
    }
    Ok(out)
}

/// Writes records to `path` (whole or not at all).
pub fn write(path: &Path, records: &[TraceRecord]) -> Result<()> {
    write_atomic(path, to_jsonl(records)?.as_bytes())
        .with_context(|| format!("cannot write the trace {}", path.display()))
}

/// Reads a trace file; checks the header's format version.
pub fn read(path: &Path) -> Result<Vec<TraceRecord>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the trace {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// Parses JSON Lines text; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<TraceRecord>> {
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: TraceRecord = serde_json::from_str(line).with_context(|| {
            format!("{origin}:{}: not a trace record (expected one JSON object per line with a `type` field)", index + 1)
        })?;
        records.push(record);
    }
    match records.first() {
        Some(TraceRecord::Header { format_version, .. })
            if *format_version == TRACE_FORMAT_VERSION =>
        {
            Ok(records)
        }
        Some(TraceRecord::Header { format_version, .. }) => bail!(
            "{origin}:1: trace format version {format_version}; expected {TRACE_FORMAT_VERSION}"
        ),
        Some(_) => bail!(
            "{origin}:1: the first record is not a header; expected {{\"type\":\"header\",...}}"
        ),
        None => bail!("{origin}: empty trace; expected a header record first"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors_name_the_line() {
        let records = vec![TraceRecord::Header {
            format_version: TRACE_FORMAT_VERSION,
            scenario: "tiny".into(),
            seed: 3,
        }];
        let text = to_jsonl(&records).unwrap();
        assert_eq!(parse(&text, "t.jsonl").unwrap(), records);

        let bad = format!("{text}{{\"type\":\"nonsense\"}}\n");
        let err = format!("{:#}", parse(&bad, "t.jsonl").unwrap_err());
        assert!(err.contains("t.jsonl:2"), "{err}");

        let err = format!("{:#}", parse("", "e.jsonl").unwrap_err());
        assert!(err.contains("e.jsonl: empty trace"), "{err}");

        let wrong = text.replace(
            &format!("\"format_version\":{TRACE_FORMAT_VERSION}"),
            "\"format_version\":99",
        );
        let err = format!("{:#}", parse(&wrong, "w.jsonl").unwrap_err());
        assert!(err.contains("version 99"), "{err}");
    }
}

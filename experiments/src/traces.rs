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

/// Parses JSON Lines text; `origin` names the file in errors. The header is checked first, so a
/// trace of another format version is refused by its version, not by the first record this
/// version cannot read.
pub fn parse(text: &str, origin: &str) -> Result<Vec<TraceRecord>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((first, header)) = lines.next() else {
        bail!("{origin}: empty trace; expected a header record first");
    };
    check_header(header, &format!("{origin}:{}", first + 1))?;
    let mut records = Vec::new();
    for (index, line) in std::iter::once((first, header)).chain(lines) {
        let record: TraceRecord = serde_json::from_str(line).with_context(|| {
            format!("{origin}:{}: not a trace record (expected one JSON object per line with a `type` field)", index + 1)
        })?;
        records.push(record);
    }
    Ok(records)
}

/// Checks that `line` (at `place`, `file:line`) is a header of [`TRACE_FORMAT_VERSION`].
fn check_header(line: &str, place: &str) -> Result<()> {
    let value: serde_json::Value = serde_json::from_str(line).with_context(|| {
        format!(
            "{place}: not a trace record (expected one JSON object per line with a `type` field)"
        )
    })?;
    if value.get("type").and_then(|t| t.as_str()) != Some("header") {
        bail!("{place}: the first record is not a header; expected {{\"type\":\"header\",...}}");
    }
    match value.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(TRACE_FORMAT_VERSION) => Ok(()),
        Some(v) => bail!(
            "{place}: trace format version {v}; this build reads version {TRACE_FORMAT_VERSION} \
             (version 2 records the replica seat of every fault onset, empty seats included), so \
             record the episode again with this build"
        ),
        None => bail!(
            "{place}: header field `format_version`: expected an unsigned integer ({TRACE_FORMAT_VERSION})"
        ),
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
        assert!(
            err.contains("w.jsonl:1") && err.contains("version 99"),
            "{err}"
        );
        let err = format!("{:#}", parse(&bad[text.len()..], "n.jsonl").unwrap_err());
        assert!(
            err.contains("n.jsonl:1: the first record is not a header"),
            "{err}"
        );
    }

    /// A format-1 trace (before replica seats) is refused by its version, naming the file and
    /// the version expected, even though its records would still parse.
    #[test]
    fn a_format_1_trace_is_refused_by_version() {
        let old = concat!(
            "{\"type\":\"header\",\"format_version\":1,\"scenario\":\"tiny\",\"seed\":17}\n",
            "{\"type\":\"fault_onset\",\"at_ms\":5,\"fault\":0,\"kind\":\"process_crash\",",
            "\"target\":\"api-0\",\"duration_ms\":9,\"origin\":\"stochastic\"}\n",
        );
        let err = format!("{:#}", parse(old, "old.jsonl").unwrap_err());
        assert!(
            err.contains("old.jsonl:1")
                && err.contains("version 1")
                && err.contains(&format!("reads version {TRACE_FORMAT_VERSION}")),
            "{err}"
        );
    }
}

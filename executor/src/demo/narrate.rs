//! The demo's terminal lines: what the executor sees (replicas going down, memory above the limit,
//! healthy again), what it decides (the proposal's reason, each guard's verdict, the outcome and
//! how long verification took), how the traffic follows the instances, and a heartbeat with the
//! client load every few seconds. Each line starts with the seconds since the demo began.
//!
//! With `quiet`, only the lines the caller marks as always shown are written (fault injected,
//! per-fault result, summary). Writing goes to any `Write` (the terminal, or a buffer in tests);
//! a failed write (a closed pipe) is ignored: the demo goes on and stops cleanly.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::decision::{Action, ActionKind, GuardVerdict, Outcome, Verdict};
use crate::observe::Readings;

use super::audit_tail::TailedDecision;
use super::follow::TargetChange;
use super::metrics::{BUCKETS, Counters};
use super::session::Tick;

/// How one replica looks in the executor's metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplicaHealth {
    /// `up` is 1 and memory is below the threshold (or not measured).
    Healthy,
    /// `up` is 0 or missing.
    Down,
    /// Memory at or above the threshold (the share of the limit).
    MemoryHigh(f64),
}

impl ReplicaHealth {
    /// How replica `replica` of `service` looks in `readings`.
    pub fn of(readings: &Readings, service: &str, replica: usize, memory_threshold: f64) -> Self {
        if !readings.replica_up(service, replica) {
            return ReplicaHealth::Down;
        }
        match readings.replica_value(service, replica, "memory_utilization") {
            Some(m) if m >= memory_threshold => ReplicaHealth::MemoryHigh(m),
            _ => ReplicaHealth::Healthy,
        }
    }

    fn same_kind(self, other: Self) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// An action in words: `restart web-0`, `scale web to 4`, `fail over web to web-b`.
pub fn describe_action(a: &Action) -> String {
    let s = &a.service;
    let one = |verb: &str, r: &Option<usize>| match r {
        Some(r) => format!("{verb} {s}-{r}"),
        None => format!("{verb} every replica of {s}"),
    };
    match &a.kind {
        ActionKind::Noop => "no-op".to_owned(),
        ActionKind::Restart { replica } => one("restart", replica),
        ActionKind::Stop { replica } => one("stop", replica),
        ActionKind::Start { replica } => one("start", replica),
        ActionKind::ScaleTo { replicas } => format!("scale {s} to {replicas}"),
        ActionKind::FailOver { to } => format!("fail over {s} to {to}"),
        ActionKind::Cordon { node } => format!("cordon node {node}"),
        ActionKind::Drain { node } => format!("drain node {node}"),
    }
}

/// The guards' verdicts in words: `all 7 guards allow`, or the ones that did not allow.
pub fn describe_guards(verdicts: &[GuardVerdict]) -> String {
    let objections: Vec<String> = verdicts
        .iter()
        .filter_map(|v| match &v.verdict {
            Verdict::Allow => None,
            Verdict::Deny { reason } => Some(format!("{} DENIES ({reason})", v.guard)),
            Verdict::Replace { reason, by } => Some(format!(
                "{} replaces it by `{}` ({reason})",
                v.guard,
                describe_action(by)
            )),
        })
        .collect();
    if objections.is_empty() {
        format!("all {} guards allow", verdicts.len())
    } else {
        objections.join("; ")
    }
}

/// One decision record in words, or `None` for a no-op.
pub fn describe_decision(d: &TailedDecision) -> Option<String> {
    let decision = &d.decision;
    if decision.action.is_noop() {
        return None;
    }
    let field = |k: &str| decision.fields.get(k);
    let reason = field("reason").and_then(|v| v.as_str()).unwrap_or("");
    let source = decision_source(&decision.fields);
    let confidence = field("act_probability")
        .and_then(serde_json::Value::as_f64)
        .map(|p| format!(", P(act) {p:.2}"))
        .unwrap_or_default();
    let outcome = match &decision.outcome {
        Outcome::Verified => match field("verify_ms").and_then(serde_json::Value::as_u64) {
            Some(ms) => format!("done, verified healthy after {ms} ms"),
            None => "done, verified".to_owned(),
        },
        Outcome::Applied => "done (not verified)".to_owned(),
        Outcome::DryRun => "dry run: recorded only".to_owned(),
        // A guard's refusal is already in the verdicts.
        Outcome::NotActed { .. }
            if !decision
                .verdicts
                .iter()
                .all(|v| v.verdict == Verdict::Allow) =>
        {
            "not carried out".to_owned()
        }
        Outcome::NotActed { reason } => format!("not carried out: {reason}"),
        Outcome::Failed { error } => format!("FAILED: {error}"),
    };
    // The rule's reasons already start with `rule:`.
    let why = if reason.starts_with(source) {
        reason.to_owned()
    } else {
        format!("{source}: {reason}")
    };
    Some(format!(
        "decision #{}: {} [{why}{confidence}] | {} | {outcome}",
        d.seq,
        describe_action(&decision.action),
        describe_guards(&decision.verdicts),
    ))
}

/// Who proposed a decision: its `source` field (`rule`, `baseline runbook`, ...), with a policy
/// file's path left out (`policy`).
pub fn decision_source(fields: &BTreeMap<String, serde_json::Value>) -> &str {
    match fields.get("source").and_then(|v| v.as_str()) {
        Some(s) if s.starts_with("policy ") => "policy",
        Some(s) => s,
        None => "?",
    }
}

/// Client-side load over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadWindow {
    /// Requests per second.
    pub rate_per_s: f64,
    /// Share of requests that failed.
    pub error_ratio: f64,
    /// Upper bound of the histogram bucket holding the 99th percentile latency, seconds
    /// (`None` without requests; infinite above the last bucket).
    pub p99_at_most_s: Option<f64>,
}

impl LoadWindow {
    /// The load between two snapshots of the counters `seconds` apart.
    pub fn between(before: &Counters, after: &Counters, seconds: f64) -> Self {
        let requests = after.requests.saturating_sub(before.requests);
        let errors = after.errors.saturating_sub(before.errors);
        let p99_at_most_s = (requests > 0).then(|| {
            let wanted = (requests as f64 * 0.99).ceil() as u64;
            BUCKETS
                .iter()
                .zip(after.bucket_counts.iter().zip(&before.bucket_counts))
                .find(|(_, (a, b))| a.saturating_sub(**b) >= wanted)
                .map_or(f64::INFINITY, |(bound, _)| *bound)
        });
        LoadWindow {
            rate_per_s: requests as f64 / seconds.max(1e-9),
            error_ratio: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            p99_at_most_s,
        }
    }
}

impl std::fmt::Display for LoadWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "load {:.1} req/s, {:.1} % errors",
            self.rate_per_s,
            100.0 * self.error_ratio
        )?;
        match self.p99_at_most_s {
            Some(p) if p.is_finite() => write!(f, ", p99 <= {:.0} ms", p * 1000.0),
            Some(_) => write!(f, ", p99 > {:.0} s", BUCKETS[BUCKETS.len() - 1]),
            None => Ok(()),
        }
    }
}

/// Writes the demo's lines (see the module doc).
pub struct Narrator {
    out: Box<dyn Write + Send>,
    quiet: bool,
    start: Instant,
    service: String,
    memory_threshold: f64,
    health: BTreeMap<usize, ReplicaHealth>,
    heartbeat: Duration,
    last_beat: Instant,
    beat_counters: Counters,
}

impl std::fmt::Debug for Narrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Narrator")
            .field("quiet", &self.quiet)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Narrator {
    /// Narrates `service`, whose replicas are unhealthy at `memory_threshold` of their memory
    /// limit, to `out`; a heartbeat line every `heartbeat` (not when quiet).
    pub fn new(
        out: Box<dyn Write + Send>,
        quiet: bool,
        service: &str,
        memory_threshold: f64,
        heartbeat: Duration,
    ) -> Self {
        Narrator {
            out,
            quiet,
            start: Instant::now(),
            service: service.to_owned(),
            memory_threshold,
            health: BTreeMap::new(),
            heartbeat,
            last_beat: Instant::now(),
            beat_counters: Counters::default(),
        }
    }

    /// Whether only the always-shown lines are written.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Writes `line` with its time stamp, also when quiet.
    pub fn say(&mut self, line: &str) {
        let t = self.start.elapsed().as_secs_f64();
        let _ = writeln!(self.out, "[{t:6.1} s] {line}");
        let _ = self.out.flush();
    }

    /// Writes `line` with its time stamp unless quiet.
    pub fn detail(&mut self, line: &str) {
        if !self.quiet {
            self.say(line);
        }
    }

    /// Writes `text` as it is (banners, tables), also when quiet.
    pub fn plain(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Narrates one loop iteration: health changes the executor sees, its decisions, target
    /// changes, and the heartbeat when due; `load` is the load's counters now.
    pub fn tick(&mut self, tick: &Tick, load: &Counters) {
        self.health_changes(&tick.report.readings);
        for d in &tick.decisions {
            if let Some(line) = describe_decision(d) {
                self.detail(&line);
            }
        }
        if let Some(change) = &tick.change {
            self.target_change(change);
        }
        if self.last_beat.elapsed() >= self.heartbeat {
            let line = self.heartbeat_line(&tick.report.readings, load);
            self.detail(&line);
        }
    }

    fn health_changes(&mut self, readings: &Readings) {
        let n = readings.replicas.get(&self.service).copied().unwrap_or(0);
        let service = self.service.clone();
        let first_look = self.health.is_empty();
        for r in 0..n {
            let now = ReplicaHealth::of(readings, &service, r, self.memory_threshold);
            let before = self.health.insert(r, now);
            let name = format!("{service}-{r}");
            let line = match (before, now) {
                // The first iteration sets the baseline (before the first scrape, nothing is up).
                (None, _) if first_look => continue,
                (None, ReplicaHealth::Healthy) => format!("sees {name}: a new replica, up"),
                (Some(b), _) if b.same_kind(now) => continue,
                (_, ReplicaHealth::Healthy) => format!("sees {name} healthy"),
                (_, ReplicaHealth::Down) => format!("ALERT: sees {name} down (up is 0 or missing)"),
                (_, ReplicaHealth::MemoryHigh(m)) => format!(
                    "ALERT: sees {name} memory at {:.0} % of its limit (threshold {:.0} %)",
                    100.0 * m,
                    100.0 * self.memory_threshold
                ),
            };
            self.detail(&line);
        }
        self.health.retain(|&r, _| r < n);
    }

    fn target_change(&mut self, change: &TargetChange) {
        if change.before.load != change.after.load {
            let line = format!(
                "traffic follows the instances: load now -> {}",
                change.after.load_description
            );
            self.detail(&line);
        }
        if change.before.scrape != change.after.scrape {
            let line = format!(
                "Prometheus targets follow: {} replica ports",
                change.after.scrape.len()
            );
            self.detail(&line);
        }
    }

    fn heartbeat_line(&mut self, readings: &Readings, load: &Counters) -> String {
        let seconds = self.last_beat.elapsed().as_secs_f64();
        let window = LoadWindow::between(&self.beat_counters, load, seconds);
        self.beat_counters = load.clone();
        self.last_beat = Instant::now();
        let n = readings.replicas.get(&self.service).copied().unwrap_or(0);
        let up = (0..n)
            .filter(|&r| readings.replica_up(&self.service, r))
            .count();
        let memory: Vec<String> = (0..n)
            .map(|r| {
                readings
                    .replica_value(&self.service, r, "memory_utilization")
                    .map_or("?".to_owned(), |m| format!("{:.0}%", 100.0 * m))
            })
            .collect();
        format!(
            "{}: {up}/{n} up, memory {} of limit | {window}",
            self.service,
            memory.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use super::*;

    /// A `Write` whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    fn readings(up: &[f64], memory: &[f64]) -> Readings {
        let mut r = Readings::default();
        r.replicas.insert("web".into(), up.len());
        for (i, (&u, &m)) in up.iter().zip(memory).enumerate() {
            r.replica.insert(("web".into(), i, "up".into()), u);
            r.replica
                .insert(("web".into(), i, "memory_utilization".into()), m);
        }
        r
    }

    fn action(kind: ActionKind) -> Action {
        Action {
            namespace: "demo".into(),
            service: "web".into(),
            kind,
        }
    }

    #[test]
    fn actions_and_guard_verdicts_read_as_words() {
        let restart = action(ActionKind::Restart { replica: Some(2) });
        assert_eq!(describe_action(&restart), "restart web-2");
        assert_eq!(
            describe_action(&action(ActionKind::Restart { replica: None })),
            "restart every replica of web"
        );
        assert_eq!(
            describe_action(&action(ActionKind::ScaleTo { replicas: 4 })),
            "scale web to 4"
        );
        let allow = |g: &str| GuardVerdict {
            guard: g.into(),
            verdict: Verdict::Allow,
        };
        assert_eq!(
            describe_guards(&[allow("a"), allow("b")]),
            "all 2 guards allow"
        );
        let deny = GuardVerdict {
            guard: "cooldown".into(),
            verdict: Verdict::Deny {
                reason: "restart 1 s ago".into(),
            },
        };
        let replace = GuardVerdict {
            guard: "confidence".into(),
            verdict: Verdict::Replace {
                reason: "P(act) 0.6 < 0.9".into(),
                by: restart,
            },
        };
        assert_eq!(
            describe_guards(&[allow("a"), deny, replace]),
            "cooldown DENIES (restart 1 s ago); confidence replaces it by `restart web-2` \
             (P(act) 0.6 < 0.9)"
        );
    }

    #[test]
    fn load_window_rate_errors_and_p99_bucket() {
        let mut before = Counters::default();
        before.observe(0.001, false);
        let mut after = before.clone();
        // 99 fast answers and one slow timeout in the window: p99 is in the fast bucket.
        for _ in 0..99 {
            after.observe(0.003, false);
        }
        after.observe(0.7, true);
        let w = LoadWindow::between(&before, &after, 2.0);
        assert_eq!(w.rate_per_s, 50.0);
        assert_eq!(w.error_ratio, 0.01);
        assert_eq!(w.p99_at_most_s, Some(0.005));
        // Two slow ones out of 100: p99 is in the 1 s bucket.
        after.observe(0.7, true);
        let w = LoadWindow::between(&before, &after, 2.0);
        assert_eq!(w.p99_at_most_s, Some(1.0));
        assert_eq!(LoadWindow::between(&after, &after, 1.0).p99_at_most_s, None);
        assert!(format!("{w}").contains("2.0 % errors"), "{w}");
    }

    #[test]
    fn narrates_health_changes_after_the_first_look_only() {
        let out = Buffer::default();
        let mut n = Narrator::new(
            Box::new(out.clone()),
            false,
            "web",
            0.9,
            Duration::from_secs(3600),
        );
        // First look: nothing up yet (before the first scrape): no alert.
        n.health_changes(&readings(&[0.0, 0.0], &[0.0, 0.0]));
        assert_eq!(out.text(), "");
        n.health_changes(&readings(&[1.0, 1.0], &[0.1, 0.1]));
        n.health_changes(&readings(&[0.0, 1.0], &[0.1, 0.95]));
        n.health_changes(&readings(&[1.0, 1.0, 1.0], &[0.1, 0.1, 0.1]));
        let text = out.text();
        let lines: Vec<&str> = text.lines().map(|l| &l[11..]).collect();
        assert_eq!(
            lines,
            [
                "sees web-0 healthy",
                "sees web-1 healthy",
                "ALERT: sees web-0 down (up is 0 or missing)",
                "ALERT: sees web-1 memory at 95 % of its limit (threshold 90 %)",
                "sees web-0 healthy",
                "sees web-1 healthy",
                "sees web-2: a new replica, up",
            ]
        );
        // Quiet: nothing but what the caller says.
        let quiet_out = Buffer::default();
        let mut q = Narrator::new(
            Box::new(quiet_out.clone()),
            true,
            "web",
            0.9,
            Duration::ZERO,
        );
        q.health_changes(&readings(&[1.0], &[0.1]));
        q.health_changes(&readings(&[0.0], &[0.1]));
        q.say("fault");
        assert_eq!(quiet_out.text().lines().count(), 1);
    }

    #[test]
    fn decision_source_leaves_the_policy_path_out() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "source".to_owned(),
            serde_json::json!("policy /tmp/p.safetensors"),
        );
        assert_eq!(decision_source(&fields), "policy");
        fields.insert("source".to_owned(), serde_json::json!("baseline runbook"));
        assert_eq!(decision_source(&fields), "baseline runbook");
        assert_eq!(decision_source(&BTreeMap::new()), "?");
    }
}

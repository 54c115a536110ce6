//! The expert runbook: symptom -> ordered remediations, read from a TOML file in the spirit of Keptn's
//! remediation files (`remediation.yaml`: per problem type, a list of actions tried in order;
//! <https://keptn.sh/docs/0.19.x/automated_operations/remediation/>). Shipped file:
//! `agents/runbooks/default.toml` ([`DEFAULT_RUNBOOK`]); the schema is documented there.
//!
//! Semantics, per (symptom, entity): the symptom is a threshold on one feature, in the metric's raw
//! units (the column's transform undone, so `svc_latency_p99 > 0.5` means 0.5 s). Once it has held for
//! `for_s` (Prometheus `for` semantics), the first remediation runs; if the symptom still holds
//! `wait_s` after it, the next one runs (escalation), and so on; after the last one the runbook waits
//! for a human (no further action) until the symptom clears, which re-arms the list. A remediation
//! the env masks now is skipped (Keptn moves on when an action fails). An entity acted on is left
//! alone for that action's `wait_s` by every symptom. Symptoms earlier in the file have priority;
//! one action per decision.

use std::path::Path;

use mend_envs::{Action, Observation};
use mend_monitor::features::FeatureSchema;
use serde::Deserialize;

use super::view::{ActionKinds, ColumnRef, FeatureView, allowed};
use super::{BaselineError, Controller};

/// The shipped runbook (agents/runbooks/default.toml).
pub const DEFAULT_RUNBOOK: &str = include_str!("../../runbooks/default.toml");

/// A runbook file as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunbookSpec {
    /// Header.
    pub runbook: Header,
    /// Symptoms in priority order.
    pub remediation: Vec<Remediation>,
}

/// The `[runbook]` table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Name written in results.
    pub name: String,
    /// Seconds between decisions (the env's `decision_interval`).
    pub decision_interval_s: f64,
}

/// One `[[remediation]]`: a symptom and its ordered actions.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    /// Symptom name (for people and logs).
    pub symptom: String,
    /// `"service"` or `"node"`: which rows the symptom is checked on.
    pub entity: String,
    /// Feature column name (schema v1, e.g. `svc_error_ratio`).
    pub feature: String,
    /// `"<"` or `">"`.
    pub op: String,
    /// Threshold in the metric's raw units.
    pub threshold: f64,
    /// Seconds the symptom must hold before the first action.
    pub for_s: f64,
    /// Remediations, tried in order.
    pub actions: Vec<Step>,
}

/// One remediation step.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Action kind name (`restart_replica`, `scale_out`, ...).
    pub kind: String,
    /// Seconds to wait for the symptom to clear before escalating.
    pub wait_s: f64,
}

/// A validated symptom rule.
#[derive(Clone, Debug)]
struct Rule {
    on_services: bool,
    column: ColumnRef,
    above: bool,
    threshold: f64,
    for_s: f64,
    /// (kind index, wait seconds).
    steps: Vec<(usize, f64)>,
}

/// Escalation state of one (rule, entity).
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    held_for: Option<f64>,
    next_step: usize,
}

/// The runbook controller (see the module documentation).
#[derive(Clone, Debug)]
pub struct Runbook {
    name: String,
    dt: f64,
    view: FeatureView,
    kinds: ActionKinds,
    rules: Vec<Rule>,
    now: f64,
    /// `progress[rule][entity]`.
    progress: Vec<Vec<Progress>>,
    busy_until: Vec<f64>,
}

impl Runbook {
    /// Parses and validates runbook TOML `text`; `file` names it in errors.
    pub fn from_toml(
        text: &str,
        file: &str,
        schema: FeatureSchema,
        kind_names: Vec<String>,
    ) -> Result<Self, BaselineError> {
        let bad = |field: String, expected: &str, found: String| BaselineError::Runbook {
            file: file.to_string(),
            field,
            expected: expected.to_string(),
            found,
        };
        let spec: RunbookSpec = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            bad(
                line.map_or("(document)".into(), |l| format!("(line {l})")),
                "a runbook (see agents/runbooks/default.toml)",
                e.message().to_string(),
            )
        })?;
        let view = FeatureView::new(schema)?;
        let kinds = ActionKinds::new(kind_names);
        let nonneg = |field: String, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(bad(field, "a finite number >= 0", v.to_string()))
            }
        };
        let dt = spec.runbook.decision_interval_s;
        if !(dt.is_finite() && dt > 0.0) {
            return Err(bad(
                "runbook.decision_interval_s".into(),
                "a finite number > 0",
                dt.to_string(),
            ));
        }
        if spec.remediation.is_empty() {
            return Err(bad(
                "remediation".into(),
                "at least one [[remediation]]",
                "none".into(),
            ));
        }
        let mut rules = Vec::new();
        for (r, rem) in spec.remediation.iter().enumerate() {
            let at = |f: &str| format!("remediation[{r}].{f}");
            let on_services = match rem.entity.as_str() {
                "service" => true,
                "node" => false,
                other => {
                    return Err(bad(
                        at("entity"),
                        "\"service\" or \"node\"",
                        format!("{other:?}"),
                    ));
                }
            };
            let column = view.column(&rem.feature).map_err(|e| {
                bad(
                    at("feature"),
                    "a feature column of the schema",
                    e.to_string(),
                )
            })?;
            let above = match rem.op.as_str() {
                ">" => true,
                "<" => false,
                other => return Err(bad(at("op"), "\">\" or \"<\"", format!("{other:?}"))),
            };
            if !rem.threshold.is_finite() {
                return Err(bad(
                    at("threshold"),
                    "a finite number",
                    rem.threshold.to_string(),
                ));
            }
            let for_s = nonneg(at("for_s"), rem.for_s)?;
            if rem.actions.is_empty() {
                return Err(bad(at("actions"), "at least one action", "none".into()));
            }
            let mut steps = Vec::new();
            for (s, step) in rem.actions.iter().enumerate() {
                let kind = kinds.index(&step.kind).map_err(|e| {
                    bad(
                        at(&format!("actions[{s}].kind")),
                        "a known action kind",
                        e.to_string(),
                    )
                })?;
                steps.push((
                    kind,
                    nonneg(at(&format!("actions[{s}].wait_s")), step.wait_s)?,
                ));
            }
            rules.push(Rule {
                on_services,
                column,
                above,
                threshold: rem.threshold,
                for_s,
                steps,
            });
        }
        Ok(Self {
            name: spec.runbook.name,
            dt,
            view,
            kinds,
            progress: vec![Vec::new(); rules.len()],
            rules,
            now: 0.0,
            busy_until: Vec::new(),
        })
    }

    /// Reads and validates the runbook file at `path`.
    pub fn from_file(
        path: &Path,
        schema: FeatureSchema,
        kind_names: Vec<String>,
    ) -> Result<Self, BaselineError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
            file: file.clone(),
            source,
        })?;
        Self::from_toml(&text, &file, schema, kind_names)
    }

    /// The shipped default runbook.
    pub fn default_runbook(
        schema: FeatureSchema,
        kind_names: Vec<String>,
    ) -> Result<Self, BaselineError> {
        Self::from_toml(
            DEFAULT_RUNBOOK,
            "agents/runbooks/default.toml",
            schema,
            kind_names,
        )
    }

    /// The runbook's name.
    pub fn runbook_name(&self) -> &str {
        &self.name
    }
}

impl Controller for Runbook {
    const NAME: &'static str = "runbook";

    fn decide(
        &mut self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<Action, BaselineError> {
        let e = self.view.entities(obs)?;
        let n = e.n_entities();
        let now = self.now;
        self.busy_until.resize(n, 0.0);
        let mut action = 0;
        for (r, rule) in self.rules.iter().enumerate() {
            let progress = &mut self.progress[r];
            progress.resize(n, Progress::default());
            for (i, p) in progress.iter_mut().enumerate() {
                let row = e.row(i);
                if self.view.is_service(row) != rule.on_services {
                    continue;
                }
                let x = rule.column.raw(row);
                let holds = if rule.above {
                    x > rule.threshold
                } else {
                    x < rule.threshold
                };
                if !holds {
                    *p = Progress::default();
                    continue;
                }
                p.held_for = Some(p.held_for.map_or(0.0, |t| t + self.dt));
                let due = p.held_for.is_some_and(|t| t + 1e-9 >= rule.for_s);
                if action != 0 || !due || self.busy_until[i] > now + 1e-9 {
                    continue;
                }
                // Escalate through the steps, skipping those the env masks now.
                while let Some(&(kind, wait)) = rule.steps.get(p.next_step) {
                    p.next_step += 1;
                    let a = self.kinds.encode(i, kind);
                    if allowed(mask, a) {
                        action = a;
                        self.busy_until[i] = now + wait;
                        break;
                    }
                }
            }
        }
        self.now += self.dt;
        Ok(action)
    }

    fn reset(&mut self) {
        self.now = 0.0;
        self.busy_until.clear();
        for p in &mut self.progress {
            p.clear();
        }
    }
}

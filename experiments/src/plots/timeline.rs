//! Episode timelines: what happened in one recorded episode, over simulated time. The data
//! ([`Timeline`]: faults as spans per target entity, actions as marks with their outcome, alerts,
//! SLO violations per service) and the chart that draws one or several of them stacked on a shared
//! time axis, with the legend in its own column so it never covers data.
//!
//! ```text
//!   ┌ title ─────────────────────────────────────────────┐ ┌ legend ┐
//!   │ entity rows: fault bars, action marks, alert ticks │ │ kinds  │
//!   │ service rows: SLO met (green) / violated (red)     │ │        │
//!   └─────────────────────── time ───────────────────────┘ └────────┘
//! ```

use std::collections::BTreeSet;

use anyhow::{Result, anyhow};
use mend_sim::ActionKind;
use mend_sim::scenario::schema::FaultKind;
use mend_sim::trace::{EndCause, TraceRecord};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// A fault's span on its target.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpan {
    /// Fault id.
    pub id: u32,
    /// Fault kind (snake_case).
    pub kind: String,
    /// Target entity.
    pub target: String,
    /// Onset, seconds.
    pub start_s: f64,
    /// End, seconds; `None` if still active at the end of the trace.
    pub end_s: Option<f64>,
    /// Whether an action ended it.
    pub repaired: bool,
}

/// An action on its target.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionMark {
    /// Applied at, seconds.
    pub at_s: f64,
    /// Action kind (snake_case).
    pub kind: String,
    /// Target entity (the part before `->` for moves).
    pub target: String,
    /// Outcome; `None` if it had not completed by the end of the trace.
    pub success: Option<bool>,
}

/// An entity alerting at one observation (a detector fires at every observation while its
/// condition holds, so consecutive marks form a firing span).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMark {
    /// Observed at, seconds.
    pub at_s: f64,
    /// Entity it names.
    pub entity: String,
    /// `service`, `replica` or `node`.
    pub entity_kind: String,
    /// The service it concerns (the service itself, or a replica's service); `None` for a node.
    pub service: Option<String>,
}

/// One service's SLO violations.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSlo {
    /// Service name.
    pub service: String,
    /// Intervals (start, end) in seconds during which the service violated its SLO.
    pub violations: Vec<(f64, f64)>,
}

/// Everything a timeline shows of one episode.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Episode length, seconds.
    pub horizon_s: f64,
    /// Faults in onset order.
    pub faults: Vec<FaultSpan>,
    /// Actions in apply order.
    pub actions: Vec<ActionMark>,
    /// Alerts in time order (empty when no detector watched the re-run).
    pub alerts: Vec<AlertMark>,
    /// The detector whose alerts these are (`None`: no detector ran).
    pub detector: Option<String>,
    /// Seconds between the detector's observations (alerts closer than this are one firing span).
    pub alert_interval_s: f64,
    /// Services that violated their SLO at some time, with their violations (service order).
    pub slo: Vec<ServiceSlo>,
    /// Number of services in the scenario (those not in `slo` met their SLO throughout).
    pub services_total: usize,
    /// Whether `slo` is known (false for a timeline built from trace records alone).
    pub slo_known: bool,
}

impl Timeline {
    /// The faults and actions of trace records (SLO state unknown: see
    /// [`super::resimulate`]). `horizon_s` is the episode length.
    pub fn from_records(records: &[TraceRecord], horizon_s: f64) -> Timeline {
        let mut t = Timeline {
            horizon_s,
            ..Timeline::default()
        };
        for r in records {
            match r {
                TraceRecord::Header { scenario, seed, .. } => {
                    t.scenario = scenario.clone();
                    t.seed = *seed;
                }
                TraceRecord::FaultOnset {
                    at_ms,
                    fault,
                    kind,
                    target,
                    ..
                } => t.faults.push(FaultSpan {
                    id: *fault,
                    kind: kind.name().to_string(),
                    target: target.clone(),
                    start_s: *at_ms as f64 / 1000.0,
                    end_s: None,
                    repaired: false,
                }),
                // A seat onset on an empty seat: nothing failed in this episode.
                TraceRecord::EmptySeatOnset { .. } => {}
                TraceRecord::FaultEnd {
                    at_ms,
                    fault,
                    cause,
                } => {
                    if let Some(f) = t.faults.iter_mut().find(|f| f.id == *fault) {
                        f.end_s = Some(*at_ms as f64 / 1000.0);
                        f.repaired = *cause == EndCause::Repaired;
                    }
                }
                TraceRecord::ActionApplied {
                    at_ms,
                    kind,
                    target,
                    ..
                } => t.actions.push(ActionMark {
                    at_s: *at_ms as f64 / 1000.0,
                    kind: kind.name().to_string(),
                    target: target.split("->").next().unwrap_or(target).to_string(),
                    success: None,
                }),
                TraceRecord::ActionOutcome {
                    action, success, ..
                } => {
                    if let Some(a) = t.actions.get_mut(*action as usize) {
                        a.success = Some(*success);
                    }
                }
            }
        }
        t
    }

    /// Entities with a fault, in order of their first fault, then entities with only actions or
    /// node alerts, in order of their first event (so a row limit drops action-only rows first).
    /// Alerts on services and replicas are drawn on their service's row ([`Timeline::services`]).
    pub fn entities(&self) -> Vec<String> {
        let faults = by_time(
            self.faults
                .iter()
                .map(|f| (f.start_s, f.target.as_str()))
                .collect(),
        );
        let others = by_time(
            self.actions
                .iter()
                .map(|a| (a.at_s, a.target.as_str()))
                .chain(
                    self.alerts
                        .iter()
                        .filter(|a| a.service.is_none())
                        .map(|a| (a.at_s, a.entity.as_str())),
                )
                .collect(),
        );
        let mut out: Vec<String> = Vec::new();
        for (_, e) in faults.into_iter().chain(others) {
            if !out.iter().any(|x| x == e) {
                out.push(e.to_string());
            }
        }
        out
    }
}

impl Timeline {
    /// Services with a row in the SLO panel: those that violated their SLO (service order), then
    /// those that only alerted (order of first alert).
    pub fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = self.slo.iter().map(|s| s.service.clone()).collect();
        for a in &self.alerts {
            if let Some(service) = &a.service
                && !out.contains(service)
            {
                out.push(service.clone());
            }
        }
        out
    }

    /// Firing spans (start, end) in seconds on a row: the alerts of `row` as a node, or of `row`
    /// as a service together with its replicas. Observations at most one interval apart join one
    /// span, which lasts until the next observation after its last alert.
    pub fn alert_spans(&self, row: &str, as_service: bool) -> Vec<(f64, f64)> {
        let mut times: Vec<f64> = self
            .alerts
            .iter()
            .filter(|a| {
                if as_service {
                    a.service.as_deref() == Some(row)
                } else {
                    a.service.is_none() && a.entity == row
                }
            })
            .map(|a| a.at_s)
            .collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let step = if self.alert_interval_s > 0.0 {
            self.alert_interval_s
        } else {
            1.0
        };
        let mut spans: Vec<(f64, f64)> = Vec::new();
        for t in times {
            match spans.last_mut() {
                Some(last) if t <= last.1 + step * 0.5 => last.1 = t + step,
                _ => spans.push((t, t + step)),
            }
        }
        spans
    }
}

/// Events sorted by time (stable: ties keep their order).
fn by_time(mut events: Vec<(f64, &str)>) -> Vec<(f64, &str)> {
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events
}

/// At most this many rows per panel; the rest are summarised in the panel's title.
const MAX_ROWS: usize = 36;
/// Pixels per row.
const ROW_PX: u32 = 20;
/// Width of the legend column.
const LEGEND_PX: u32 = 230;

/// Colours of fault kinds, indexed like `FaultKind::ALL` (catalog order), so a kind has the same
/// colour in every plot: 16 of K. L. Kelly's "twenty-two colors of maximum contrast" (Color
/// Engineering 3(6), 1965), leaving out white, black and the red that marks SLO violations;
/// `process_hang` (added last to the catalog) takes Kelly's purplish red, next to the crash's purple.
const FAULT_COLOURS: [RGBColor; 16] = [
    RGBColor(0x87, 0x56, 0x92), // process_crash: purple
    RGBColor(0x2B, 0x3D, 0x26), // node_crash: olive green
    RGBColor(0xE6, 0x8F, 0xAC), // memory_leak: purplish pink
    RGBColor(0xF3, 0xC3, 0x00), // cpu_hog: yellow
    RGBColor(0x65, 0x45, 0x22), // disk_full: yellowish brown
    RGBColor(0xA1, 0xCA, 0xF1), // network_delay: light blue
    RGBColor(0x00, 0x67, 0xA5), // packet_loss: blue
    RGBColor(0x84, 0x84, 0x82), // partition: grey
    RGBColor(0xC2, 0xB2, 0x80), // zone_outage: buff
    RGBColor(0x88, 0x2D, 0x17), // region_outage: reddish brown
    RGBColor(0x60, 0x4E, 0x97), // control_plane_outage: violet
    RGBColor(0xF3, 0x84, 0x00), // bad_deploy: orange
    RGBColor(0x8D, 0xB6, 0x00), // dependency_failure: yellow green
    RGBColor(0xF9, 0x93, 0x79), // load_surge: yellowish pink
    RGBColor(0x00, 0x88, 0x56), // retry_storm: green
    RGBColor(0xB3, 0x44, 0x6C), // process_hang: purplish red
];

/// Colours of action kinds, indexed like `ActionKind::ALL` (dark or saturated, so marks show on bars).
const ACTION_COLOURS: [RGBColor; 9] = [
    RGBColor(0, 114, 178),   // restart_replica: blue
    RGBColor(51, 34, 136),   // restart_service: indigo
    RGBColor(110, 110, 110), // scale_out: grey
    RGBColor(180, 180, 180), // scale_in: light grey
    RGBColor(0, 158, 115),   // reallocate: bluish green
    RGBColor(204, 121, 167), // failover: reddish purple
    RGBColor(17, 119, 51),   // rollback: dark green
    RGBColor(0, 0, 0),       // replace_node: black
    RGBColor(230, 159, 0),   // shed_load: orange
];

/// SLO met (light green) and violated (crimson, unlike any fault colour).
const SLO_MET: RGBColor = RGBColor(0, 158, 115);
const SLO_VIOLATED: RGBColor = RGBColor(196, 30, 58);
/// Alert firing: a thin charcoal strip along the top of a row (a shape no fault or action uses).
const ALERT: RGBColor = RGBColor(45, 45, 45);
/// Vertical extent of an alert strip within a row (rows are one unit tall, centred on the row).
const ALERT_STRIP: (f64, f64) = (-0.46, -0.3);

/// One or more timelines stacked on a shared time axis.
#[derive(Debug)]
pub(crate) struct TimelineChart<'a> {
    timelines: &'a [(String, &'a Timeline)],
    /// Entity rows shared by every timeline (so a replay lines up with the recording).
    entities: Vec<String>,
    /// Service rows shared by every timeline.
    services: Vec<String>,
    fault_kinds: Vec<String>,
    action_kinds: Vec<String>,
    horizon_s: f64,
}

impl<'a> TimelineChart<'a> {
    /// The chart of `timelines` (title, timeline), drawn top to bottom.
    pub(crate) fn new(timelines: &'a [(String, &'a Timeline)]) -> Self {
        let mut entities: Vec<String> = Vec::new();
        let mut services: Vec<String> = Vec::new();
        let mut fault_kinds = BTreeSet::new();
        let mut action_kinds = BTreeSet::new();
        for (_, t) in timelines {
            for e in t.entities() {
                if !entities.contains(&e) {
                    entities.push(e);
                }
            }
            for s in t.services() {
                if !services.contains(&s) {
                    services.push(s);
                }
            }
            fault_kinds.extend(t.faults.iter().map(|f| f.kind.clone()));
            action_kinds.extend(t.actions.iter().map(|a| a.kind.clone()));
        }
        let horizon_s = timelines
            .iter()
            .map(|(_, t)| t.horizon_s)
            .fold(1.0, f64::max);
        Self {
            timelines,
            entities,
            services,
            fault_kinds: FaultKind::ALL
                .iter()
                .map(|k| k.name().to_string())
                .filter(|k| fault_kinds.contains(k))
                .collect(),
            action_kinds: ActionKind::ALL
                .iter()
                .map(|k| k.name().to_string())
                .filter(|k| action_kinds.contains(k))
                .collect(),
            horizon_s,
        }
    }

    /// Pixel height that gives every row [`ROW_PX`].
    pub(crate) fn height(&self) -> u32 {
        let per = self.panel_heights();
        let total: u32 = per.iter().map(|(a, b)| a + b + 50).sum();
        total.max(500)
    }

    /// Heights of the (entity panel, SLO panel) of each timeline.
    fn panel_heights(&self) -> Vec<(u32, u32)> {
        let rows = |n: usize| n.clamp(1, MAX_ROWS) as u32 * ROW_PX + 110;
        self.timelines
            .iter()
            .map(|_| (rows(self.entities.len()), rows(self.services.len())))
            .collect()
    }

    /// Time unit for the axis: hours for episodes over three hours, else minutes.
    fn unit(&self) -> (f64, &'static str) {
        if self.horizon_s > 3.0 * 3600.0 {
            (3600.0, "hours")
        } else {
            (60.0, "minutes")
        }
    }

    fn fault_colour(&self, kind: &str) -> RGBColor {
        let i = FaultKind::ALL
            .iter()
            .position(|k| k.name() == kind)
            .unwrap_or(0);
        FAULT_COLOURS[i]
    }

    fn action_colour(&self, kind: &str) -> RGBColor {
        let i = ActionKind::ALL
            .iter()
            .position(|k| k.name() == kind)
            .unwrap_or(0);
        ACTION_COLOURS[i]
    }
}

fn err(e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow!("timeline: {e}")
}

impl super::Draw for TimelineChart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        area.fill(&WHITE).map_err(|e| err(&e))?;
        let (w, _) = area.dim_in_pixel();
        let (main, legend) = area.split_horizontally(w.saturating_sub(LEGEND_PX));
        self.draw_legend(&legend)?;
        let mut rest = main;
        for ((title, timeline), (h_entities, h_slo)) in
            self.timelines.iter().zip(self.panel_heights())
        {
            let (block, below) = rest.split_vertically(h_entities + h_slo + 50);
            rest = below;
            let block = block
                .titled(
                    &format!(
                        "{title}: scenario {} seed {}",
                        timeline.scenario, timeline.seed
                    ),
                    ("sans-serif", 22),
                )
                .map_err(|e| err(&e))?;
            let (top, bottom) = block.split_vertically(h_entities);
            self.draw_entities(&top, timeline)?;
            self.draw_slo(&bottom, timeline)?;
        }
        Ok(())
    }
}

impl TimelineChart<'_> {
    /// A chart with one labelled row per name of `rows` (top to bottom) over the episode's time axis,
    /// its mesh drawn.
    fn rows_chart<'a, DB: DrawingBackend>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        caption: String,
        rows: &[&String],
    ) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
        let (scale, unit) = self.unit();
        let n = rows.len().max(1) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 16))
            .margin_left(10)
            .margin_right(20)
            .x_label_area_size(35)
            .y_label_area_size(190)
            .build_cartesian_2d(0.0..self.horizon_s / scale, (n - 0.5)..-0.5)
            .map_err(|e| err(&e))?;
        let labels: Vec<String> = rows.iter().map(|s| s.to_string()).collect();
        chart
            .configure_mesh()
            .y_labels(rows.len().max(1) * 2 + 1)
            .y_label_formatter(&|y| row_label(&labels, *y))
            .x_desc(format!("simulated time ({unit})"))
            .label_style(("sans-serif", 13))
            .disable_y_mesh()
            .draw()
            .map_err(|e| err(&e))?;
        Ok(chart)
    }

    /// Fault bars, action marks and alert ticks on one row per entity.
    fn draw_entities<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        t: &Timeline,
    ) -> Result<()> {
        let (scale, _) = self.unit();
        let rows: Vec<&String> = self.entities.iter().take(MAX_ROWS).collect();
        let hidden = self.entities.len() - rows.len();
        let caption = format!(
            "faults ({}) and actions ({}) per entity{}",
            t.faults.len(),
            t.actions.len(),
            if hidden > 0 {
                format!("; {hidden} more entities not shown")
            } else {
                String::new()
            }
        );
        let mut chart = self.rows_chart(area, caption, &rows)?;
        let row_of = |name: &str| rows.iter().position(|r| *r == name).map(|i| i as f64);
        let end = t.horizon_s;
        chart
            .draw_series(t.faults.iter().filter_map(|f| {
                let y = row_of(&f.target)?;
                let c = self.fault_colour(&f.kind);
                let x1 = f.end_s.unwrap_or(end).max(f.start_s + end * 0.002);
                Some(Rectangle::new(
                    [(f.start_s / scale, y - 0.22), (x1 / scale, y + 0.4)],
                    c.filled(),
                ))
            }))
            .map_err(|e| err(&e))?;
        for (i, row) in rows.iter().enumerate() {
            self.draw_alert_strips(&mut chart, t, row, false, i as f64)?;
        }
        for a in &t.actions {
            let Some(y) = row_of(&a.target) else { continue };
            let c = self.action_colour(&a.kind);
            let p = (a.at_s / scale, y + 0.09);
            match a.success {
                Some(true) => chart.draw_series([TriangleMarker::new(p, 7, c.filled())]),
                Some(false) => chart.draw_series([Cross::new(p, 6, c.stroke_width(3))]),
                None => chart.draw_series([TriangleMarker::new(p, 7, c.mix(0.5).filled())]),
            }
            .map_err(|e| err(&e))?;
        }
        Ok(())
    }

    /// One row per service that left its SLO: green while met, red while violated.
    fn draw_slo<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        t: &Timeline,
    ) -> Result<()> {
        let (scale, _) = self.unit();
        let rows: Vec<&String> = self.services.iter().take(MAX_ROWS).collect();
        let alerts = match &t.detector {
            Some(d) => format!(
                "; alerts of `{d}` on the service or its replicas: {} service(s)",
                t.services()
                    .iter()
                    .filter(|s| !t.alert_spans(s, true).is_empty())
                    .count()
            ),
            None => String::new(),
        };
        let caption = if !t.slo_known {
            "SLO state per service: not known (the trace could not be re-simulated)".to_string()
        } else if self.services.is_empty() {
            format!(
                "SLO state: all {} services met their SLO throughout{alerts}",
                t.services_total
            )
        } else {
            let shown = if self.services.len() > rows.len() {
                format!(" ({} rows shown)", rows.len())
            } else {
                String::new()
            };
            format!(
                "SLO state per service: {} of {} violated their SLO at some time{alerts}{shown}",
                t.slo.len(),
                t.services_total
            )
        };
        let mut chart = self.rows_chart(area, caption, &rows)?;
        if !t.slo_known {
            return Ok(());
        }
        let (green, red) = (SLO_MET.mix(0.35), SLO_VIOLATED);
        for (i, name) in rows.iter().enumerate() {
            let y = i as f64;
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y - 0.22), (t.horizon_s / scale, y + 0.4)],
                    green.filled(),
                )])
                .map_err(|e| err(&e))?;
            self.draw_alert_strips(&mut chart, t, name, true, y)?;
            let Some(s) = t.slo.iter().find(|s| &s.service == *name) else {
                continue;
            };
            chart
                .draw_series(s.violations.iter().map(|(a, b)| {
                    let b = b.max(a + t.horizon_s * 0.002);
                    Rectangle::new([(a / scale, y - 0.22), (b / scale, y + 0.4)], red.filled())
                }))
                .map_err(|e| err(&e))?;
        }
        Ok(())
    }

    /// The alert firing spans of `row` (as a service with its replicas, or as a node) as a strip
    /// along the top of row `y`.
    fn draw_alert_strips<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        t: &Timeline,
        row: &str,
        as_service: bool,
        y: f64,
    ) -> Result<()> {
        let (scale, _) = self.unit();
        let min_width = t.horizon_s * 0.002;
        chart
            .draw_series(t.alert_spans(row, as_service).into_iter().map(|(a, b)| {
                let b = b.min(t.horizon_s).max(a + min_width);
                Rectangle::new(
                    [
                        (a / scale, y + ALERT_STRIP.0),
                        (b / scale, y + ALERT_STRIP.1),
                    ],
                    ALERT.filled(),
                )
            }))
            .map_err(|e| err(&e))?;
        Ok(())
    }

    /// The legend column: fault kinds, action kinds and outcomes, alerts, SLO colours.
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let font = ("sans-serif", 14).into_font();
        let bold = ("sans-serif", 15).into_font();
        let mut y = 40;
        let heading = |area: &DrawingArea<DB, Shift>, text: &str, y: &mut i32| -> Result<()> {
            area.draw(&Text::new(text.to_string(), (8, *y), bold.clone()))
                .map_err(|e| err(&e))?;
            *y += 22;
            Ok(())
        };
        heading(area, "faults", &mut y)?;
        for k in &self.fault_kinds {
            let c = self.fault_colour(k);
            area.draw(&Rectangle::new([(10, y), (34, y + 12)], c.filled()))
                .map_err(|e| err(&e))?;
            area.draw(&Text::new(k.clone(), (42, y - 1), font.clone()))
                .map_err(|e| err(&e))?;
            y += 20;
        }
        y += 10;
        heading(area, "actions", &mut y)?;
        for k in &self.action_kinds {
            let c = self.action_colour(k);
            area.draw(&TriangleMarker::new((22, y + 6), 7, c.filled()))
                .map_err(|e| err(&e))?;
            area.draw(&Text::new(k.clone(), (42, y - 1), font.clone()))
                .map_err(|e| err(&e))?;
            y += 20;
        }
        area.draw(&TriangleMarker::new((22, y + 6), 7, BLACK.filled()))
            .map_err(|e| err(&e))?;
        area.draw(&Text::new(
            "succeeded (triangle)",
            (42, y - 1),
            font.clone(),
        ))
        .map_err(|e| err(&e))?;
        y += 20;
        area.draw(&Cross::new((22, y + 6), 6, BLACK.stroke_width(3)))
            .map_err(|e| err(&e))?;
        area.draw(&Text::new("failed (cross)", (42, y - 1), font.clone()))
            .map_err(|e| err(&e))?;
        y += 20;
        let detectors: BTreeSet<&str> = self
            .timelines
            .iter()
            .filter_map(|(_, t)| t.detector.as_deref())
            .collect();
        if !detectors.is_empty() {
            y += 10;
            heading(area, "alerts", &mut y)?;
            area.draw(&Rectangle::new([(10, y + 2), (34, y + 8)], ALERT.filled()))
                .map_err(|e| err(&e))?;
            area.draw(&Text::new(
                "firing (strip on top)",
                (42, y - 1),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
            y += 18;
            let names = detectors.into_iter().collect::<Vec<_>>().join(", ");
            area.draw(&Text::new(
                format!("detector: {names}"),
                (42, y - 1),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
            y += 18;
            area.draw(&Text::new("services: their own", (42, y - 1), font.clone()))
                .map_err(|e| err(&e))?;
            y += 16;
            area.draw(&Text::new(
                "and their replicas' alerts",
                (42, y - 1),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
            y += 20;
        }
        y += 10;
        heading(area, "SLO state", &mut y)?;
        for (text, c) in [
            ("met", SLO_MET.mix(0.35)),
            ("violated", SLO_VIOLATED.mix(1.0)),
        ] {
            area.draw(&Rectangle::new([(10, y), (34, y + 12)], c.filled()))
                .map_err(|e| err(&e))?;
            area.draw(&Text::new(text, (42, y - 1), font.clone()))
                .map_err(|e| err(&e))?;
            y += 20;
        }
        Ok(())
    }
}

/// The label of the row at `y` (labels sit at integer positions; others are blank).
fn row_label(labels: &[String], y: f64) -> String {
    let i = y.round();
    if (y - i).abs() < 1e-6 && i >= 0.0 {
        labels.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

//! The Kubernetes-style reactive controller: what a well-run cluster does without learning.
//!
//! Rules, in priority order (one action per decision; an entity just acted on is left alone for
//! `cooldown_s`, and its timers restart, as an alert's `for` clock restarts once it has been handled):
//! 1. **Liveness restart** (`restart_replica`): a service has replicas down (`svc_replicas_up_ratio`
//!    below 1) for `liveness_failure_threshold x liveness_period_s`. Defaults `periodSeconds = 10`,
//!    `failureThreshold = 3` are the Kubernetes probe defaults
//!    (<https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#configure-probes>).
//!    Repeated restarts of one service back off as kubelet's CrashLoopBackOff does: 10 s, doubling,
//!    capped at 300 s, reset after 10 min healthy
//!    (<https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts>).
//! 2. **Node replacement** (`replace_node`): `node_up` below 0.5 for `node_not_ready_s`; default 300 s is
//!    the `tolerationSeconds` the DefaultTolerationSeconds admission plugin gives `node.kubernetes.io/not-ready`
//!    (<https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions>).
//! 3. **Alert: errors** (`restart_service`): `svc_error_ratio > error_ratio_threshold` for `error_for_s`
//!    (Prometheus alerting rule `for` semantics: pending from the first true evaluation, firing once it
//!    has stayed true that long; <https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/>).
//! 4. **Alert: latency** (`scale_out`): `svc_latency_p99 > latency_slo_s` for `latency_for_s`.
//! 5. **HPA on CPU** (`scale_out` / `scale_in`): `desired = ceil(current * currentMetric / target)`,
//!    no change while `|currentMetric / target - 1| <= tolerance` (default 0.1), scale-down only to the
//!    highest recommendation of the last `scale_down_window_s` (default 300 s), scale-up without
//!    stabilisation (<https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details>,
//!    `#default-behavior`). The default scale-up limit (100 % or 4 pods per 15 s) never binds here: one
//!    decision adds at most one replica. `minReplicas` defaults to the count first observed (the
//!    operator's sizing; the first observation, before any scrape, is all zeros and is skipped),
//!    `maxReplicas` to `max_replicas`.

use mend_envs::{Action, Observation};
use serde::{Deserialize, Serialize};

use super::view::{ActionKinds, ColumnRef, FeatureView, allowed};
use super::{BaselineError, Controller};
use mend_monitor::features::FeatureSchema;

/// Settings of the reactive controller; every field has the documented Kubernetes/Prometheus default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReactiveConfig {
    /// Seconds between two decisions (the env's `decision_interval`; 30 s in the shipped scenarios).
    pub decision_interval_s: f64,
    /// Liveness probe `periodSeconds` (Kubernetes default 10).
    pub liveness_period_s: f64,
    /// Liveness probe `failureThreshold` (Kubernetes default 3).
    pub liveness_failure_threshold: u32,
    /// Seconds a node may be not ready before it is replaced (default toleration 300 s).
    pub node_not_ready_s: f64,
    /// Error-ratio alert threshold (5 %).
    pub error_ratio_threshold: f64,
    /// Error-ratio alert `for` duration (1 m).
    pub error_for_s: f64,
    /// p99 latency SLO in seconds for the latency alert.
    pub latency_slo_s: f64,
    /// Latency alert `for` duration (2 m).
    pub latency_for_s: f64,
    /// HPA target CPU utilisation (0.7).
    pub hpa_target_cpu: f64,
    /// HPA tolerance (0.1, `--horizontal-pod-autoscaler-tolerance`).
    pub hpa_tolerance: f64,
    /// HPA scale-down stabilisation window in seconds (300).
    pub hpa_scale_down_window_s: f64,
    /// HPA `maxReplicas`.
    pub max_replicas: u32,
    /// Seconds an entity is left alone after an action on it.
    pub cooldown_s: f64,
    /// Turns the HPA rule off (the other rules stay).
    pub hpa_enabled: bool,
    /// First CrashLoopBackOff delay between liveness restarts of one service (kubelet: 10 s).
    pub restart_backoff_initial_s: f64,
    /// CrashLoopBackOff cap (kubelet: 300 s).
    pub restart_backoff_max_s: f64,
    /// Healthy time after which the backoff resets (kubelet: 10 min).
    pub restart_backoff_reset_s: f64,
}

impl Default for ReactiveConfig {
    fn default() -> Self {
        Self {
            decision_interval_s: 30.0,
            liveness_period_s: 10.0,
            liveness_failure_threshold: 3,
            node_not_ready_s: 300.0,
            error_ratio_threshold: 0.05,
            error_for_s: 60.0,
            latency_slo_s: 0.5,
            latency_for_s: 120.0,
            hpa_target_cpu: 0.7,
            hpa_tolerance: 0.1,
            hpa_scale_down_window_s: 300.0,
            max_replicas: 10,
            cooldown_s: 60.0,
            hpa_enabled: true,
            restart_backoff_initial_s: 10.0,
            restart_backoff_max_s: 300.0,
            restart_backoff_reset_s: 600.0,
        }
    }
}

impl ReactiveConfig {
    /// The settings chosen by tuning on the `default` scenario's TRAINING seeds 0..8 (evaluation seeds
    /// start at 1000): mean return with the documented defaults -665, with these -483 (no-op -738).
    /// `cooldown_s` 60 -> 300 and the error alert's `for` 60 s -> 300 s stop restart storms while a
    /// dependency is failing; the HPA is off because its scale-ins undo the latency alert's
    /// scale-outs (-527 with it on). Re-run: `cargo run --release -p mend-agents --example cluster --
    /// --seeds 0 8 --agents reactive --reactive "cooldown_s = 300.0; error_for_s = 300.0"`.
    pub fn tuned() -> Self {
        Self {
            cooldown_s: 300.0,
            error_for_s: 300.0,
            hpa_enabled: false,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), BaselineError> {
        let positive = |field, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(BaselineError::Config {
                    field,
                    expected: "a finite number > 0",
                    found: v.to_string(),
                })
            }
        };
        positive("decision_interval_s", self.decision_interval_s)?;
        positive("liveness_period_s", self.liveness_period_s)?;
        positive("hpa_target_cpu", self.hpa_target_cpu)?;
        positive("latency_slo_s", self.latency_slo_s)?;
        positive("error_ratio_threshold", self.error_ratio_threshold)?;
        for (field, v) in [
            ("node_not_ready_s", self.node_not_ready_s),
            ("error_for_s", self.error_for_s),
            ("latency_for_s", self.latency_for_s),
            ("hpa_tolerance", self.hpa_tolerance),
            ("hpa_scale_down_window_s", self.hpa_scale_down_window_s),
            ("cooldown_s", self.cooldown_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(BaselineError::Config {
                    field,
                    expected: "a finite number >= 0",
                    found: v.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Columns the controller reads.
#[derive(Clone, Debug)]
struct Columns {
    up_ratio: ColumnRef,
    error_ratio: ColumnRef,
    latency: ColumnRef,
    cpu_mean: ColumnRef,
    replicas: ColumnRef,
    node_up: ColumnRef,
}

/// Action kinds the controller uses.
#[derive(Clone, Copy, Debug)]
struct Kinds {
    restart_replica: usize,
    restart_service: usize,
    scale_out: usize,
    scale_in: usize,
    replace_node: usize,
}

/// Timers of one entity row.
#[derive(Clone, Debug, Default)]
struct EntityTimers {
    /// Seconds the liveness condition (service replicas down, or node down) has held.
    down_for: Option<f64>,
    error_for: Option<f64>,
    latency_for: Option<f64>,
    cooldown_until: f64,
    min_replicas: Option<u32>,
    /// Liveness restarts since the service was last healthy for `restart_backoff_reset_s`.
    restarts: u32,
    /// Seconds the service has been fully up.
    healthy_for: f64,
    /// Earliest time of the next liveness restart (CrashLoopBackOff).
    next_restart_at: f64,
    /// HPA recommendations (time, desired replicas) within the scale-down window.
    recommendations: Vec<(f64, u32)>,
}

/// The reactive controller (see the module documentation for its rules).
#[derive(Clone, Debug)]
pub struct ReactiveController {
    config: ReactiveConfig,
    view: FeatureView,
    kinds: ActionKinds,
    cols: Columns,
    k: Kinds,
    now: f64,
    timers: Vec<EntityTimers>,
}

/// Advances a `for` timer: `None` while the condition is false, elapsed seconds while it holds.
fn tick(timer: &mut Option<f64>, holds: bool, dt: f64) {
    *timer = match (holds, *timer) {
        (false, _) => None,
        (true, None) => Some(0.0),
        (true, Some(t)) => Some(t + dt),
    };
}

fn reached(timer: Option<f64>, threshold: f64) -> bool {
    timer.is_some_and(|t| t + 1e-9 >= threshold)
}

impl ReactiveController {
    /// A controller reading `schema` rows and emitting `kind_names` actions.
    pub fn new(
        config: ReactiveConfig,
        schema: FeatureSchema,
        kind_names: Vec<String>,
    ) -> Result<Self, BaselineError> {
        config.validate()?;
        let view = FeatureView::new(schema)?;
        let kinds = ActionKinds::new(kind_names);
        let cols = Columns {
            up_ratio: view.column("svc_replicas_up_ratio")?,
            error_ratio: view.column("svc_error_ratio")?,
            latency: view.column("svc_latency_p99")?,
            cpu_mean: view.column("svc_replica_cpu_mean")?,
            replicas: view.column("svc_replica_count")?,
            node_up: view.column("node_up")?,
        };
        let k = Kinds {
            restart_replica: kinds.index("restart_replica")?,
            restart_service: kinds.index("restart_service")?,
            scale_out: kinds.index("scale_out")?,
            scale_in: kinds.index("scale_in")?,
            replace_node: kinds.index("replace_node")?,
        };
        Ok(Self {
            config,
            view,
            kinds,
            cols,
            k,
            now: 0.0,
            timers: Vec::new(),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &ReactiveConfig {
        &self.config
    }

    /// HPA's desired replica count for `current` replicas at mean CPU utilisation `cpu`.
    pub fn hpa_desired(&self, current: u32, cpu: f64) -> u32 {
        let ratio = cpu / self.config.hpa_target_cpu;
        if (ratio - 1.0).abs() <= self.config.hpa_tolerance {
            return current;
        }
        (f64::from(current) * ratio).ceil().max(0.0) as u32
    }
}

impl Controller for ReactiveController {
    const NAME: &'static str = "reactive";

    fn decide(
        &mut self,
        obs: &Observation,
        mask: Option<&[bool]>,
    ) -> Result<Action, BaselineError> {
        let e = self.view.entities(obs)?;
        let n = e.n_entities();
        self.timers.resize_with(n, EntityTimers::default);
        let c = &self.config;
        let dt = c.decision_interval_s;
        let now = self.now;
        let liveness = f64::from(c.liveness_failure_threshold) * c.liveness_period_s;
        // (priority, entity, kind) candidates; lowest priority number wins, then lowest row.
        let mut candidates: Vec<(u8, usize, usize)> = Vec::new();
        for i in 0..n {
            let row = e.row(i);
            let t = &mut self.timers[i];
            if self.view.is_service(row) {
                let current = self.cols.replicas.raw(row).round().max(0.0) as u32;
                // minReplicas: the first non-zero count seen (the first observation, before any
                // scrape, is all zeros).
                if t.min_replicas.is_none() && current > 0 {
                    t.min_replicas = Some(current);
                }
                let min_replicas = t.min_replicas.unwrap_or(1);
                let down = self.cols.up_ratio.raw(row) < 1.0 - 1e-6;
                tick(&mut t.down_for, down, dt);
                t.healthy_for = if down { 0.0 } else { t.healthy_for + dt };
                if t.healthy_for >= c.restart_backoff_reset_s {
                    t.restarts = 0;
                }
                tick(
                    &mut t.error_for,
                    self.cols.error_ratio.raw(row) > c.error_ratio_threshold,
                    dt,
                );
                tick(
                    &mut t.latency_for,
                    self.cols.latency.raw(row) > c.latency_slo_s,
                    dt,
                );
                if reached(t.down_for, liveness) && now + 1e-9 >= t.next_restart_at {
                    candidates.push((1, i, self.k.restart_replica));
                }
                if reached(t.error_for, c.error_for_s) {
                    candidates.push((3, i, self.k.restart_service));
                }
                if reached(t.latency_for, c.latency_for_s) && current < c.max_replicas {
                    candidates.push((4, i, self.k.scale_out));
                }
                if c.hpa_enabled {
                    let ratio = self.cols.cpu_mean.raw(row) / c.hpa_target_cpu;
                    let desired = if (ratio - 1.0).abs() <= c.hpa_tolerance {
                        current
                    } else {
                        (f64::from(current) * ratio).ceil() as u32
                    }
                    .clamp(min_replicas, c.max_replicas.max(min_replicas));
                    t.recommendations.push((now, desired));
                    t.recommendations
                        .retain(|&(at, _)| now - at <= c.hpa_scale_down_window_s + 1e-9);
                    let stabilised = t.recommendations.iter().map(|&(_, d)| d).max();
                    if desired > current {
                        candidates.push((5, i, self.k.scale_out));
                    } else if stabilised.is_some_and(|s| s < current) {
                        candidates.push((6, i, self.k.scale_in));
                    }
                }
            } else {
                tick(&mut t.down_for, self.cols.node_up.raw(row) < 0.5, dt);
                if reached(t.down_for, c.node_not_ready_s) {
                    candidates.push((2, i, self.k.replace_node));
                }
            }
        }
        candidates.sort();
        let chosen = candidates.into_iter().find(|&(_, i, kind)| {
            self.timers[i].cooldown_until <= now + 1e-9 && allowed(mask, self.kinds.encode(i, kind))
        });
        let action = match chosen {
            Some((_, i, kind)) => {
                let t = &mut self.timers[i];
                if kind == self.k.restart_replica {
                    let backoff =
                        c.restart_backoff_initial_s * 2f64.powi(t.restarts.min(30) as i32);
                    t.next_restart_at = now + backoff.min(c.restart_backoff_max_s);
                    t.restarts += 1;
                }
                t.cooldown_until = now + c.cooldown_s;
                t.down_for = None;
                t.error_for = None;
                t.latency_for = None;
                self.kinds.encode(i, kind)
            }
            None => 0,
        };
        self.now += dt;
        Ok(action)
    }

    fn reset(&mut self) {
        self.now = 0.0;
        self.timers.clear();
    }
}

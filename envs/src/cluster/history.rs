//! The env's own action history, per entity row: what feature schema v2's action columns
//! (`svc_action_age`, `svc_action_in_flight`, `svc_actions_recent` and the `node_` ones; see
//! `mend_monitor::features::history`) read. The env records the row of every simulator action it
//! applies, at the simulated time it applied it; whether the action still runs comes from the
//! simulator (`Simulation::service_action_running`, `node_action_running`), so "in flight" ends
//! exactly when the simulator completes the action. A reset forgets everything.

use mend_monitor::features::history::{ActionValues, EntityActions};
use mend_sim::Simulation;

use super::layout::{ActionLayout, Target};

/// The action starts of each entity row of the current episode.
#[derive(Clone, Debug, Default)]
pub(crate) struct RowHistory {
    rows: Vec<EntityActions>,
}

impl RowHistory {
    /// Forgets every action; `n_rows` rows, none acted on.
    pub(crate) fn reset(&mut self, n_rows: usize) {
        self.rows.clear();
        self.rows.resize(n_rows, EntityActions::default());
    }

    /// Records an action on row `row` started at `time_s` (simulated seconds).
    pub(crate) fn record(&mut self, row: usize, time_s: f64) {
        if let Some(r) = self.rows.get_mut(row) {
            r.record_start(time_s);
        }
    }

    /// The values of every row at `sim`'s current time, in row order, into `out`.
    pub(crate) fn values_into(
        &self,
        sim: &Simulation,
        layout: &ActionLayout,
        out: &mut Vec<ActionValues>,
    ) {
        let now = sim.now().as_secs_f64();
        out.clear();
        out.extend(layout.targets().iter().enumerate().map(|(i, target)| {
            let running = match *target {
                Target::Service(s) => sim.service_action_running(s),
                Target::Node(n) => sim.node_action_running(n),
            };
            self.rows
                .get(i)
                .map_or(ActionValues::NEVER, |r| r.values(now, running))
        }));
    }
}

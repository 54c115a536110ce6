//! Replica seats ([`SeatRef`] in traces): stochastic replica fault processes run per *seat*, not
//! per replica, so replicas created by scale-outs fail too while onset times stay exogenous. This
//! module owns the seat type, the seats a replica process covers, and the resolution of a seat to
//! the replica in it when an onset fires (drawn or replayed).
//!
//! Seat `k` of a service is its `k`-th replica that is not removed, in creation order, for `k`
//! below the service's `max_replicas`; a seat of a provider-filtered process is occupied only
//! while that replica runs on a node of the provider. Every seat has its own substream of the
//! Faults stream and runs whether or not it is occupied; an onset on an empty seat hits nothing
//! and is traced as [`crate::trace::TraceRecord::EmptySeatOnset`], so a replay under a policy
//! that fills the seat meets the fault.
//!
//! Substreams: a seat holding an initial replica that matches the process's provider filter keeps
//! the substream that replica had before seats existed, `process << 32 | replica index`, at its
//! place in the source order; every other seat gets `process << 32 | 1 << 31 | j`, `j` its rank
//! among the process's other seats (services in scenario order, then ordinals), and comes after
//! every other source. So a run that never scales sees exactly the faults it saw before.

use crate::scenario::schema::TargetKind;
use crate::topology::{ProviderId, ReplicaId, ServiceId, Topology};
use crate::trace::SeatRef;
use crate::world::{RepStatus, Simulation};

/// Flag in a substream index that marks the seats no initial replica of the process held.
pub(super) const OTHER_SEAT_FLAG: u64 = 1 << 31;

/// A replica seat with resolved ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seat {
    pub(crate) service: ServiceId,
    pub(crate) ordinal: u32,
    /// Only a replica on a node of this provider occupies the seat, if set.
    pub(crate) provider: Option<ProviderId>,
}

/// The seats of the initial replicas: `seats[r]` is initial replica `r`'s seat (its rank among
/// its service's initial replicas), for a process with the given provider filter.
pub(super) fn initial_seats(topo: &Topology, provider: Option<ProviderId>) -> Vec<Seat> {
    let mut next = vec![0u32; topo.services.len()];
    topo.replicas
        .iter()
        .map(|r| {
            let ordinal = next[r.service.index()];
            next[r.service.index()] += 1;
            Seat {
                service: r.service,
                ordinal,
                provider,
            }
        })
        .collect()
}

/// Every seat not in `covered` (the initial seats that keep a legacy source), in services'
/// scenario order then ordinal order.
pub(super) fn other_seats(
    topo: &Topology,
    provider: Option<ProviderId>,
    covered: &[Seat],
) -> Vec<Seat> {
    let mut taken: Vec<Vec<bool>> = topo
        .services
        .iter()
        .map(|s| vec![false; s.max_replicas as usize])
        .collect();
    for seat in covered {
        if let Some(t) = taken[seat.service.index()].get_mut(seat.ordinal as usize) {
            *t = true;
        }
    }
    let mut seats = Vec::new();
    for (si, taken) in taken.iter().enumerate() {
        for (ordinal, _) in taken.iter().enumerate().filter(|(_, t)| !**t) {
            seats.push(Seat {
                service: ServiceId(si as u32),
                ordinal: ordinal as u32,
                provider,
            });
        }
    }
    seats
}

/// The seat a trace names, resolved in `topo`; `None` when the service or the provider does not
/// exist here (the seat is then never occupied).
pub(crate) fn resolve(topo: &Topology, seat: &SeatRef) -> Option<Seat> {
    let service = topo.find_target(TargetKind::Service, &seat.service)?;
    let provider = match &seat.provider {
        Some(name) => Some(ProviderId(topo.find_target(TargetKind::Provider, name)?)),
        None => None,
    };
    Some(Seat {
        service: ServiceId(service),
        ordinal: seat.ordinal,
        provider,
    })
}

impl Simulation {
    /// The replica in `seat` now, if the seat is occupied (module doc).
    pub(crate) fn seat_replica(&self, seat: Seat) -> Option<ReplicaId> {
        let r = self.svc[seat.service.index()]
            .replicas
            .iter()
            .copied()
            .filter(|r| self.rep[r.index()].status != RepStatus::Removed)
            .nth(seat.ordinal as usize)?;
        let on = self.topo.nodes[self.topo.replicas[r.index()].node.index()].provider;
        match seat.provider {
            Some(want) if on != want => None,
            _ => Some(r),
        }
    }

    /// The trace form of a seat.
    pub(crate) fn seat_ref(&self, seat: Seat) -> SeatRef {
        SeatRef {
            service: self.topo.services[seat.service.index()].name.clone(),
            ordinal: seat.ordinal,
            provider: seat
                .provider
                .map(|p| self.topo.providers[p.index()].name.clone()),
        }
    }
}

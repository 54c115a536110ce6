//! Property tests of the event queue against a plain reference model: pops come in (time,
//! insertion) order with FIFO ties, cancelled events never fire, `len` and `peek_time` stay
//! right, and `pop_until` never passes its limit.

use mend_sim::queue::{EventId, EventQueue};
use mend_sim::time::{SimDuration, SimTime};
use proptest::prelude::*;

/// One operation on the queue. Delays are small so that equal times (FIFO ties) are common, and
/// sometimes huge so that keys spread over many radix buckets.
#[derive(Clone, Debug)]
enum Op {
    Schedule { delay: u64 },
    Cancel { pick: usize },
    Pop,
    PopUntil { ahead: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..5).prop_map(|delay| Op::Schedule { delay }),
        2 => (0u64..1_000).prop_map(|delay| Op::Schedule { delay }),
        1 => (0u64..u64::MAX / 4).prop_map(|delay| Op::Schedule { delay }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        3 => Just(Op::Pop),
        2 => (0u64..10).prop_map(|ahead| Op::PopUntil { ahead }),
    ]
}

/// The reference: every scheduled event with its time, payload (= insertion number) and state.
#[derive(Default)]
struct Model {
    events: Vec<(SimTime, u64, EventId, bool)>, // (time, payload, id, live)
}

impl Model {
    /// The live event that must pop next: smallest time, then earliest insertion.
    fn next(&self) -> Option<usize> {
        (0..self.events.len())
            .filter(|&i| self.events[i].3)
            .min_by_key(|&i| (self.events[i].0, i))
    }
    fn live(&self) -> usize {
        self.events.iter().filter(|e| e.3).count()
    }
}

fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut queue = EventQueue::new();
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Schedule { delay } => {
                let at = queue.now() + SimDuration(delay);
                let payload = model.events.len() as u64;
                let id = queue.schedule(at, payload);
                model.events.push((at, payload, id, true));
            }
            Op::Cancel { pick } => {
                if model.events.is_empty() {
                    continue;
                }
                let i = pick % model.events.len();
                let was_live = model.events[i].3;
                prop_assert_eq!(queue.cancel(model.events[i].2), was_live);
                model.events[i].3 = false;
            }
            Op::Pop => {
                let expected = model.next();
                let got = queue.pop();
                match expected {
                    None => prop_assert!(got.is_none()),
                    Some(i) => {
                        prop_assert_eq!(got, Some((model.events[i].0, model.events[i].1)));
                        model.events[i].3 = false;
                        prop_assert_eq!(queue.now(), model.events[i].0);
                    }
                }
            }
            Op::PopUntil { ahead } => {
                let limit = queue.now() + SimDuration(ahead);
                let before = queue.now();
                let expected = model.next().filter(|&i| model.events[i].0 <= limit);
                let got = queue.pop_until(limit);
                match expected {
                    None => {
                        prop_assert!(got.is_none());
                        prop_assert_eq!(queue.now(), before);
                    }
                    Some(i) => {
                        prop_assert!(got.is_some_and(|(t, _)| t <= limit));
                        prop_assert_eq!(got, Some((model.events[i].0, model.events[i].1)));
                        model.events[i].3 = false;
                    }
                }
            }
        }
        prop_assert_eq!(queue.len(), model.live());
        prop_assert_eq!(queue.is_empty(), model.live() == 0);
        prop_assert_eq!(queue.peek_time(), model.next().map(|i| model.events[i].0));
    }
    // Drain: everything still live fires exactly once, in order; nothing cancelled fires.
    while let Some(i) = model.next() {
        prop_assert_eq!(queue.pop(), Some((model.events[i].0, model.events[i].1)));
        model.events[i].3 = false;
    }
    prop_assert_eq!(queue.pop(), None);
    prop_assert_eq!(queue.len(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn queue_matches_reference_model(ops in proptest::collection::vec(op(), 0..300)) {
        check(ops)?;
    }

    #[test]
    fn pops_are_sorted_by_time_then_insertion(times in proptest::collection::vec(0u64..50, 0..500)) {
        let mut queue = EventQueue::with_capacity(times.len());
        for (index, &t) in times.iter().enumerate() {
            queue.schedule(SimTime(t), index);
        }
        let mut previous: Option<(SimTime, usize)> = None;
        let mut count = 0;
        while let Some((t, index)) = queue.pop() {
            prop_assert_eq!(SimTime(times[index]), t);
            if let Some(p) = previous {
                prop_assert!(p < (t, index), "{:?} popped after {:?}", (t, index), p);
            }
            previous = Some((t, index));
            count += 1;
        }
        prop_assert_eq!(count, times.len());
    }
}

#[test]
fn equal_times_pop_first_in_first_out() {
    let mut queue = EventQueue::new();
    for payload in ["a", "b", "c"] {
        queue.schedule(SimTime(10), payload);
    }
    queue.schedule(SimTime(5), "first");
    let order: Vec<&str> = std::iter::from_fn(|| queue.pop().map(|(_, e)| e)).collect();
    assert_eq!(order, ["first", "a", "b", "c"]);
}

#[test]
fn cancelling_the_front_twice_reports_false_the_second_time() {
    // Regression: a cancelled front event is dropped eagerly; a second cancel of the same id
    // must not count it as pending again (which made `len` underflow).
    let mut queue = EventQueue::new();
    let front = queue.schedule(SimTime(1), 1);
    queue.schedule(SimTime(2), 2);
    assert!(queue.cancel(front));
    assert!(!queue.cancel(front));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue.pop(), Some((SimTime(2), 2)));
}

#[test]
fn scheduling_before_the_next_pending_event_pops_it_first() {
    // After a refused pop_until, a new event between now and the next pending one must come first.
    let mut queue = EventQueue::new();
    queue.schedule(SimTime(1_000), "late");
    queue.schedule(SimTime(2_000), "later");
    assert_eq!(queue.pop_until(SimTime(10)), None);
    queue.schedule_in(SimDuration(5), "early");
    assert_eq!(queue.peek_time(), Some(SimTime(5)));
    assert_eq!(queue.pop(), Some((SimTime(5), "early")));
    assert_eq!(queue.pop(), Some((SimTime(1_000), "late")));
    assert_eq!(queue.pop(), Some((SimTime(2_000), "later")));
}

#[test]
fn popped_and_unknown_events_cannot_be_cancelled() {
    let mut queue = EventQueue::new();
    let id = queue.schedule(SimTime(3), ());
    assert!(queue.pop().is_some());
    assert!(!queue.cancel(id));
    assert!(queue.is_empty());
}

#[test]
fn dropped_cancelled_front_stays_cancelled_after_an_earlier_schedule() {
    // Regression (found by the model test): dropping a cancelled front at t = 4 while now = 0,
    // then scheduling at t = 0, must neither revive the dropped id nor hide the new one.
    let mut queue = EventQueue::new();
    let late = queue.schedule(SimTime(4), "late");
    assert!(queue.cancel(late));
    let early = queue.schedule(SimTime(0), "early");
    assert!(!queue.cancel(late));
    assert_eq!(queue.len(), 1);
    assert!(queue.cancel(early));
    assert!(queue.is_empty());
    assert_eq!(queue.pop(), None);
}

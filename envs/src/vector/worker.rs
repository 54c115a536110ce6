//! [`Crew`]: persistent worker threads that share each vector step with the calling thread, for
//! [`super::ParallelVectorEnv::with_threads`].
//!
//! Why not a rayon task per vector step: a `default` cluster sub-env step takes about 20 µs, and
//! waking a sleeping rayon worker and joining it cost about 17 µs of every vector step (session 2
//! closing note, issue 3). Here the workers stay awake between steps: after their last claim they
//! spin on an atomic sequence number for a while ([`SPIN_ROUNDS`]) before parking, so back-to-back
//! vector steps hand off through one atomic store and load. A caller that pauses longer (an
//! agent's update) finds them parked and wakes them with `Thread::unpark`.
//!
//! Work is claimed one sub-env at a time from a shared job: the caller takes sub-envs from the
//! front, workers from the back, until they meet. On a quiet machine each thread keeps stepping the
//! same sub-envs (warm caches); on a busy one, where a worker may not be scheduled for
//! milliseconds, the caller steps what the worker has not claimed instead of waiting for it. Who
//! steps a sub-env never changes its result (each sub-env owns its generator) and outcomes are
//! stored by sub-env index, so results equal the sequential ones byte for byte.
//!
//! The handshake, per job (`seq` counts jobs):
//! ```text
//! caller                                     workers
//! put job, done = 0, requested = seq, unpark ──► wait until requested > seen (spin, then park)
//! claim from the front, run, done += 1           claim from the back, run, done += 1
//! wait until done == n  ◄──────────────────────  the one that makes done == n unparks the caller
//! ```
//! No lost wake-up: `park` returns at once if `unpark` came first (std's token), and every wait
//! re-checks its atomic in a loop. A panic in a sub-env is caught and stored as that sub-env's
//! error, so the caller never waits for an outcome that cannot come.
//!
//! Every thread counts its claims and how its waits ended ([`super::stats`], read with
//! `ParallelVectorEnv::crew_stats`): the way to tell a slow run's cause on a busy machine.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle, Thread};

use super::AutoresetMode;
use super::slot::{self, Slot, SlotStep};
use super::stats::{Counters, CrewStats, WaitOutcome};
use crate::env::{Action, Info, Observation};
use crate::error::EnvError;

/// Busy-wait rounds (one `spin_loop` hint each, about 35 ns on this project's 2-core AMD EPYC
/// machine) before a waiter parks: about 150 µs, several times the gap between back-to-back
/// vector steps. No `yield_now` phase: on a loaded machine a yield can hand the core away for a
/// whole scheduler slice (milliseconds).
pub(crate) const SPIN_ROUNDS: u32 = 4096;

/// What to do with one sub-env in a job.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input {
    /// Step it with this action.
    Step(Action),
    /// Reset it with this (already offset) seed.
    Reset(Option<u64>),
    /// Leave it alone (`reset_where` with a false mask entry).
    Skip,
}

/// What one sub-env produced in a job.
#[derive(Clone)]
pub(crate) enum Outcome {
    /// From [`Input::Step`].
    Step(Result<SlotStep, EnvError>),
    /// From [`Input::Reset`] or [`Input::Skip`].
    Reset(Result<(Observation, Info), EnvError>),
}

/// The current job: one input per sub-env and the unclaimed range `front..back`.
struct Job {
    inputs: Vec<Input>,
    mode: AutoresetMode,
    front: usize,
    back: usize,
}

/// State shared by the caller and the workers.
struct Shared {
    slots: Vec<Mutex<Slot>>,
    /// Each sub-env's outcome in the current job, and whether a worker thread produced it.
    outcomes: Vec<Mutex<Option<(Outcome, bool)>>>,
    /// Outcomes produced by workers and copied by the caller: a worker drops them once it has no
    /// more claims, so their memory is freed by the thread that allocated it (see [`Crew::run`]).
    garbage: Mutex<Vec<Outcome>>,
    job: Mutex<Job>,
    /// Sequence number of the last posted job.
    requested: AtomicU64,
    /// Sub-envs of the current job finished.
    done: AtomicUsize,
    /// The thread waiting for the current job.
    waiter: Mutex<Option<Thread>>,
    /// Set on drop: workers leave their loop.
    shutdown: AtomicBool,
    /// Set if a worker thread left its loop other than by shutdown (cannot happen: sub-env panics
    /// are caught), so a waiting caller reports an error instead of waiting forever.
    worker_died: AtomicBool,
    /// Hand-off counters (the caller's first, then one per worker).
    counters: Counters,
}

/// Locks `m`, ignoring poisoning: a panic inside a sub-env is caught and reported as an error,
/// and the data behind these locks stays consistent across it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until `ready()`: spins [`SPIN_ROUNDS`] rounds, then parks (woken by `unpark`); says
/// how the wait ended, for the counters.
fn wait_until(ready: impl Fn() -> bool) -> WaitOutcome {
    for spins in 0..SPIN_ROUNDS {
        if ready() {
            return WaitOutcome {
                spins,
                parked: false,
            };
        }
        std::hint::spin_loop();
    }
    let mut parked = false;
    while !ready() {
        thread::park();
        parked = true;
    }
    WaitOutcome {
        spins: SPIN_ROUNDS,
        parked,
    }
}

impl Shared {
    /// Claims the next unclaimed sub-env, from the front (the caller) or the back (workers).
    fn claim(&self, from_front: bool) -> Option<(usize, Input, AutoresetMode)> {
        let mut job = lock(&self.job);
        if job.front >= job.back {
            return None;
        }
        let index = if from_front {
            job.front += 1;
            job.front - 1
        } else {
            job.back -= 1;
            job.back
        };
        Some((index, job.inputs[index], job.mode))
    }

    /// Runs one claimed sub-env (on a worker thread if `by_worker`), stores its outcome and wakes
    /// the caller if it was the last.
    fn run(&self, index: usize, input: Input, mode: AutoresetMode, by_worker: bool) {
        let outcome = {
            let mut slot = lock(&self.slots[index]);
            match input {
                Input::Step(action) => Outcome::Step(guarded(index, || slot.step(action, mode))),
                Input::Reset(seed) => Outcome::Reset(guarded(index, || slot.reset(seed))),
                Input::Skip => Outcome::Reset(slot::untouched()),
            }
        };
        *lock(&self.outcomes[index]) = Some((outcome, by_worker));
        if self.done.fetch_add(1, Ordering::AcqRel) + 1 == self.slots.len() {
            self.wake_waiter();
        }
    }

    fn wake_waiter(&self) {
        if let Some(waiter) = lock(&self.waiter).as_ref() {
            waiter.unpark();
        }
    }
}

/// Sub-envs shared by the calling thread and persistent worker threads; workers joined on drop.
pub(crate) struct Crew {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Sequence number of the last job posted.
    seq: u64,
}

impl std::fmt::Debug for Crew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crew")
            .field("num_envs", &self.len())
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl Crew {
    /// Takes `slots` and starts `workers` worker threads (0: the caller steps everything).
    pub(crate) fn start(slots: Vec<Slot>, workers: usize) -> std::io::Result<Self> {
        let n = slots.len();
        let shared = Arc::new(Shared {
            slots: slots.into_iter().map(Mutex::new).collect(),
            outcomes: (0..n).map(|_| Mutex::new(None)).collect(),
            garbage: Mutex::new(Vec::with_capacity(n)),
            job: Mutex::new(Job {
                inputs: Vec::with_capacity(n),
                mode: AutoresetMode::default(),
                front: 0,
                back: 0,
            }),
            requested: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            waiter: Mutex::new(None),
            shutdown: AtomicBool::new(false),
            worker_died: AtomicBool::new(false),
            counters: Counters::new(workers),
        });
        let mut crew = Self {
            shared,
            workers: Vec::with_capacity(workers),
            seq: 0,
        };
        for w in 0..workers {
            let shared = Arc::clone(&crew.shared);
            // On error, `crew` is dropped here and joins the workers already started.
            let handle = thread::Builder::new()
                .name(format!("mend-vector-env-{w}"))
                .spawn(move || serve(&shared, w + 1))?;
            crew.workers.push(handle);
        }
        Ok(crew)
    }

    /// Number of sub-envs.
    pub(crate) fn len(&self) -> usize {
        self.shared.slots.len()
    }

    /// A snapshot of the hand-off counters (exact between jobs, up to a worker still counting
    /// the job that just ended).
    pub(crate) fn stats(&self) -> CrewStats {
        self.shared.counters.snapshot()
    }

    /// Runs `f` on sub-env `index` (no job runs between calls, so this never waits on a worker).
    pub(crate) fn with_slot<T>(&self, index: usize, f: impl FnOnce(&Slot) -> T) -> T {
        f(&lock(&self.shared.slots[index]))
    }

    /// Runs one job (one input per sub-env) on the caller and the workers; outcomes in sub-env
    /// order.
    pub(crate) fn run(
        &mut self,
        inputs: impl IntoIterator<Item = Input>,
        mode: AutoresetMode,
    ) -> Result<Vec<Outcome>, EnvError> {
        let shared = &*self.shared;
        let n = shared.slots.len();
        self.seq += 1;
        *lock(&shared.waiter) = Some(thread::current());
        {
            let mut job = lock(&shared.job);
            job.inputs.clear();
            job.inputs.extend(inputs);
            job.inputs.resize(n, Input::Skip);
            job.mode = mode;
            job.front = 0;
            job.back = n;
            shared.done.store(0, Ordering::Release);
        }
        shared.requested.store(self.seq, Ordering::Release);
        shared.counters.posted();
        for w in &self.workers {
            w.thread().unpark();
        }
        let mine = &shared.counters.threads[0];
        let mut claimed = 0;
        while let Some((index, input, mode)) = shared.claim(true) {
            mine.claimed_one();
            claimed += 1;
            shared.run(index, input, mode, false);
        }
        let wait = wait_until(|| {
            shared.done.load(Ordering::Acquire) == n || shared.worker_died.load(Ordering::Acquire)
        });
        mine.job(claimed);
        mine.wait(wait);
        if shared.done.load(Ordering::Acquire) != n {
            return Err(EnvError::InvalidVector {
                reason: "a worker thread of the parallel vector env stopped (internal error)"
                    .into(),
            });
        }
        // A worker's outcome is copied here and the original handed back to be freed by that
        // worker. Otherwise every value a worker allocates (observation vectors, info keys) is
        // freed by the caller's thread, and glibc's malloc then serves the worker from its
        // arena's slow path under a lock both threads take: measured with 4 sub-envs of
        // 13 allocations a step each, that cost 7 µs a vector step (speed-up 1.89x -> 1.67x),
        // the copy about 1 µs.
        let mut garbage = lock(&shared.garbage);
        shared
            .outcomes
            .iter()
            .map(|o| match lock(o).take() {
                Some((outcome, true)) => {
                    let copy = outcome.clone();
                    garbage.push(outcome);
                    Ok(copy)
                }
                Some((outcome, false)) => Ok(outcome),
                None => Err(EnvError::InvalidVector {
                    reason: "a sub-env produced no outcome (internal error)".into(),
                }),
            })
            .collect()
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        for w in self.workers.drain(..) {
            w.thread().unpark();
            // Sub-env panics are caught inside the loop; nothing useful to do if it panicked.
            let _ = w.join();
        }
    }
}

/// Flags the worker's death and wakes the caller unless it left through shutdown.
struct ReportExit<'a>(&'a Shared);

impl Drop for ReportExit<'_> {
    fn drop(&mut self) {
        if !self.0.shutdown.load(Ordering::Acquire) {
            self.0.worker_died.store(true, Ordering::Release);
            self.0.wake_waiter();
        }
    }
}

/// A worker thread's loop (its counters are `counters.threads[counter]`): wait for a job, claim and run sub-envs from the back until none is
/// left, repeat.
fn serve(shared: &Shared, counter: usize) {
    let _report = ReportExit(shared);
    let mine = &shared.counters.threads[counter];
    let mut seen = 0;
    loop {
        let wait = wait_until(|| {
            shared.requested.load(Ordering::Acquire) > seen
                || shared.shutdown.load(Ordering::Acquire)
        });
        if shared.shutdown.load(Ordering::Acquire) {
            return;
        }
        seen = shared.requested.load(Ordering::Acquire);
        let mut claimed = 0;
        while let Some((index, input, mode)) = shared.claim(false) {
            mine.claimed_one();
            claimed += 1;
            shared.run(index, input, mode, true);
        }
        mine.wait(wait);
        mine.job(claimed);
        // Free the previous job's outcomes here, where they were allocated.
        drop(std::mem::take(&mut *lock(&shared.garbage)));
    }
}

/// Runs one sub-env call, turning a panic into an error naming the sub-env.
fn guarded<T>(index: usize, f: impl FnOnce() -> Result<T, EnvError>) -> Result<T, EnvError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string payload".into());
        Err(EnvError::InvalidVector {
            reason: format!("sub-env {index} panicked on a vector env thread: {what}"),
        })
    })
}

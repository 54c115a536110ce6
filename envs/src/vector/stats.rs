//! Hand-off counters of the parallel vector env's worker crew ([`super::worker`]): who stepped how
//! many sub-envs, and how each wait ended (work found while spinning, after how many spin rounds,
//! or only after parking). They diagnose a slow run without a quiet machine: one thread doing
//! most of the work, or workers parking on most vector steps, shows in the counts whatever the
//! timing noise (issue 3's bimodal slow mode). Counting never changes results.
//!
//! Each thread writes only its own [`ThreadCounters`] (relaxed atomics, one cache line each, so
//! the counting threads do not share a line); [`CrewStats`] is a snapshot, and counts over an
//! interval are the difference of two snapshots ([`CrewStats::since`]), so nobody but the owner
//! ever writes a counter.

use std::sync::atomic::{AtomicU64, Ordering};

/// How one wait ended ([`super::worker`]'s spin-then-park wait).
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitOutcome {
    /// Spin rounds before the condition held (the whole budget if it parked).
    pub(crate) spins: u32,
    /// Whether the thread parked at least once.
    pub(crate) parked: bool,
}

/// One thread's counters (64-byte aligned: no false sharing between threads).
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct ThreadCounters {
    jobs: AtomicU64,
    claimed: AtomicU64,
    idle_jobs: AtomicU64,
    spin_waits: AtomicU64,
    spin_rounds: AtomicU64,
    parked_waits: AtomicU64,
}

impl ThreadCounters {
    fn add(counter: &AtomicU64, n: u64) {
        // Only the owning thread writes: a load and a store suffice (no locked instruction).
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// Records one claimed sub-env. Called before the sub-env's outcome is published, so the
    /// claim is counted by the time the caller sees the job done (snapshots between jobs add up).
    pub(crate) fn claimed_one(&self) {
        Self::add(&self.claimed, 1);
    }

    /// Records one job in which this thread claimed `claimed` sub-envs (already counted one by
    /// one with [`Self::claimed_one`]).
    pub(crate) fn job(&self, claimed: u64) {
        Self::add(&self.jobs, 1);
        if claimed == 0 {
            Self::add(&self.idle_jobs, 1);
        }
    }

    /// Records how a wait ended.
    pub(crate) fn wait(&self, w: WaitOutcome) {
        if w.parked {
            Self::add(&self.parked_waits, 1);
        } else {
            Self::add(&self.spin_waits, 1);
            Self::add(&self.spin_rounds, u64::from(w.spins));
        }
    }

    fn snapshot(&self) -> ThreadStats {
        ThreadStats {
            jobs: self.jobs.load(Ordering::Relaxed),
            claimed: self.claimed.load(Ordering::Relaxed),
            idle_jobs: self.idle_jobs.load(Ordering::Relaxed),
            spin_waits: self.spin_waits.load(Ordering::Relaxed),
            spin_rounds: self.spin_rounds.load(Ordering::Relaxed),
            parked_waits: self.parked_waits.load(Ordering::Relaxed),
        }
    }
}

/// One thread's share of the crew's work since the counters were last cleared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadStats {
    /// Jobs (vector steps or resets) this thread took part in. A worker that had not woken by
    /// the time the job was done takes part late (it finds nothing to claim).
    pub jobs: u64,
    /// Sub-envs this thread stepped or reset.
    pub claimed: u64,
    /// Jobs in which it claimed nothing (the other threads had taken everything).
    pub idle_jobs: u64,
    /// Waits (a worker for the next job, the caller for the last sub-env) that ended while
    /// spinning.
    pub spin_waits: u64,
    /// Spin rounds summed over the waits that ended while spinning (about 35 ns a round).
    pub spin_rounds: u64,
    /// Waits that ran out of spin rounds and parked (a worker then needs an OS wake-up).
    pub parked_waits: u64,
}

impl ThreadStats {
    /// The counts accumulated since `base` (an earlier snapshot of the same thread).
    pub fn since(&self, base: &ThreadStats) -> ThreadStats {
        ThreadStats {
            jobs: self.jobs - base.jobs,
            claimed: self.claimed - base.claimed,
            idle_jobs: self.idle_jobs - base.idle_jobs,
            spin_waits: self.spin_waits - base.spin_waits,
            spin_rounds: self.spin_rounds - base.spin_rounds,
            parked_waits: self.parked_waits - base.parked_waits,
        }
    }

    /// Mean spin rounds of the waits that ended while spinning (0 if none).
    pub fn mean_spin_rounds(&self) -> f64 {
        if self.spin_waits == 0 {
            0.0
        } else {
            self.spin_rounds as f64 / self.spin_waits as f64
        }
    }

    /// Share of the waits that parked (0 if none).
    pub fn parked_share(&self) -> f64 {
        let waits = self.spin_waits + self.parked_waits;
        if waits == 0 {
            0.0
        } else {
            self.parked_waits as f64 / waits as f64
        }
    }
}

/// A snapshot of the crew's counters: `threads[0]` is the calling thread, `threads[1..]` the
/// workers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrewStats {
    /// Jobs posted (vector steps and resets).
    pub jobs: u64,
    /// Per-thread counters, the caller first.
    pub threads: Vec<ThreadStats>,
}

impl CrewStats {
    /// The counts accumulated since `base` (an earlier snapshot of the same crew), e.g. over one
    /// benchmark round.
    pub fn since(&self, base: &CrewStats) -> CrewStats {
        CrewStats {
            jobs: self.jobs - base.jobs,
            threads: self
                .threads
                .iter()
                .zip(&base.threads)
                .map(|(t, b)| t.since(b))
                .collect(),
        }
    }

    /// Share of all claimed sub-envs that thread `i` stepped (0 if none were claimed).
    pub fn share(&self, i: usize) -> f64 {
        let total: u64 = self.threads.iter().map(|t| t.claimed).sum();
        match self.threads.get(i) {
            Some(t) if total > 0 => t.claimed as f64 / total as f64,
            _ => 0.0,
        }
    }
}

impl std::fmt::Display for CrewStats {
    /// One line per thread: claimed share, idle jobs, waits that spun (mean rounds) and parked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} jobs", self.jobs)?;
        for (i, t) in self.threads.iter().enumerate() {
            let who = if i == 0 {
                "caller".to_owned()
            } else {
                format!("worker {}", i - 1)
            };
            write!(
                f,
                "\n  {who}: stepped {} sub-envs ({:.0}%), idle in {} of {} jobs, waits: {} ended spinning (mean {:.0} rounds), {} parked ({:.0}%)",
                t.claimed,
                100.0 * self.share(i),
                t.idle_jobs,
                t.jobs,
                t.spin_waits,
                t.mean_spin_rounds(),
                t.parked_waits,
                100.0 * t.parked_share(),
            )?;
        }
        Ok(())
    }
}

/// The crew's counters: one [`ThreadCounters`] per thread (the caller first) and the job count.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) threads: Vec<ThreadCounters>,
    jobs: AtomicU64,
}

impl Counters {
    /// Counters for the caller and `workers` worker threads.
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            threads: (0..=workers).map(|_| ThreadCounters::default()).collect(),
            jobs: AtomicU64::new(0),
        }
    }

    /// Records a posted job (caller only).
    pub(crate) fn posted(&self) {
        ThreadCounters::add(&self.jobs, 1);
    }

    /// A snapshot. Between jobs the claims are exact; a worker's `jobs`, `idle_jobs` and wait
    /// counts for the job that just ended may still be on their way.
    pub(crate) fn snapshot(&self) -> CrewStats {
        CrewStats {
            jobs: self.jobs.load(Ordering::Relaxed),
            threads: self.threads.iter().map(ThreadCounters::snapshot).collect(),
        }
    }
}

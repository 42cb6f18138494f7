//! One time budget per run, taken from what the invocation has: spoke reads, public writes
//! and what is published after the deployment each get a share of the time left, so a run
//! ends before its deadline whatever its timeout (30 s or 15 min), with no fixed margin that
//! a short timeout cannot pay. Each phase stops at a boundary a crash could also leave
//! (DESIGN.md, "Every run ends in time"), and the next run goes on from there.
//!
//! Every run makes progress: the first spoke account is always read and the first write is
//! always made, however little time is left.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Share of the time left when the run starts after which no spoke account is started.
pub const READ_SHARE: f64 = 0.40;
/// Share after which no public write is started (the deployment still is).
pub const WRITE_SHARE: f64 = 0.70;
/// Share after which nothing more is published (URLs, statuses, records narrowed, stage
/// settings); the rest of the time is the deployment's, the re-read's and a slow call's.
pub const PUBLISH_SHARE: f64 = 0.85;

// Each phase ends after the one before it, and before the deadline.
const _: () =
    assert!(READ_SHARE < WRITE_SHARE && WRITE_SHARE < PUBLISH_SHARE && PUBLISH_SHARE < 1.0);

type Gate = Arc<dyn Fn() -> bool + Send + Sync>;

/// What a run may still start. Each gate answers `true` while its phase may start another
/// unit of work (a spoke account, a write, an API's published parameters).
#[derive(Clone)]
pub struct Budget {
    reads: Gate,
    writes: Gate,
    publish: Gate,
}

impl Budget {
    /// No limit (the CLI, tests).
    pub fn unlimited() -> Self {
        let open: Gate = Arc::new(|| true);
        Self {
            reads: open.clone(),
            writes: open.clone(),
            publish: open,
        }
    }

    /// Shares of the time from now to `deadline` (the invocation's). Every run's reads are
    /// budgeted (a deploy run may have a thousand APIs waiting); an API an event names or
    /// the owed deployment waits on, in an account the run did not reach, is carried over
    /// with the owed marker.
    pub fn until(deadline: Instant) -> Self {
        let start = Instant::now();
        let left = deadline.saturating_duration_since(start);
        let at = |share: f64| -> Gate {
            let end = start + left.mul_f64(share);
            Arc::new(move || Instant::now() < end)
        };
        Self {
            reads: at(READ_SHARE),
            writes: at(WRITE_SHARE),
            publish: at(PUBLISH_SHARE),
        }
    }

    /// Spoke reads while `left` says so; writes and publishing unlimited.
    pub fn from_fn(left: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self {
            reads: Arc::new(left),
            ..Self::unlimited()
        }
    }

    /// At most `writes` write units and `publishes` APIs published, counted: a cut at an
    /// exact place, for tests that must be deterministic (no clock).
    pub fn counted(writes: usize, publishes: usize) -> Self {
        let count = |n: usize| -> Gate {
            let used = Arc::new(AtomicUsize::new(0));
            Arc::new(move || used.fetch_add(1, Ordering::SeqCst) < n)
        };
        Self {
            writes: count(writes),
            publish: count(publishes),
            ..Self::unlimited()
        }
    }

    /// Whether another spoke account may be started.
    pub fn has_time(&self) -> bool {
        (self.reads)()
    }

    /// A gate for this run's writes: the first always goes.
    pub fn writes(&self) -> Progress {
        Progress::new(self.writes.clone())
    }

    /// A gate for this run's publishing: the first API always goes.
    pub fn publishing(&self) -> Progress {
        Progress::new(self.publish.clone())
    }
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Budget")
    }
}

/// One phase's gate over a run: the first unit always goes, so every run progresses; once
/// the gate says no it stays shut, so what is left is a suffix of the phase's order.
pub struct Progress {
    gate: Gate,
    started: AtomicBool,
    shut: AtomicBool,
}

impl Progress {
    fn new(gate: Gate) -> Self {
        Self {
            gate,
            started: AtomicBool::new(false),
            shut: AtomicBool::new(false),
        }
    }

    /// Whether the next unit may start.
    pub fn may(&self) -> bool {
        if self.shut.load(Ordering::SeqCst) {
            return false;
        }
        let first = !self.started.swap(true, Ordering::SeqCst);
        if first || (self.gate)() {
            return true;
        }
        self.shut.store(true, Ordering::SeqCst);
        false
    }

    /// Whether the gate has shut (something was left for the next run).
    pub fn is_shut(&self) -> bool {
        self.shut.load(Ordering::SeqCst)
    }
}

/// The time from now to a deadline in milliseconds since the epoch, as Lambda gives it;
/// `None` without one (0: outside Lambda).
pub fn left_until(deadline_ms: u64, now_ms: u64) -> Option<Duration> {
    (deadline_ms != 0).then(|| Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_unit_always_goes_and_a_shut_gate_stays_shut() {
        let p = Budget::counted(0, 0).writes();
        assert!(p.may(), "the first write of a run goes whatever the budget");
        assert!(!p.may());
        assert!(p.is_shut());
        let p = Budget::counted(2, 0).writes();
        assert_eq!(
            (0..5).map(|_| p.may()).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
    }

    #[test]
    fn shares_scale_with_the_time_left_and_never_exceed_it() {
        // A 30 s and a 120 s timeout leave the same shares, and no fixed margin: with a
        // 30 s timeout reads still start (the old 40 s margin let none start).
        for secs in [30u64, 120, 3] {
            let budget = Budget::until(Instant::now() + Duration::from_secs(secs));
            assert!(budget.has_time(), "{secs} s: reads start");
            let writes = budget.writes();
            assert!(writes.may() && writes.may(), "{secs} s: writes start");
        }
        let spent = Budget::until(Instant::now());
        assert!(!spent.has_time());
        let writes = spent.writes();
        assert!(writes.may(), "even with nothing left, the first write goes");
        assert!(!writes.may());
    }

    #[test]
    fn an_event_run_reads_within_its_budget_too() {
        let budget = Budget::until(Instant::now());
        assert!(!budget.has_time());
    }

    #[test]
    fn no_deadline_outside_lambda() {
        assert_eq!(left_until(0, 5), None);
        assert_eq!(left_until(10_000, 4_000), Some(Duration::from_secs(6)));
        assert_eq!(left_until(1_000, 4_000), Some(Duration::ZERO));
    }
}

//! Live counters each runtime thread publishes for the once-a-second
//! sampler: the progress line and the timeline. Each thread writes only its
//! own cache-line-aligned block (plain load + store, no locked instruction),
//! and the sampler sums them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::stats::Tick;

/// One thread's live figures.
#[derive(Default)]
#[repr(align(128))]
pub struct Live {
    /// Connections open now.
    pub open: AtomicU64,
    /// Upgrades so far.
    pub opened: AtomicU64,
    /// Failed connection attempts so far.
    pub failed: AtomicU64,
    /// Messages sent so far.
    pub sent: AtomicU64,
    /// Deliveries / round trips received so far.
    pub received: AtomicU64,
    /// Errors (drops, corruption, protocol) so far.
    pub errors: AtomicU64,
}

impl Live {
    /// Add `n` to `field`. Only the owning thread writes, so this needs no
    /// atomic read-modify-write.
    #[inline]
    pub fn add(field: &AtomicU64, n: u64) {
        field.store(field.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Subtract `n` from `field` (owning thread only).
    #[inline]
    pub fn sub(field: &AtomicU64, n: u64) {
        field.store(field.load(Relaxed).wrapping_sub(n), Relaxed);
    }
}

/// The sum over threads at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// Connections open.
    pub open: u64,
    /// Upgrades so far.
    pub opened: u64,
    /// Failed attempts so far.
    pub failed: u64,
    /// Messages sent so far.
    pub sent: u64,
    /// Received so far.
    pub received: u64,
    /// Errors so far.
    pub errors: u64,
}

/// Sum every thread's block.
pub fn snapshot(lives: &[Arc<Live>]) -> Snapshot {
    let mut s = Snapshot::default();
    for l in lives {
        s.open += l.open.load(Relaxed);
        s.opened += l.opened.load(Relaxed);
        s.failed += l.failed.load(Relaxed);
        s.sent += l.sent.load(Relaxed);
        s.received += l.received.load(Relaxed);
        s.errors += l.errors.load(Relaxed);
    }
    s
}

impl Snapshot {
    /// The timeline entry for the second that ended at `now` (`self`),
    /// having started at `prev`.
    pub fn tick(&self, prev: &Snapshot, t: u32) -> Tick {
        Tick {
            t,
            open: self.open,
            sent: self.sent - prev.sent,
            received: self.received - prev.received,
            handshakes: self.opened - prev.opened,
            errors: (self.errors + self.failed) - (prev.errors + prev.failed),
        }
    }
}

/// Draw the progress line (on stderr, overwriting itself).
pub fn progress(scenario: &str, phase: &str, elapsed_s: f64, now: &Snapshot, last: &Tick) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r\x1b[2K[{scenario}] {phase} {elapsed_s:5.1}s  open {}  up {} fail {}  sent/s {}  recv/s {}  hs/s {}  errors {}",
        now.open,
        now.opened,
        now.failed,
        last.sent,
        last.received,
        last.handshakes,
        now.errors,
    );
    let _ = err.flush();
}

/// Clear the progress line.
pub fn clear_progress() {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

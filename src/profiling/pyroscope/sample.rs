//! What the signal handler does with one interruption: unwind, read the label slot, write one ring cell.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::labels;
use super::ring::{MAX_FRAMES, Ring};
use super::unwind::Unwinder;

/// Cells of the ring: at 100 Hz on 8 busy cores, more than a second of samples between two drains.
pub(crate) const RING_CELLS: usize = 1024;

/// The state the handler reaches: allocated before the handler is installed, freed after it is gone.
pub(crate) struct Shared {
    pub(crate) ring: Ring,
    unwinder: Unwinder,
    /// Samples written to the ring.
    pub(crate) taken: AtomicU64,
    /// Samples dropped because every unwinder cache was in use.
    pub(crate) busy: AtomicU64,
    /// Samples whose label was being written when the signal came (recorded without labels).
    pub(crate) torn: AtomicU64,
}

impl Shared {
    /// Maps the modules and allocates the ring: off the signal path.
    pub(crate) fn new() -> std::io::Result<Shared> {
        Ok(Shared {
            ring: Ring::new(RING_CELLS),
            unwinder: Unwinder::new()?,
            taken: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            torn: AtomicU64::new(0),
        })
    }

    /// Runs in the SIGPROF handler. Async-signal-safe: atomics, the ring, framehop without allocation, the
    /// page probe's write/read, the thread-local label slot.
    pub(crate) fn sample(&self, ucontext: *mut libc::c_void) {
        let label = labels::read_in_handler();
        if label.is_err() {
            self.torn.fetch_add(1, Relaxed);
        }
        let mut unwound = true;
        let pushed = self.ring.push(|rec| {
            match self.unwinder.unwind(ucontext, &mut rec.frames[..MAX_FRAMES]) {
                Some(depth) => rec.depth = depth,
                None => {
                    unwound = false;
                    rec.depth = 0;
                }
            }
            rec.label = label.ok();
        });
        if !unwound {
            self.busy.fetch_add(1, Relaxed);
        } else if pushed {
            self.taken.fetch_add(1, Relaxed);
        }
    }
}

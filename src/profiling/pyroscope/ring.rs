//! The preallocated lock-free ring the signal handler writes samples into and the sampler thread drains.
//!
//! Every cell is allocated when the sampler starts. A handler claims a free cell with one compare-and-swap
//! (trying a few cells from a rotating start), fills it, and publishes it; when no cell is free the sample is
//! dropped and counted. The draining thread takes every published cell and frees it. No allocation, no lock,
//! no syscall: safe in a signal handler, and safe with handlers running on several cores at once.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

use super::labels::RawLabel;

/// Frames kept per sample (the deepest ones beyond are cut; the sample is still counted).
pub(crate) const MAX_FRAMES: usize = 64;
/// Cells tried by one handler before it drops its sample.
const TRIES: usize = 8;

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const FULL: u8 = 2;

/// One sample: the lookup addresses of its frames (innermost first), its thread and its label.
#[derive(Clone, Copy)]
pub(crate) struct Record {
    pub(crate) frames: [u64; MAX_FRAMES],
    pub(crate) depth: usize,
    pub(crate) label: Option<RawLabel>,
}

impl Record {
    const ZERO: Record = Record {
        frames: [0; MAX_FRAMES],
        depth: 0,
        label: None,
    };

    /// The frames taken, innermost first.
    pub(crate) fn stack(&self) -> &[u64] {
        &self.frames[..self.depth.min(MAX_FRAMES)]
    }
}

struct Cell {
    state: AtomicU8,
    record: UnsafeCell<Record>,
}

/// The ring.
pub(crate) struct Ring {
    cells: Box<[Cell]>,
    next: AtomicUsize,
    dropped: AtomicU64,
}

// SAFETY: a cell's record is written only by the one handler that moved it EMPTY -> WRITING, and read only by
// the drainer after it saw FULL (acquire), which the writer published with release.
unsafe impl Sync for Ring {}

impl Ring {
    /// A ring of `capacity` cells, all allocated now.
    pub(crate) fn new(capacity: usize) -> Ring {
        let cells = (0..capacity.max(1))
            .map(|_| Cell {
                state: AtomicU8::new(EMPTY),
                record: UnsafeCell::new(Record::ZERO),
            })
            .collect();
        Ring {
            cells,
            next: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Fills a free cell with `fill`; false (and counted) when none is free. Async-signal-safe.
    pub(crate) fn push(&self, fill: impl FnOnce(&mut Record)) -> bool {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..TRIES {
            let cell = &self.cells[(start + i) % self.cells.len()];
            if cell
                .state
                .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: this handler owns the cell while it is WRITING.
                fill(unsafe { &mut *cell.record.get() });
                cell.state.store(FULL, Ordering::Release);
                return true;
            }
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Hands every published record to `take` and frees its cell. Returns how many.
    pub(crate) fn drain(&self, mut take: impl FnMut(&Record)) -> u64 {
        let mut n = 0;
        for cell in self.cells.iter() {
            if cell.state.load(Ordering::Acquire) == FULL {
                // SAFETY: FULL cells are not written until this thread sets them EMPTY.
                take(unsafe { &*cell.record.get() });
                cell.state.store(EMPTY, Ordering::Release);
                n += 1;
            }
        }
        n
    }

    /// Samples dropped because no cell was free.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_ring_counts_drops_and_drain_frees() {
        let ring = Ring::new(4);
        for i in 0..6u64 {
            ring.push(|r| {
                r.frames[0] = i;
                r.depth = 1;
            });
        }
        assert_eq!(ring.dropped(), 2);
        let mut seen = Vec::new();
        assert_eq!(ring.drain(|r| seen.push(r.stack()[0])), 4);
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3]);
        assert!(ring.push(|r| r.depth = 0));
    }
}

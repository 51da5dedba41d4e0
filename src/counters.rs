//! Span counters shared by every generation: started = exported + dropped + sampled out + in flight.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// One counter on its own cache line, so threads bumping different counters do not collide.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Padded(AtomicU64);

impl Padded {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    #[inline]
    pub(crate) fn sub(&self, n: u64) {
        self.0.fetch_sub(n, Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// The live counters.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) started: Padded,
    pub(crate) exported: Padded,
    pub(crate) dropped: Padded,
    pub(crate) sampled_out: Padded,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SpanCounts {
        // Read the outcomes before `started` so a snapshot never shows more finished than started.
        let exported = self.exported.get();
        let dropped = self.dropped.get();
        let sampled_out = self.sampled_out.get();
        SpanCounts {
            started: self.started.get(),
            exported,
            dropped,
            sampled_out,
        }
    }
}

/// Span counts since start-up. They only grow. With several backends (`backend = ["local", "otlp"]`) a span
/// counts once per backend of its generation, since each backend writes or drops its copy on its own: the
/// balance `started = exported + dropped + sampled_out` (once nothing is in flight) holds either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SpanCounts {
    /// Spans created while a recording backend was active.
    pub started: u64,
    /// Spans written to (or accepted by) their backend.
    pub exported: u64,
    /// Spans a backend could not take (queue full, I/O error, closed after the drain timeout).
    pub dropped: u64,
    /// Spans of traces the sampler did not keep.
    pub sampled_out: u64,
}

impl SpanCounts {
    /// Spans started but not yet exported, dropped or sampled out (open spans and queued records).
    pub fn in_flight(&self) -> u64 {
        self.started
            .saturating_sub(self.exported + self.dropped + self.sampled_out)
    }
}

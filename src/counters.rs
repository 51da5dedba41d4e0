//! Counters shared by every generation. Spans: started = exported + dropped + sampled out + in flight. Log
//! records: made = exported + dropped + in flight.

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
    /// Log records handed to a sink (once per sink that takes logs).
    pub(crate) logs_made: Padded,
    pub(crate) logs_exported: Padded,
    pub(crate) logs_dropped: Padded,
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

    pub(crate) fn log_snapshot(&self) -> LogCounts {
        // Outcomes before `made`, as for spans.
        let exported = self.logs_exported.get();
        let dropped = self.logs_dropped.get();
        LogCounts {
            made: self.logs_made.get(),
            exported,
            dropped,
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

/// Log record counts since start-up (events made into log records). They only grow. A record counts once per
/// backend that takes logs, as each writes or drops its copy on its own: `made = exported + dropped` once nothing
/// is in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogCounts {
    /// Log records handed to a backend.
    pub made: u64,
    /// Log records written to (or accepted by) their backend.
    pub exported: u64,
    /// Log records a backend could not take (queue full, I/O error, export failed, closed).
    pub dropped: u64,
}

impl LogCounts {
    /// Log records made but not yet exported or dropped (queued, or in an export in flight).
    pub fn in_flight(&self) -> u64 {
        self.made.saturating_sub(self.exported + self.dropped)
    }
}

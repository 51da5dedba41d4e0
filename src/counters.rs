//! Counters shared by every generation. Spans: started = exported + dropped + sampled out + dropped by a
//! bound + in flight; the sampling figures per trace ([`TraceCounts`]). Log records: made = exported +
//! dropped + in flight.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use tracing_appender::non_blocking::ErrorCounter;

use serde::Serialize;

use crate::config::Backend;

/// One counter on its own cache line, so threads bumping different counters do not collide.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Padded(AtomicU64);

impl Padded {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// Adds `n`; returns the new value.
    #[inline]
    pub(crate) fn add_get(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Relaxed) + n
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
    /// Spans of traces a tail-sampling bound dropped whole.
    pub(crate) dropped_by_bound: Padded,
    /// Events a span could not hold for the sinks that carry events with their span (`MAX_SPAN_EVENTS`).
    pub(crate) span_events_dropped: Padded,
    /// Per-trace sampling outcomes and the tail buffer's gauges.
    pub(crate) traces: TraceCounters,
    /// Reload attempts by outcome since start-up (as status `reloads`), for `/metrics`.
    pub(crate) reloads: ReloadCounters,
    /// What profiling measured: per agent and session, and the process's last sample.
    #[cfg(feature = "profiling")]
    pub(crate) figures: crate::figures::Figures,
    /// The same outcomes per backend, summed over every sink of that backend there has been.
    backends: [BackendCounters; 3],
    /// Console lines dropped by the console's log files, every file there has been.
    pub(crate) console: ConsoleDrops,
    /// Spans over their time budget, by span name (`[telemetry.budgets]`).
    pub(crate) budgets: BudgetCounters,
    /// OTLP metric exports by outcome (`crate::metrics::otlp`).
    pub(crate) metrics_export: MetricsExportCounters,
}

/// Lines the console's log files dropped: write failures (counted by each file's worker as they happen) and
/// lines its queue turned away (tracing-appender counts those in the file's own counter, read here while the
/// file is open and added to `retired` when it closes).
#[derive(Default)]
pub(crate) struct ConsoleDrops {
    pub(crate) failed: Padded,
    retired: Padded,
    open: Mutex<Vec<(usize, ErrorCounter)>>,
}

impl ConsoleDrops {
    /// Reads the queue drops of an open file, known by `key`, until [`ConsoleDrops::close`].
    pub(crate) fn open(&self, key: usize, queue: ErrorCounter) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((key, queue));
    }

    /// The file `key` closed: its queue drops are kept as they are now.
    pub(crate) fn close(&self, key: usize) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = open.iter().position(|(k, _)| *k == key) {
            let (_, queue) = open.swap_remove(at);
            self.retired.add(queue.dropped_lines() as u64);
        }
    }

    /// Every line dropped since start-up.
    pub(crate) fn lines_dropped(&self) -> u64 {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let queued: u64 = open.iter().map(|(_, q)| q.dropped_lines() as u64).sum();
        self.failed.get() + self.retired.get() + queued
    }
}

/// What the sinks of one backend did since start-up: kept in [`Counters`], not in a sink, so a sink replaced by a
/// reload or a flip leaves them as they were (they never go down).
#[derive(Default)]
pub(crate) struct BackendCounters {
    pub(crate) spans_exported: Padded,
    pub(crate) spans_dropped: Padded,
    pub(crate) logs_exported: Padded,
    pub(crate) logs_dropped: Padded,
    /// Failed writes (`local`) or export attempts (`otlp`), retried or not.
    pub(crate) export_errors: Padded,
}

impl Counters {
    /// The counters of `backend`'s sinks.
    #[inline]
    pub(crate) fn backend(&self, backend: Backend) -> &BackendCounters {
        &self.backends[backend as usize]
    }

    /// `n` spans exported by a sink of `backend`: its figure and the total.
    #[inline]
    pub(crate) fn spans_exported(&self, backend: Backend, n: u64) {
        self.exported.add(n);
        self.backend(backend).spans_exported.add(n);
    }

    /// `n` spans dropped by a sink of `backend`: its figure and the total.
    #[inline]
    pub(crate) fn spans_dropped(&self, backend: Backend, n: u64) {
        self.dropped.add(n);
        self.backend(backend).spans_dropped.add(n);
    }

    /// `n` log records exported by a sink of `backend`: its figure and the total.
    #[inline]
    pub(crate) fn logs_exported(&self, backend: Backend, n: u64) {
        self.logs_exported.add(n);
        self.backend(backend).logs_exported.add(n);
    }

    /// `n` log records dropped by a sink of `backend`: its figure and the total.
    #[inline]
    pub(crate) fn logs_dropped(&self, backend: Backend, n: u64) {
        self.logs_dropped.add(n);
        self.backend(backend).logs_dropped.add(n);
    }
}

/// Spans that closed past their soft limit or their whole budget, by span name: one pair of counts per name
/// ever budgeted, kept for the process's life (a reload that drops a name keeps its counts).
#[derive(Default)]
pub(crate) struct BudgetCounters {
    by_name: Mutex<BTreeMap<String, Arc<BudgetCount>>>,
}

/// One span name's counts.
#[derive(Default)]
pub(crate) struct BudgetCount {
    /// Closed past the soft limit, within the budget.
    pub(crate) soft: AtomicU64,
    /// Closed past the budget.
    pub(crate) exceeded: AtomicU64,
}

impl BudgetCounters {
    /// The counts of `name`, made at its first call.
    pub(crate) fn of(&self, name: &str) -> Arc<BudgetCount> {
        let mut map = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(name.to_owned()).or_default())
    }

    /// Every name's counts now: (name, over the soft limit, over the budget), by name.
    pub(crate) fn snapshot(&self) -> Vec<(String, u64, u64)> {
        let map = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .map(|(name, c)| (name.clone(), c.soft.load(Relaxed), c.exceeded.load(Relaxed)))
            .collect()
    }
}

/// OTLP metric exports since start-up: points the collector accepted, exports given up and their points.
#[derive(Default)]
pub(crate) struct MetricsExportCounters {
    pub(crate) exports_ok: Padded,
    pub(crate) exports_failed: Padded,
    pub(crate) points_exported: Padded,
    pub(crate) points_dropped: Padded,
}

impl MetricsExportCounters {
    pub(crate) fn snapshot(&self) -> MetricsExportCounts {
        MetricsExportCounts {
            exports_ok: self.exports_ok.get(),
            exports_failed: self.exports_failed.get(),
            points_exported: self.points_exported.get(),
            points_dropped: self.points_dropped.get(),
        }
    }
}

/// OTLP metric exports since start-up (status `metrics.otlp`). They only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MetricsExportCounts {
    /// Export requests the collector accepted.
    pub exports_ok: u64,
    /// Export requests given up after their retries (or cut by shutdown); their points are `points_dropped`.
    pub exports_failed: u64,
    /// Metric points in accepted requests.
    pub points_exported: u64,
    /// Metric points in requests given up. A later export carries their counts on: cumulative points hold
    /// them, and delta points are taken from the last accepted export.
    pub points_dropped: u64,
}

/// Reload attempts by outcome (the start itself is not one).
#[derive(Default)]
pub(crate) struct ReloadCounters {
    pub(crate) applied: Padded,
    pub(crate) unchanged: Padded,
    pub(crate) rejected: Padded,
}

/// How local roots ended (one count per trace, however many sinks), and what the tail buffer holds.
#[derive(Default)]
pub(crate) struct TraceCounters {
    pub(crate) kept_by_head: Padded,
    pub(crate) kept_by_error: Padded,
    pub(crate) kept_by_latency: Padded,
    pub(crate) dropped_by_sampling: Padded,
    pub(crate) dropped_by_bound: Padded,
    /// Undecided traces held now.
    pub(crate) buffered: Padded,
    /// Estimated bytes of the spans held now, and the most ever held.
    pub(crate) buffered_bytes: Padded,
    pub(crate) peak_bytes: Padded,
}

impl TraceCounters {
    /// `n` more bytes held; raises the peak.
    pub(crate) fn hold_bytes(&self, n: u64) {
        let now = self.buffered_bytes.add_get(n);
        self.peak_bytes.0.fetch_max(now, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> TraceCounts {
        TraceCounts {
            kept_by_head: self.kept_by_head.get(),
            kept_by_error: self.kept_by_error.get(),
            kept_by_latency: self.kept_by_latency.get(),
            dropped_by_sampling: self.dropped_by_sampling.get(),
            dropped_by_bound: self.dropped_by_bound.get(),
            buffered: self.buffered.get(),
            buffered_bytes: self.buffered_bytes.get(),
            peak_buffered_bytes: self.peak_bytes.get(),
        }
    }
}

/// Traces by sampling outcome since start-up (one count per trace, at its local root's end), and the tail
/// buffer now. A trace kept for an error that was also slow counts as kept by error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TraceCounts {
    /// Kept by the head decision.
    pub kept_by_head: u64,
    /// Dropped by the head, kept because a span ended in error (`always_sample_errors`).
    pub kept_by_error: u64,
    /// Dropped by the head, kept because the local root was slow (`always_sample_slow_seconds`).
    pub kept_by_latency: u64,
    /// Not kept: dropped by the head, and by the tail when it looked.
    pub dropped_by_sampling: u64,
    /// Dropped whole by a tail bound (`max_spans_per_trace`, `max_traces_in_flight`, `max_age_ms`).
    pub dropped_by_bound: u64,
    /// Undecided traces held now.
    pub buffered: u64,
    /// Estimated bytes of the spans held now.
    pub buffered_bytes: u64,
    /// The most bytes ever held at once.
    pub peak_buffered_bytes: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SpanCounts {
        // Read the outcomes before `started` so a snapshot never shows more finished than started.
        let exported = self.exported.get();
        let dropped = self.dropped.get();
        let sampled_out = self.sampled_out.get();
        let dropped_by_bound = self.dropped_by_bound.get();
        SpanCounts {
            started: self.started.get(),
            exported,
            dropped,
            sampled_out,
            dropped_by_bound,
            events_dropped: self.span_events_dropped.get(),
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
/// balance `started = exported + dropped + sampled_out + dropped_by_bound` (once nothing is in flight) holds
/// either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SpanCounts {
    /// Spans created while a recording backend was active.
    pub started: u64,
    /// Spans written to (or accepted by) their backend.
    pub exported: u64,
    /// Spans a backend could not take (queue full, I/O error, closed after the drain timeout).
    pub dropped: u64,
    /// Spans of traces the sampler did not keep.
    pub sampled_out: u64,
    /// Spans of traces a tail-sampling bound dropped whole.
    pub dropped_by_bound: u64,
    /// Events not held with their span for a backend that carries them with it (OTLP span events): a span holds
    /// at most 128, OpenTelemetry's default limit; the span says how many more it had (`dropped_events_count`).
    /// Not spans: not part of [`SpanCounts::in_flight`].
    pub events_dropped: u64,
}

impl SpanCounts {
    /// Spans started but not yet exported, dropped or sampled out (open spans, spans held undecided by tail
    /// sampling, and queued records).
    pub fn in_flight(&self) -> u64 {
        self.started
            .saturating_sub(self.exported + self.dropped + self.sampled_out + self.dropped_by_bound)
    }
}

/// Log record counts since start-up (events made into log records). They only grow. A record counts once per
/// backend that takes logs, as each writes or drops its copy on its own: `made = exported + dropped` once nothing
/// is in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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

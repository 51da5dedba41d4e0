//! A sink that keeps records in memory: for tests that plug a sink of their own in through the [`Sink`] trait.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use super::{Item, LogRecord, Sink, Takes};
use crate::config::Backend;
use crate::counters::Counters;
use crate::status::{SinkState, SinkStatus};

/// What a [`MemorySink`] was handed: each record's name, and whether it was a span (it has a duration).
pub(crate) struct MemorySink {
    pub(crate) records: Mutex<Vec<(&'static str, bool)>>,
    /// The log records it was handed, when it takes logs.
    pub(crate) logs: Mutex<Vec<LogRecord>>,
    /// Its answer to `takes`.
    pub(crate) takes: Takes,
    pub(crate) flushes: AtomicUsize,
    closed: AtomicBool,
    /// The backend it stands for, so the reload path can be asked to reuse it.
    pub(crate) backend: Backend,
}

impl Default for MemorySink {
    /// A sink that takes spans and instants, as a backend without logs would.
    fn default() -> Self {
        MemorySink::taking(Takes::SPANS.and(Takes::INSTANTS))
    }
}

impl MemorySink {
    /// A sink that takes `takes`.
    pub(crate) fn taking(takes: Takes) -> Self {
        MemorySink {
            records: Mutex::default(),
            logs: Mutex::default(),
            takes,
            flushes: AtomicUsize::default(),
            closed: AtomicBool::default(),
            backend: Backend::Local,
        }
    }

    /// A sink standing for `backend`.
    pub(crate) fn named(backend: Backend) -> Self {
        MemorySink {
            backend,
            ..MemorySink::default()
        }
    }

    /// A sink that takes logs (and so, like `local`, no instants).
    pub(crate) fn logging() -> Self {
        MemorySink::taking(Takes::SPANS.and(Takes::LOGS))
    }

    /// Names of the spans it received, in order.
    pub(crate) fn span_names(&self) -> Vec<&'static str> {
        let records = self.records.lock().map(|r| r.clone()).unwrap_or_default();
        records
            .into_iter()
            .filter(|(_, span)| *span)
            .map(|(n, _)| n)
            .collect()
    }

    fn log(&self, record: LogRecord, counters: &Counters) {
        let kept = !self.is_closed() && self.logs.lock().map(|mut l| l.push(record)).is_ok();
        if kept {
            counters.logs_exported(self.backend, 1);
        } else {
            counters.logs_dropped(self.backend, 1);
        }
    }
}

impl Sink for MemorySink {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn takes(&self) -> Takes {
        self.takes
    }

    fn send(&self, item: Item, counters: &Counters) {
        let record = match item {
            Item::Span(r) | Item::Instant(r) => r,
            Item::Log(r) => return self.log(r, counters),
        };
        let is_span = record.dur_ns.is_some();
        let kept = !self.is_closed()
            && self
                .records
                .lock()
                .map(|mut r| r.push((record.meta.name(), is_span)))
                .is_ok();
        match (is_span, kept) {
            (true, true) => counters.spans_exported(self.backend, 1),
            (true, false) => counters.spans_dropped(self.backend, 1),
            (false, _) => {}
        }
    }

    fn flush(&self, _deadline: Instant) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn status(&self, generation: u64, state: SinkState) -> SinkStatus {
        SinkStatus {
            backend: self.backend.as_str(),
            generation,
            state: super::shown_state(self.is_closed(), state),
            trace_file: None,
            error: None,
            logs_exported: 0,
            logs_dropped: 0,
            otlp: None,
        }
    }
}

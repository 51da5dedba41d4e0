//! Where a generation's spans go. A sink is shared by every generation whose backend settings are equal, so a
//! change of sample rate or filter does not rotate a file.

pub(crate) mod chrome;
pub(crate) mod fields;
pub(crate) mod otlp;
pub(crate) mod record;

use std::sync::Arc;

use crate::counters::Counters;
pub(crate) use record::Record;

/// A generation's destination.
#[derive(Clone)]
pub(crate) enum Sink {
    /// Records nothing; the generation's filter is off so no span reaches it.
    None,
    /// Chrome trace JSON.
    Local(Arc<chrome::ChromeSink>),
    /// OTLP export.
    Otlp(Arc<otlp::OtlpSink>),
}

impl Sink {
    /// True when spans reaching this sink are written somewhere.
    #[inline]
    pub(crate) fn records(&self) -> bool {
        !matches!(self, Sink::None)
    }

    /// True when events inside spans travel with their span (OTLP span events) rather than as instants.
    #[inline]
    pub(crate) fn events_in_spans(&self) -> bool {
        matches!(self, Sink::Otlp(_))
    }

    /// True when the sink was closed (after a drain timeout or at shutdown).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Sink::None => false,
            Sink::Local(s) => s.is_closed(),
            Sink::Otlp(s) => s.is_closed(),
        }
    }

    /// Hands a finished record over; never blocks. A record that cannot be taken is counted as dropped.
    #[inline]
    pub(crate) fn send(&self, record: Record, counters: &Counters) {
        match self {
            Sink::None => {}
            Sink::Local(s) => s.send(record, counters),
            Sink::Otlp(s) => s.send(record, counters),
        }
    }

    /// Stops accepting records; what was accepted is still written.
    pub(crate) fn close(&self) {
        match self {
            Sink::None => {}
            Sink::Local(s) => s.close(),
            Sink::Otlp(s) => s.close(),
        }
    }

    /// Waits until `deadline` at the latest for queued records to be written.
    pub(crate) fn flush(&self, deadline: std::time::Instant) {
        match self {
            Sink::None => {}
            Sink::Local(s) => s.flush(deadline),
            Sink::Otlp(s) => s.flush(deadline),
        }
    }

    /// The file this sink writes, if it writes one.
    pub(crate) fn trace_file(&self) -> Option<&std::path::Path> {
        match self {
            Sink::None | Sink::Otlp(_) => None,
            Sink::Local(s) => Some(s.path()),
        }
    }

    /// The sink's last I/O error, if any.
    pub(crate) fn last_error(&self) -> Option<String> {
        match self {
            Sink::None => None,
            Sink::Local(s) => s.last_error(),
            Sink::Otlp(s) => s.last_error(),
        }
    }

    /// The backend name shown in status.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Sink::None => "none",
            Sink::Local(_) => "local",
            Sink::Otlp(_) => "otlp",
        }
    }

    /// True when both are the same sink (not merely equal settings).
    pub(crate) fn same(&self, other: &Sink) -> bool {
        match (self, other) {
            (Sink::None, Sink::None) => true,
            (Sink::Local(a), Sink::Local(b)) => Arc::ptr_eq(a, b),
            (Sink::Otlp(a), Sink::Otlp(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

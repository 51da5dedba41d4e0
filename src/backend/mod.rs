//! Where a generation's spans go. A sink is shared by every generation whose backend settings are equal, so a
//! change of sample rate or filter does not rotate a file.

pub(crate) mod chrome;
pub(crate) mod fields;
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
}

impl Sink {
    /// True when spans reaching this sink are written somewhere.
    #[inline]
    pub(crate) fn records(&self) -> bool {
        !matches!(self, Sink::None)
    }

    /// True when the sink was closed (after a drain timeout or at shutdown).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Sink::None => false,
            Sink::Local(s) => s.is_closed(),
        }
    }

    /// Hands a finished record over; never blocks. A record that cannot be taken is counted as dropped.
    #[inline]
    pub(crate) fn send(&self, record: Record, counters: &Counters) {
        match self {
            Sink::None => {}
            Sink::Local(s) => s.send(record, counters),
        }
    }

    /// Stops accepting records; what was accepted is still written.
    pub(crate) fn close(&self) {
        if let Sink::Local(s) = self {
            s.close();
        }
    }

    /// Waits until `deadline` at the latest for queued records to be written.
    pub(crate) fn flush(&self, deadline: std::time::Instant) {
        if let Sink::Local(s) = self {
            s.flush(deadline);
        }
    }

    /// The file this sink writes, if it writes one.
    pub(crate) fn trace_file(&self) -> Option<&std::path::Path> {
        match self {
            Sink::None => None,
            Sink::Local(s) => Some(s.path()),
        }
    }

    /// The sink's last I/O error, if any.
    pub(crate) fn last_error(&self) -> Option<String> {
        match self {
            Sink::None => None,
            Sink::Local(s) => s.last_error(),
        }
    }

    /// The backend name shown in status.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Sink::None => "none",
            Sink::Local(_) => "local",
        }
    }

    /// True when both are the same sink (not merely equal settings).
    pub(crate) fn same(&self, other: &Sink) -> bool {
        match (self, other) {
            (Sink::None, Sink::None) => true,
            (Sink::Local(a), Sink::Local(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

//! Where a generation's records go: one module per backend behind one [`Sink`] trait.
//!
//! A backend is a [`SinkKind`] (the config value that names it, and how to build its sink from the config) and
//! the [`Sink`] it builds (send, flush, close, its own status row, and whether it can serve a new config as it
//! is). The reload path asks [`kinds_for`] which kinds a config wants and nothing else about them; a generation holds
//! a [`SinkSet`], so several backends at once is fan-out over the set.
//!
//! | config value | module | sink |
//! |---|---|---|
//! | `local` (Chrome trace JSON files, for Perfetto) | [`local`] | `LocalSink` |
//! | `otlp` (gRPC or HTTP/protobuf) | [`otlp`] | `OtlpSink` |
//! | `none` | — | an empty set |
//!
//! A sink is shared by every generation whose config it answers [`Sink::reusable_for`], so a change of sample
//! rate or filter keeps the same file and the same connection.

pub(crate) mod fields;
pub(crate) mod local;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod otlp;
pub(crate) mod record;

use std::sync::Arc;
use std::time::Instant;

use crate::config::{Backend, TelemetryConfig};
use crate::counters::Counters;
use crate::status::{SinkState, SinkStatus};
use crate::vault::SecretHeaders;
pub(crate) use record::{LogRecord, Record};

/// A backend's running output. Every method but [`Sink::send`] runs on livetel's control thread.
pub(crate) trait Sink: Send + Sync + 'static {
    /// The backend's name in config and status (`local`, `otlp`).
    fn name(&self) -> &'static str;

    /// Hands a finished record over; never blocks. A span that cannot be taken is counted in `counters` (and
    /// the sink's own figures) as dropped.
    fn send(&self, record: Record, counters: &Counters);

    /// True when events inside spans travel with their span (OTLP span events) rather than as instants. A sink
    /// that answers `false` writes the events a span record carries as instants of its own, unless it
    /// [`Sink::takes_logs`] (then it gets the events its logs filter takes as log records instead).
    fn events_in_spans(&self) -> bool {
        false
    }

    /// True when it takes instant records: events outside spans (or inside them, when no sink of the set takes
    /// them with their span).
    fn takes_instants(&self) -> bool {
        true
    }

    /// True when it takes events as log records ([`Sink::send_log`]). Such a sink gets every event it records
    /// that way only: the instant path ([`SinkSet::send_instant`], and the events a span record carries) is not
    /// for it, so no event is written twice.
    fn takes_logs(&self) -> bool {
        false
    }

    /// Hands a log record over; never blocks. A record that cannot be taken is counted in `counters` (and the
    /// sink's own figures) as dropped. Only called on a sink that [`Sink::takes_logs`].
    fn send_log(&self, record: LogRecord, counters: &Counters);

    /// Waits until `deadline` at the latest for what was sent so far to be written.
    fn flush(&self, deadline: Instant);

    /// Stops accepting records; what was accepted is still written.
    fn close(&self);

    /// True once [`Sink::close`] was called.
    fn is_closed(&self) -> bool;

    /// Its row in status, as part of `generation` in `state` (closed overrides `state`).
    fn status(&self, generation: u64, state: SinkState) -> SinkStatus;

    /// True when this sink serves `next` exactly as a new one would (same file, same connection and headers).
    fn reusable_for(&self, next: &SinkInput<'_>) -> bool;
}

/// One backend: the config value that selects it and how to build its sink.
pub(crate) trait SinkKind: Sync {
    /// The config value (`backend = "..."`).
    fn name(&self) -> &'static str;

    /// True when its sinks send the OTLP auth headers from the vault (so the secret is resolved for them).
    fn uses_secret_headers(&self) -> bool {
        false
    }

    /// Builds a new sink for `input`.
    ///
    /// # Errors
    /// What could not be built, and the config key concerned.
    fn build(&self, input: &SinkInput<'_>, cx: &SinkContext) -> Result<Arc<dyn Sink>, BuildError>;
}

/// What a sink is built from: the config, and the secrets resolved for it.
pub(crate) struct SinkInput<'a> {
    pub(crate) config: &'a TelemetryConfig,
    /// The OTLP auth headers from the vault.
    pub(crate) headers: Option<&'a SecretHeaders>,
    /// Starts every trace file name.
    pub(crate) session_id: &'a str,
}

/// A sink that could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct BuildError {
    /// The key concerned, relative to `[telemetry]` (`local.trace_dir`).
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

/// What sinks share across reloads, owned by one `Telemetry` instance.
pub(crate) struct SinkContext {
    pub(crate) counters: Arc<Counters>,
    /// Called from a writer thread when its sink's state changes (an I/O error), to republish status.
    pub(crate) on_change: Arc<dyn Fn() + Send + Sync>,
    /// The OTLP export runtime and retired exporters still finishing.
    pub(crate) otlp: otlp::Shared,
}

impl SinkContext {
    pub(crate) fn new(counters: Arc<Counters>, on_change: Arc<dyn Fn() + Send + Sync>) -> Self {
        SinkContext {
            counters,
            on_change,
            otlp: otlp::Shared::default(),
        }
    }

    /// Waits until `deadline` for retired sinks that finish on their own threads.
    pub(crate) fn wait_retired(&self, deadline: Instant) {
        self.otlp.wait_pending(deadline);
    }
}

/// Queues `msg` on a sink's bounded channel without blocking: false when the sink is closed, its queue is full or
/// its writer is gone (the caller counts the drop).
#[inline]
pub(crate) fn try_queue<M>(tx: &std::sync::mpsc::SyncSender<M>, closed: bool, msg: M) -> bool {
    !closed && tx.try_send(msg).is_ok()
}

/// A sink's state as status shows it: closed whatever its generation's state.
pub(crate) fn shown_state(closed: bool, state: SinkState) -> SinkState {
    if closed { SinkState::Closed } else { state }
}

/// The kinds of sink `cfg` records to, in the order its `backend` lists them; none when it records nothing.
pub(crate) fn kinds_for(cfg: &TelemetryConfig) -> Vec<&'static dyn SinkKind> {
    cfg.effective_backends().iter().filter_map(kind_of).collect()
}

/// The registry: the one place a backend's config value meets its module.
fn kind_of(backend: Backend) -> Option<&'static dyn SinkKind> {
    match backend {
        Backend::None => None,
        Backend::Local => Some(&local::Kind),
        Backend::Otlp => Some(&otlp::Kind),
    }
}

/// The sinks of one generation.
#[derive(Clone, Default)]
pub(crate) struct SinkSet {
    sinks: smallvec::SmallVec<[Arc<dyn Sink>; 2]>,
    /// Cached: true when a sink of the set takes events inside spans with their span.
    events_in_spans: bool,
    /// Cached: true when a sink of the set takes instant records.
    takes_instants: bool,
    /// Cached: true when a sink of the set takes log records.
    takes_logs: bool,
}

impl SinkSet {
    pub(crate) fn new(sinks: impl IntoIterator<Item = Arc<dyn Sink>>) -> Self {
        let sinks: smallvec::SmallVec<[Arc<dyn Sink>; 2]> = sinks.into_iter().collect();
        let events_in_spans = sinks.iter().any(|s| s.events_in_spans());
        let takes_instants = sinks.iter().any(|s| s.takes_instants() && !s.takes_logs());
        let takes_logs = sinks.iter().any(|s| s.takes_logs());
        SinkSet {
            sinks,
            events_in_spans,
            takes_instants,
            takes_logs,
        }
    }

    /// True when spans reaching this set are written somewhere.
    #[inline]
    pub(crate) fn records(&self) -> bool {
        !self.sinks.is_empty()
    }

    /// How many sinks: each span counts once per sink in the span counters.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.sinks.len() as u64
    }

    /// True when events inside spans travel with their span rather than as instants.
    #[inline]
    pub(crate) fn events_in_spans(&self) -> bool {
        self.events_in_spans
    }

    /// True when some sink takes instant records.
    #[inline]
    pub(crate) fn takes_instants(&self) -> bool {
        self.takes_instants
    }

    /// True when some sink takes log records.
    #[inline]
    pub(crate) fn takes_logs(&self) -> bool {
        self.takes_logs
    }

    /// True when every sink was closed (after a drain timeout or at shutdown); false for an empty set.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.records() && self.sinks.iter().all(|s| s.is_closed())
    }

    /// Hands a finished record to every sink; never blocks. Always inlined: with tail sampling it has several
    /// callers, and out of line it costs the hot path a call and a copy of the record.
    #[inline(always)]
    pub(crate) fn send(&self, record: Record, counters: &Counters) {
        match self.sinks.as_slice() {
            [] => {}
            [only] => only.send(record, counters),
            [rest @ .., last] => {
                for sink in rest {
                    sink.send(record.clone(), counters);
                }
                last.send(record, counters);
            }
        }
    }

    /// Hands an instant record to every sink that takes instants (and not logs: those get the event as a log
    /// record); never blocks.
    #[inline]
    pub(crate) fn send_instant(&self, record: Record, counters: &Counters) {
        let takers = self
            .sinks
            .iter()
            .filter(|s| s.takes_instants() && !s.takes_logs());
        fan_out(takers, record, |sink, r| sink.send(r, counters));
    }

    /// Hands a log record to every sink that takes logs, counting it once per sink as made; never blocks.
    #[inline]
    pub(crate) fn send_log(&self, record: LogRecord, counters: &Counters) {
        let takers = self.sinks.iter().filter(|s| s.takes_logs());
        fan_out(takers, record, |sink, r| {
            counters.logs_made.add(1);
            sink.send_log(r, counters);
        });
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Sink>> {
        self.sinks.iter()
    }

    /// True when `sink` is one of this set's (the same sink, not merely equal settings).
    pub(crate) fn contains(&self, sink: &Arc<dyn Sink>) -> bool {
        self.sinks.iter().any(|s| Arc::ptr_eq(s, sink))
    }
}

/// Hands `item` to each of `takers` through `send`: a clone to all but the last, which gets the item itself.
#[inline]
fn fan_out<'a, T: Clone>(
    mut takers: impl Iterator<Item = &'a Arc<dyn Sink>>,
    item: T,
    mut send: impl FnMut(&'a Arc<dyn Sink>, T),
) {
    let Some(mut current) = takers.next() else {
        return;
    };
    for next in takers {
        send(current, item.clone());
        current = next;
    }
    send(current, item);
}

#[cfg(test)]
mod tests {
    use super::memory::MemorySink;
    use super::*;

    #[test]
    fn a_log_goes_to_each_sink_that_takes_logs_and_counts_once_per_sink() {
        let takers = || Arc::new(MemorySink::logging());
        let (a, b, other) = (takers(), takers(), Arc::new(MemorySink::default()));
        let set = SinkSet::new([a.clone() as Arc<dyn Sink>, other.clone(), b.clone()]);
        assert!(set.takes_logs() && set.takes_instants());
        let counters = Counters::default();
        let record = LogRecord::now(&record::TEST_EVENT, record::Fields::new(), None);
        set.send_log(record, &counters);
        let logs = |s: &MemorySink| s.logs.lock().map(|l| l.len()).unwrap_or_default();
        assert_eq!((logs(&a), logs(&b), logs(&other)), (1, 1, 0));
        let c = counters.log_snapshot();
        assert_eq!((c.made, c.exported, c.dropped), (2, 2, 0));
    }

    #[test]
    fn a_set_whose_only_instant_sink_takes_logs_takes_no_instants() {
        let logs = Arc::new(MemorySink::logging());
        assert!(!SinkSet::new([logs as Arc<dyn Sink>]).takes_instants());
    }
}

//! A finished span or an event, as handed from the hot path to a backend's writer. Encoding (JSON, protobuf)
//! happens on the writer's thread, not here.

use super::fields::Collect;
/// A record's fields, defined with their visitor in [`super::fields`]; also named from here, beside the records.
pub(crate) use super::fields::{FieldValue, Fields};

/// W3C ids of a span: what OTLP exports and propagation injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SpanIds {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// 0 for a root.
    pub(crate) parent_span_id: u64,
    pub(crate) parent_remote: bool,
}

/// An event inside a span: an OTLP span event, and a Chrome instant event in the span's thread.
#[derive(Debug, Clone)]
pub(crate) struct EventRecord {
    /// The event's callsite: its name and target.
    pub(crate) meta: &'static tracing_core::Metadata<'static>,
    pub(crate) ts_ns: u64,
    pub(crate) fields: Fields,
}

impl EventRecord {
    /// `event`, stamped now, with its fields.
    pub(crate) fn of(event: &tracing_core::Event<'_>) -> EventRecord {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        EventRecord {
            meta: event.metadata(),
            ts_ns: crate::clock::now_ns(),
            fields,
        }
    }
}

/// At most this many events are held with a span for the sinks that carry them with it (OTLP): OpenTelemetry's
/// default span event limit (`OTEL_SPAN_EVENT_COUNT_LIMIT`). A long-lived span that logs in a loop would otherwise
/// hold every event until it ends.
pub(crate) const MAX_SPAN_EVENTS: usize = 128;

/// The events a span holds: the first [`MAX_SPAN_EVENTS`], and how many more it did not keep (OTLP's
/// `dropped_events_count`).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanEvents {
    kept: Vec<EventRecord>,
    dropped: u32,
}

impl SpanEvents {
    /// Keeps `event()` while there is room; otherwise counts it, without making it. True when kept.
    pub(crate) fn push_with(&mut self, event: impl FnOnce() -> EventRecord) -> bool {
        if self.kept.len() < MAX_SPAN_EVENTS {
            self.kept.push(event());
            true
        } else {
            self.dropped = self.dropped.saturating_add(1);
            false
        }
    }

    /// Events not kept.
    pub(crate) fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Bytes of the kept list's buffer (without what the events point to).
    pub(crate) fn buffer_bytes(&self) -> usize {
        self.kept.capacity() * std::mem::size_of::<EventRecord>()
    }
}

impl std::ops::Deref for SpanEvents {
    type Target = [EventRecord];

    fn deref(&self) -> &[EventRecord] {
        &self.kept
    }
}

/// What a writer needs to emit one trace event. Allocates only for recorded fields and span events. Cloned only
/// to fan out to a second sink.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The callsite: its name, and its target (Chrome's category). One pointer instead of two `&str`s keeps
    /// the record small, and records are moved by value from the traced thread into the queue.
    pub(crate) meta: &'static tracing_core::Metadata<'static>,
    /// Start, in nanoseconds since the trace epoch.
    pub(crate) start_ns: u64,
    /// Duration; `None` for an instant event.
    pub(crate) dur_ns: Option<u64>,
    /// Thread that began it.
    pub(crate) tid: u64,
    pub(crate) fields: Fields,
    pub(crate) ids: SpanIds,
    pub(crate) events: SpanEvents,
    /// What profiling measured while the span was entered; written after its fields.
    #[cfg(feature = "profiling")]
    pub(crate) costs: Costs,
}

/// What profiling measured of a span while it was entered (`[telemetry.profiling]` `cpu_time`, `alloc`): kept
/// beside the fields rather than in them, so a span's fields stay inline (no heap spill on the traced thread);
/// the sinks write them as more Chrome args and OTLP attributes.
#[cfg(feature = "profiling")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Costs {
    /// `pyroscope.profile.id`: the span id its CPU samples carry as `span_id` (`span_labels = "name_and_id"`).
    pub(crate) profile_id: Option<u64>,
    /// `resource.cpu.micros`.
    pub(crate) cpu_micros: Option<u64>,
    /// `alloc.count`, `alloc.bytes`, `dealloc.count`, `dealloc.bytes` (and `alloc.net_bytes` from them).
    pub(crate) alloc: Option<[u64; 4]>,
}

#[cfg(feature = "profiling")]
impl Costs {
    /// As named fields, in the order they are written.
    pub(crate) fn fields(&self) -> smallvec::SmallVec<[(&'static str, FieldValue); 7]> {
        let mut out = smallvec::SmallVec::new();
        if let Some(id) = self.profile_id {
            out.push((
                "pyroscope.profile.id",
                FieldValue::Str(format!("{id:016x}").into()),
            ));
        }
        if let Some(us) = self.cpu_micros {
            out.push(("resource.cpu.micros", FieldValue::U64(us)));
        }
        if let Some([count, bytes, dcount, dbytes]) = self.alloc {
            let net = i128::from(bytes) - i128::from(dbytes);
            let net = i64::try_from(net).unwrap_or(if net < 0 { i64::MIN } else { i64::MAX });
            out.extend([
                ("alloc.count", FieldValue::U64(count)),
                ("alloc.bytes", FieldValue::U64(bytes)),
                ("dealloc.count", FieldValue::U64(dcount)),
                ("dealloc.bytes", FieldValue::U64(dbytes)),
                ("alloc.net_bytes", FieldValue::I64(net)),
            ]);
        }
        out
    }
}

impl Record {
    /// An instant event (Chrome `"ph":"i"`), stamped now on the calling thread.
    pub(crate) fn instant(meta: &'static tracing_core::Metadata<'static>, fields: Fields) -> Record {
        Record {
            meta,
            start_ns: crate::clock::now_ns(),
            dur_ns: None,
            tid: crate::clock::tid(),
            fields,
            ids: SpanIds::default(),
            events: SpanEvents::default(),
            #[cfg(feature = "profiling")]
            costs: Costs::default(),
        }
    }
}

/// An event as a log record: what an OTLP log record and a Chrome instant event are made of. Moved by value from
/// the traced thread into a sink's queue; encoding happens on the sink's own thread.
#[derive(Debug, Clone)]
pub(crate) struct LogRecord {
    /// The event's callsite: its level, target and name.
    pub(crate) meta: &'static tracing_core::Metadata<'static>,
    /// When it happened, in nanoseconds since the trace epoch ([`crate::clock::now_ns`]).
    pub(crate) ts_ns: u64,
    /// The thread it happened on ([`crate::clock::tid`]).
    pub(crate) tid: u64,
    /// Its fields, `message` included.
    pub(crate) fields: Fields,
    /// The ids of the recorded span it happened in, if any, and whether that span's trace is sampled.
    pub(crate) span: Option<(SpanIds, bool)>,
}

impl LogRecord {
    /// A log record stamped now on the calling thread.
    pub(crate) fn now(
        meta: &'static tracing_core::Metadata<'static>,
        fields: Fields,
        span: Option<(SpanIds, bool)>,
    ) -> LogRecord {
        LogRecord {
            meta,
            ts_ns: crate::clock::now_ns(),
            tid: crate::clock::tid(),
            fields,
            span,
        }
    }
}

#[cfg(test)]
static TEST_CALLSITE: tracing_core::callsite::DefaultCallsite =
    tracing_core::callsite::DefaultCallsite::new(&TEST_EVENT);

/// A WARN event of target `agent::tool`, for tests that need a callsite of their own.
#[cfg(test)]
pub(crate) static TEST_EVENT: tracing_core::Metadata<'static> = tracing_core::metadata! {
    name: "event tool.rs:1",
    target: "agent::tool",
    level: tracing_core::Level::WARN,
    fields: &["message", "n", "big"],
    callsite: &TEST_CALLSITE,
    kind: tracing_core::Kind::EVENT,
};

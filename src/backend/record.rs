//! A finished span or an event, as handed from the hot path to a backend's writer.

/// What a writer needs to emit one trace event. Built on the hot path without allocating, unless the span
/// has recorded fields.
#[derive(Debug)]
pub(crate) struct Record {
    /// Span or event name.
    pub(crate) name: &'static str,
    /// The callsite's target; Chrome's category.
    pub(crate) target: &'static str,
    /// Start, in nanoseconds since the trace epoch.
    pub(crate) start_ns: u64,
    /// Duration; `None` for an instant event.
    pub(crate) dur_ns: Option<u64>,
    /// Thread that began it.
    pub(crate) tid: u64,
    /// Recorded fields as the inside of a JSON object (`"a":1,"b":"x"`).
    pub(crate) args: Option<String>,
}

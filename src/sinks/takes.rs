//! What a sink takes, declared in one value, and the items a generation hands to its sinks.
//!
//! A sink answers [`super::Sink::takes`] once, and a [`super::SinkSet`] routes every item by it: a span to the
//! sinks that take spans, a log record to the ones that take logs, and so on. A new signal declares its own
//! capability ([`Takes::bit`]) in its own module; no sink method or set flag is added for it.

use super::record::{LogRecord, Record};

/// A set of capabilities: what kinds of item a sink takes (Vector's `SinkConfig::input()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Takes(u32);

impl Takes {
    /// Finished spans ([`Item::Span`]).
    pub(crate) const SPANS: Takes = Takes::bit(0);
    /// Events inside spans, carried with their span (OTLP span events) rather than written on their own.
    pub(crate) const SPAN_EVENTS: Takes = Takes::bit(1);
    /// Events written on their own ([`Item::Instant`]): outside spans, and inside them when no sink of the set
    /// carries them with their span.
    pub(crate) const INSTANTS: Takes = Takes::bit(2);
    /// Events as log records ([`Item::Log`]).
    pub(crate) const LOGS: Takes = Takes::bit(3);

    /// The capability numbered `n` (below 32). Each signal names its own in its module; the numbers above
    /// are taken.
    pub(crate) const fn bit(n: u32) -> Takes {
        Takes(1 << n)
    }

    /// Both sets.
    pub(crate) const fn and(self, other: Takes) -> Takes {
        Takes(self.0 | other.0)
    }

    /// True when every capability of `other` is in `self`.
    #[inline]
    pub(crate) const fn contains(self, other: Takes) -> bool {
        self.0 & other.0 == other.0
    }
}

/// What a generation hands to a sink ([`super::Sink::send`]).
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A finished span, with the events it carries.
    Span(Record),
    /// An event written on its own.
    Instant(Record),
    /// An event as a log record.
    Log(LogRecord),
}

impl Item {
    /// The capability a sink needs to be handed this item.
    #[inline]
    pub(crate) fn needs(&self) -> Takes {
        match self {
            Item::Span(_) => Takes::SPANS,
            Item::Instant(_) => Takes::INSTANTS,
            Item::Log(_) => Takes::LOGS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Takes;

    #[test]
    fn a_set_contains_its_parts_and_not_others() {
        let local = Takes::SPANS.and(Takes::LOGS);
        assert!(local.contains(Takes::SPANS) && local.contains(Takes::LOGS));
        assert!(!local.contains(Takes::INSTANTS));
        assert!(local.contains(Takes::default()));
        let toy = Takes::bit(17);
        assert!(!local.contains(toy) && local.and(toy).contains(toy));
    }
}

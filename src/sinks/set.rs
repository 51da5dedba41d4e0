//! The sinks of one generation, and the fan-out of every item to the sinks that take it.

use std::sync::Arc;

use smallvec::SmallVec;

use super::takes::{Item, Takes};
use super::{LogRecord, Record, Sink};
use crate::counters::Counters;

type Sinks = SmallVec<[Arc<dyn Sink>; 2]>;

/// The sinks of one generation, routed by what each [`Sink::takes`].
#[derive(Clone, Default)]
pub(crate) struct SinkSet {
    sinks: Sinks,
    /// What each sink takes, in the order of `sinks` (asked once: routing an item reads no vtable).
    each_takes: SmallVec<[Takes; 2]>,
    /// The sinks that take spans: the per-span path fans out over these without asking.
    span_takers: Sinks,
    /// How many sinks take log records: each record counts once per sink as made.
    log_takers: u64,
    /// What the sinks take together.
    takes: Takes,
}

impl SinkSet {
    pub(crate) fn new(sinks: impl IntoIterator<Item = Arc<dyn Sink>>) -> Self {
        let sinks: Sinks = sinks.into_iter().collect();
        let each_takes: SmallVec<[Takes; 2]> = sinks.iter().map(|s| s.takes()).collect();
        let span_takers = sinks
            .iter()
            .zip(&each_takes)
            .filter(|(_, t)| t.contains(Takes::SPANS))
            .map(|(s, _)| Arc::clone(s))
            .collect();
        let log_takers = each_takes.iter().filter(|t| t.contains(Takes::LOGS)).count() as u64;
        let takes = each_takes.iter().fold(Takes::default(), |all, t| all.and(*t));
        SinkSet {
            sinks,
            each_takes,
            span_takers,
            log_takers,
            takes,
        }
    }

    /// True when spans reaching this set are written somewhere.
    #[inline]
    pub(crate) fn records(&self) -> bool {
        !self.span_takers.is_empty()
    }

    /// How many sinks take each span: a span counts once per sink in the span counters.
    #[inline]
    pub(crate) fn span_copies(&self) -> u64 {
        self.span_takers.len() as u64
    }

    /// True when some sink of the set takes `what`.
    #[inline]
    pub(crate) fn takes(&self, what: Takes) -> bool {
        self.takes.contains(what)
    }

    /// True when every sink was closed (after a drain timeout or at shutdown); false for an empty set.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        !self.sinks.is_empty() && self.sinks.iter().all(|s| s.is_closed())
    }

    /// Hands a finished span to every sink that takes spans; never blocks. Always inlined: with tail sampling
    /// it has several callers, and out of line it costs the hot path a call and a copy of the record.
    #[inline(always)]
    pub(crate) fn send_span(&self, record: Record, counters: &Counters) {
        match self.span_takers.as_slice() {
            [] => {}
            [only] => only.send(Item::Span(record), counters),
            [rest @ .., last] => {
                for sink in rest {
                    sink.send(Item::Span(record.clone()), counters);
                }
                last.send(Item::Span(record), counters);
            }
        }
    }

    /// Hands an event written on its own to every sink that takes instants; never blocks.
    #[inline]
    pub(crate) fn send_instant(&self, record: Record, counters: &Counters) {
        self.send(Item::Instant(record), counters);
    }

    /// Hands a log record to every sink that takes logs, counting it once per sink as made; never blocks.
    /// Always inlined, as `send` is: the record is then built in the item it travels in, not copied into it.
    #[inline(always)]
    pub(crate) fn send_log(&self, record: LogRecord, counters: &Counters) {
        counters.logs_made.add(self.log_takers);
        self.send(Item::Log(record), counters);
    }

    /// Hands `item` to every sink that takes its kind: a clone to all but the last, which gets the item itself.
    #[inline(always)]
    fn send(&self, item: Item, counters: &Counters) {
        let mut takers = self.takers(item.needs());
        let Some(mut current) = takers.next() else {
            return;
        };
        for next in takers {
            current.send(item.clone(), counters);
            current = next;
        }
        current.send(item, counters);
    }

    fn takers(&self, what: Takes) -> impl Iterator<Item = &Arc<dyn Sink>> {
        self.sinks
            .iter()
            .zip(&self.each_takes)
            .filter(move |(_, t)| t.contains(what))
            .map(|(s, _)| s)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Sink>> {
        self.sinks.iter()
    }

    /// True when `sink` is one of this set's (the same sink, not merely equal settings).
    pub(crate) fn contains(&self, sink: &Arc<dyn Sink>) -> bool {
        self.sinks.iter().any(|s| Arc::ptr_eq(s, sink))
    }
}

#[cfg(test)]
mod tests {
    use super::super::memory::MemorySink;
    use super::super::record;
    use super::*;

    #[test]
    fn a_log_goes_to_each_sink_that_takes_logs_and_counts_once_per_sink() {
        let takers = || Arc::new(MemorySink::logging());
        let (a, b, other) = (takers(), takers(), Arc::new(MemorySink::default()));
        let set = SinkSet::new([a.clone() as Arc<dyn Sink>, other.clone(), b.clone()]);
        assert!(set.takes(Takes::LOGS) && set.takes(Takes::INSTANTS));
        let counters = Counters::default();
        let record = LogRecord::now(&record::TEST_EVENT, record::Fields::new(), None);
        set.send_log(record, &counters);
        let logs = |s: &MemorySink| s.logs.lock().map(|l| l.len()).unwrap_or_default();
        assert_eq!((logs(&a), logs(&b), logs(&other)), (1, 1, 0));
        let c = counters.log_snapshot();
        assert_eq!((c.made, c.exported, c.dropped), (2, 2, 0));
    }

    #[test]
    fn a_set_whose_only_sink_takes_logs_takes_no_instants() {
        let logs = Arc::new(MemorySink::logging());
        assert!(!SinkSet::new([logs as Arc<dyn Sink>]).takes(Takes::INSTANTS));
    }

    #[test]
    fn a_sink_that_takes_no_spans_gets_none_and_is_not_counted_as_a_copy() {
        let spans = Arc::new(MemorySink::default());
        let logs_only = Arc::new(MemorySink::taking(Takes::LOGS));
        let set = SinkSet::new([spans.clone() as Arc<dyn Sink>, logs_only.clone()]);
        assert_eq!(set.span_copies(), 1);
        let counters = Counters::default();
        let span = Record {
            dur_ns: Some(1),
            ..Record::instant(&record::TEST_EVENT, record::Fields::new())
        };
        set.send_span(span, &counters);
        assert_eq!((spans.span_names().len(), logs_only.span_names().len()), (1, 0));
    }
}

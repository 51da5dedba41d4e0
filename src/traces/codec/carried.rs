//! What a span carries for propagation besides livetel's own state: the context a trace brought from another
//! process, the context a span livetel does not record forwards, and which header formats are live.
//!
//! A leaf: it imports nothing else of `traces`, so [`crate::traces::state`] can hold these types.

use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;

use super::tracestate::TraceStateList;
use super::w3c::TraceParent;
use crate::config::Propagator;
use crate::sinks::record::SpanIds;

/// What a trace brought from the caller besides its ids, passed on unchanged to every outgoing call of the
/// span that adopted it and of its descendants: `tracestate` (its valid members) and W3C baggage.
#[derive(Debug, Default)]
pub(crate) struct Remote {
    pub(crate) trace_state: TraceStateList,
    /// The caller's context, kept for its baggage (OpenTelemetry's `Baggage` is not `Clone`; a `Context` is, at
    /// the cost of a reference count); `None` without baggage.
    pub(crate) baggage: Option<Context>,
}

impl Remote {
    /// What `caller` carries; `None` when there is nothing (no members, no baggage): most spans hold no
    /// allocation.
    pub(crate) fn shared(trace_state: TraceStateList, caller: &Context) -> Option<Arc<Remote>> {
        let baggage = (!caller.baggage().is_empty()).then(|| caller.clone());
        (!trace_state.is_empty() || baggage.is_some()).then(|| Arc::new(Remote { trace_state, baggage }))
    }
}

/// In the registry extensions of a span livetel does not record, set by `propagation::set_parent`: the incoming
/// context, forwarded as received (W3C Trace Context "forwarding", OpenTelemetry's non-recording span). Its
/// descendants' outgoing calls carry the caller's trace id, parent id and sampled flag, and the children livetel
/// records join the caller's trace.
#[derive(Debug, Clone)]
pub(crate) struct Forwarded {
    pub(crate) parent: TraceParent,
    pub(crate) remote: Option<Arc<Remote>>,
    /// The caller left the sampling decision to the callee (B3 without a sampling flag): children livetel
    /// records decide with the generation's sampler, and B3 headers go on without a flag.
    pub(crate) deferred: bool,
}

impl Forwarded {
    /// The sampling decision children inherit: the caller's, or none when the caller deferred it.
    pub(crate) fn sampled(&self) -> Option<bool> {
        (!self.deferred).then_some(self.parent.sampled)
    }

    /// The caller's span, as the parent of a span livetel records below this one.
    pub(crate) fn ids(&self) -> SpanIds {
        SpanIds {
            trace_id: self.parent.trace_id,
            span_id: self.parent.span_id,
            parent_span_id: 0,
            parent_remote: true,
        }
    }
}

/// The header formats live in a generation (`[telemetry] propagators`): which are on, and the order extraction
/// tries the trace formats in (the order of the list; the first that yields a context wins: OpenTelemetry's
/// composite propagator). Injection writes all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Propagators {
    set: u8,
    /// The trace formats in the list's order (`tracecontext` and one entry for B3, single or multi: the B3 reader
    /// takes either form); unused slots `None`.
    order: [Option<Extraction>; 2],
}

/// A trace-context format extraction tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extraction {
    /// `traceparent` and `tracestate`.
    TraceContext,
    /// `b3`, else the `x-b3-*` headers.
    B3,
}

impl Propagators {
    /// `["tracecontext", "baggage"]`, the default and what OpenTelemetry SDKs use.
    pub(crate) const DEFAULT: Propagators = Propagators {
        set: 1 | 2,
        order: [Some(Extraction::TraceContext), None],
    };

    const fn bit(p: Propagator) -> u8 {
        match p {
            Propagator::TraceContext => 1,
            Propagator::Baggage => 2,
            Propagator::B3 => 4,
            Propagator::B3Multi => 8,
        }
    }

    /// The set of `list`, extraction in its order.
    pub(crate) fn of(list: &[Propagator]) -> Propagators {
        let mut order = [None; 2];
        let mut next = 0;
        for p in list {
            let e = match p {
                Propagator::TraceContext => Extraction::TraceContext,
                Propagator::B3 | Propagator::B3Multi => Extraction::B3,
                Propagator::Baggage => continue,
            };
            if !order.contains(&Some(e)) {
                order[next] = Some(e);
                next += 1;
            }
        }
        Propagators {
            set: list.iter().fold(0, |acc, p| acc | Self::bit(*p)),
            order,
        }
    }

    /// The trace formats extraction tries, in order.
    pub(crate) fn extraction_order(self) -> impl Iterator<Item = Extraction> {
        self.order.into_iter().flatten()
    }

    /// True when `p` is in the set.
    #[inline]
    pub(crate) fn has(self, p: Propagator) -> bool {
        self.set & Self::bit(p) != 0
    }
}

impl Default for Propagators {
    fn default() -> Self {
        Propagators::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_holds_what_the_list_names() {
        let p = Propagators::of(&[Propagator::B3Multi, Propagator::TraceContext]);
        assert!(p.has(Propagator::TraceContext) && p.has(Propagator::B3Multi));
        assert!(!p.has(Propagator::Baggage) && !p.has(Propagator::B3));
        assert_eq!(
            Propagators::of(&[Propagator::TraceContext, Propagator::Baggage]),
            Propagators::DEFAULT
        );
    }

    #[test]
    fn extraction_follows_the_list() {
        let order = |list: &[Propagator]| Propagators::of(list).extraction_order().collect::<Vec<_>>();
        use Extraction::{B3, TraceContext};
        assert_eq!(
            order(&[Propagator::TraceContext, Propagator::B3]),
            [TraceContext, B3]
        );
        assert_eq!(
            order(&[
                Propagator::B3Multi,
                Propagator::Baggage,
                Propagator::TraceContext,
                Propagator::B3
            ]),
            [B3, TraceContext]
        );
        assert_eq!(order(&[Propagator::Baggage]), []);
        assert_eq!(
            Propagators::DEFAULT.extraction_order().collect::<Vec<_>>(),
            [TraceContext]
        );
    }
}

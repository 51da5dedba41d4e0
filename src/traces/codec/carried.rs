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

/// The header formats live in a generation (`[telemetry] propagators`), as a set. Extraction tries them in a
/// fixed order (`tracecontext`, then `b3`, then `b3multi`; the first valid context wins); injection writes all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Propagators(u8);

impl Propagators {
    /// `["tracecontext", "baggage"]`, the default and what OpenTelemetry SDKs use.
    pub(crate) const DEFAULT: Propagators = Propagators(1 | 2);

    const fn bit(p: Propagator) -> u8 {
        match p {
            Propagator::TraceContext => 1,
            Propagator::Baggage => 2,
            Propagator::B3 => 4,
            Propagator::B3Multi => 8,
        }
    }

    /// The set of `list`.
    pub(crate) fn of(list: &[Propagator]) -> Propagators {
        Propagators(list.iter().fold(0, |acc, p| acc | Self::bit(*p)))
    }

    /// True when `p` is in the set.
    #[inline]
    pub(crate) fn has(self, p: Propagator) -> bool {
        self.0 & Self::bit(p) != 0
    }

    /// True when a B3 form is in the set.
    #[inline]
    pub(crate) fn any_b3(self) -> bool {
        self.has(Propagator::B3) || self.has(Propagator::B3Multi)
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
        assert!(p.any_b3());
        assert_eq!(
            Propagators::of(&[Propagator::TraceContext, Propagator::Baggage]),
            Propagators::DEFAULT
        );
        assert!(!Propagators::of(&[]).any_b3());
    }
}

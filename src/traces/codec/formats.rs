//! The header formats: W3C Trace Context (livetel's own codecs, [`super::w3c`] and [`super::tracestate`]), W3C
//! Baggage (`opentelemetry_sdk`'s `BaggagePropagator`) and Zipkin B3 ([`super::b3`]).

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::BaggagePropagator;

use super::b3::{self, B3};
use super::carried::{Extraction, Propagators, Remote};
use super::tracestate::TraceStateList;
use super::w3c::TraceParent;
use crate::config::Propagator;

pub(crate) const TRACEPARENT: &str = "traceparent";
pub(crate) const TRACESTATE: &str = "tracestate";

const BAGGAGE: &str = "baggage";

/// In a context read from a B3 caller that left the sampling decision to us. (The trace flag `0x02`, which
/// `opentelemetry-zipkin` used for it, is W3C Trace Context Level 2's `random` flag.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct B3Deferred;

/// In a context read from a B3 caller that sent a deny without ids (`b3: 0`): no parent, not sampled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct B3Denied;

/// The `tracestate` list that came with a W3C parent, whole: an OpenTelemetry `TraceState` cannot hold every key
/// the spec allows (Level 2 keys with several `@`, a 14-character system id), so livetel keeps its own copy in
/// the context next to the span context.
#[derive(Debug, Clone)]
pub(crate) struct Incoming(pub(crate) TraceStateList);

/// What an outgoing call carries: the parent (the current span, or the caller's when forwarding) and what came
/// with the trace.
pub(crate) struct Outgoing {
    pub(crate) parent: TraceParent,
    pub(crate) remote: Option<std::sync::Arc<Remote>>,
    /// The parent is the caller's span, forwarded by a span livetel does not record.
    pub(crate) forwarded: bool,
    /// The forwarded caller left sampling to the callee: B3 goes on without a sampling flag.
    pub(crate) deferred: bool,
}

/// Reads the caller's context with the live propagators: baggage beside the trace formats, which are tried in
/// the configured order (the first that yields a context wins; a B3 deny without ids counts as B3's answer).
pub(crate) fn extract(p: Propagators, extractor: &dyn Extractor) -> Context {
    let mut cx = Context::new();
    if p.has(Propagator::Baggage) {
        let joined = JoinedBaggage::of(extractor);
        cx = BaggagePropagator::new().extract_with_context(&cx, &joined);
    }
    for format in p.extraction_order() {
        match format {
            Extraction::TraceContext => {
                let Some((parent, list)) = trace_context(extractor) else {
                    continue;
                };
                if list.is_empty() {
                    return otel_context(cx, parent, true, TraceState::NONE);
                }
                let state = otel_trace_state(&list);
                return otel_context(cx, parent, true, state).with_value(Incoming(list));
            }
            Extraction::B3 => {
                if let Some(found) = B3::extract(extractor) {
                    let cx = otel_context(cx, found.parent(), true, TraceState::NONE);
                    return if found.sampled.is_none() {
                        cx.with_value(B3Deferred)
                    } else {
                        cx
                    };
                }
                if b3::denies(extractor) {
                    return cx.with_value(B3Denied);
                }
            }
        }
    }
    cx
}

/// True when `cx` holds a B3 deny without ids.
pub(crate) fn denied(cx: &Context) -> bool {
    cx.get::<B3Denied>().is_some() && !cx.span().span_context().is_valid()
}

/// The caller's `baggage` headers as one list (W3C Baggage: several headers are one list), read when the baggage
/// propagator asks for them and once only: a carrier with one header (or none) costs the lookup it did before.
struct JoinedBaggage<'a> {
    inner: &'a dyn Extractor,
    /// The header's value: the only one, or several joined (set at the first ask).
    value: std::cell::OnceCell<Option<std::borrow::Cow<'a, str>>>,
}

impl<'a> JoinedBaggage<'a> {
    fn of(inner: &'a dyn Extractor) -> JoinedBaggage<'a> {
        JoinedBaggage {
            inner,
            value: std::cell::OnceCell::new(),
        }
    }
}

impl Extractor for JoinedBaggage<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if !key.eq_ignore_ascii_case(BAGGAGE) {
            return self.inner.get(key);
        }
        let inner: &dyn Extractor = self.inner;
        let value = self.value.get_or_init(|| {
            let all = inner.get_all(BAGGAGE)?;
            Some(match all.as_slice() {
                [only] => std::borrow::Cow::Borrowed(*only),
                _ => {
                    let values: Vec<&str> = all.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
                    std::borrow::Cow::Owned(values.join(","))
                }
            })
        });
        value.as_deref()
    }

    fn keys(&self) -> Vec<&str> {
        self.inner.keys()
    }
}

/// W3C Trace Context from every value of both headers: a duplicated `traceparent` is invalid (a new trace
/// starts); several `tracestate` headers are one list. `tracestate` is not read without a valid `traceparent`.
fn trace_context(extractor: &dyn Extractor) -> Option<(TraceParent, TraceStateList)> {
    let parents = extractor.get_all(TRACEPARENT)?;
    let [only] = parents.as_slice() else {
        return None;
    };
    let parent = TraceParent::decode(only)?;
    let list = extractor
        .get_all(TRACESTATE)
        .map(TraceStateList::decode)
        .unwrap_or_default();
    Some((parent, list))
}

/// The caller's parent in an OpenTelemetry context: its ids, whether to follow its sampled flag, and its
/// `tracestate` (livetel's copy when it read the headers itself, else the context's own).
pub(crate) fn remote_parent(cx: &Context) -> Option<(TraceParent, bool, TraceStateList)> {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let parent = TraceParent {
        trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
        sampled: sc.is_sampled(),
        random: sc.trace_flags().to_u8() & 0x02 != 0,
    };
    let deferred = cx.get::<B3Deferred>().is_some();
    let list = match cx.get::<Incoming>() {
        Some(incoming) => incoming.0.clone(),
        None if sc.trace_state() == &TraceState::NONE => TraceStateList::default(),
        None => TraceStateList::decode([sc.trace_state().header().as_str()]),
    };
    Some((parent, !deferred, list))
}

/// Writes `out` in every live format.
pub(crate) fn inject(p: Propagators, out: &Outgoing, injector: &mut dyn Injector) {
    let remote = out.remote.as_deref();
    if p.has(Propagator::TraceContext) {
        injector.set(TRACEPARENT, out.parent.encode());
        if let Some(r) = remote.filter(|r| !r.trace_state.is_empty()) {
            // Forwarded as received beside the caller's unchanged `traceparent`; cleaned where this span is the
            // new parent.
            let list = &r.trace_state;
            let value = if out.forwarded {
                list.received()
            } else {
                list.header()
            };
            injector.set(TRACESTATE, value.to_owned());
        }
    }
    let sampled = (!out.deferred).then_some(out.parent.sampled);
    if p.has(Propagator::B3) {
        b3::inject_single(&out.parent, sampled, injector);
    }
    if p.has(Propagator::B3Multi) {
        b3::inject_multi(&out.parent, sampled, injector);
    }
    if let Some(cx) = remote
        .and_then(|r| r.baggage.as_ref())
        .filter(|_| p.has(Propagator::Baggage))
    {
        BaggagePropagator::new().inject_context(cx, injector);
    }
}

/// An OpenTelemetry `TraceState` of the members it accepts (all, but for keys past its Level 1 check).
fn otel_trace_state(list: &TraceStateList) -> TraceState {
    if list.is_empty() {
        return TraceState::NONE;
    }
    TraceState::from_key_value(list.pairs()).unwrap_or_else(|_| {
        let accepted = list
            .pairs()
            .filter(|kv| TraceState::from_key_value([*kv]).is_ok());
        TraceState::from_key_value(accepted).unwrap_or_default()
    })
}

/// `cx` holding one span context.
pub(crate) fn otel_context(cx: Context, parent: TraceParent, remote: bool, state: TraceState) -> Context {
    let sc = SpanContext::new(
        TraceId::from(parent.trace_id),
        SpanId::from(parent.span_id),
        TraceFlags::new(parent.flags()),
        remote,
        state,
    );
    cx.with_remote_span_context(sc)
}

/// An OpenTelemetry `TraceState` for what a span carries (for [`super::context`]).
pub(crate) fn trace_state_of(remote: Option<&Remote>) -> TraceState {
    remote.map_or(TraceState::NONE, |r| otel_trace_state(&r.trace_state))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A carrier with several values per header, as HTTP allows.
    struct Headers(Vec<(&'static str, &'static str)>);

    impl Extractor for Headers {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        }

        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| *k).collect()
        }

        fn get_all(&self, key: &str) -> Option<Vec<&str>> {
            let all: Vec<&str> = self
                .0
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .collect();
            (!all.is_empty()).then_some(all)
        }
    }

    #[test]
    fn baggage_is_one_list_however_many_headers_and_asks() {
        let one = HashMap::from([("baggage".to_owned(), "a=1".to_owned())]);
        let joined = JoinedBaggage::of(&one);
        assert_eq!(
            (joined.get("baggage"), joined.get("baggage")),
            (Some("a=1"), Some("a=1"))
        );
        let several = Headers(vec![("baggage", "a=1"), ("baggage", " b=2 "), ("baggage", "")]);
        let joined = JoinedBaggage::of(&several);
        assert_eq!(
            (joined.get("baggage"), joined.get("baggage")),
            (Some("a=1,b=2"), Some("a=1,b=2"))
        );
        assert_eq!(JoinedBaggage::of(&Headers(Vec::new())).get("baggage"), None);
    }
}

//! Trace context across process boundaries (W3C Trace Context, W3C Baggage, B3), unaffected by reloads.
//!
//! A span's trace id, span id and sampling decision live in livetel's own span state, which these functions
//! reach through the `Registry`. Nothing here downcasts to a layer that a reload could replace, so propagation
//! keeps working after any number of reloads (the trap of tracing-opentelemetry #121 does not apply).
//!
//! # Formats
//! `[telemetry] propagators` (default `["tracecontext", "baggage"]`; `OTEL_PROPAGATORS` overrides it) names the
//! formats [`extract`] reads and [`inject`] writes, read per call from the livetel instance of the current
//! dispatcher, so a reload changes them for the next call. Without livetel in the dispatcher the default
//! applies. `traceparent` and `tracestate` go through livetel's own codecs, strictly per W3C Trace Context:
//! every value of each header is read, a duplicated `traceparent` is invalid (a new trace starts), several
//! `tracestate` headers are one list, and a `tracestate` that breaks the grammar anywhere (an invalid member, a
//! key over 256 characters, more than 32 members, a repeated key) is discarded whole, as the W3C test suite
//! expects. Level 2's `random` trace flag is kept on the caller's trace and set on trace ids livetel makes.
//! Baggage goes through `opentelemetry_sdk`'s `BaggagePropagator`, every `baggage` header joined into one list;
//! `"b3"` (single header) and `"b3multi"` through a small codec of livetel's (`opentelemetry-zipkin`, which has
//! one, marks itself deprecated). Extraction tries the trace formats in the order of `propagators` (the first
//! that yields a context wins; a B3 deny without ids, `b3: 0`, makes the span the root of a trace of its own,
//! not sampled); injection writes every format.
//!
//! # Spans livetel does not record
//! A service must not cut a trace in two because it records nothing (`backend = "none"`, `enabled = false`, a
//! filter that leaves the span out). When [`set_parent`] finds no livetel state on the span (it exists in the
//! `Registry` for another layer of your stack, or it is livetel's own server span of the `http` or `grpc`
//! feature, which exists even at `none`), it stores the caller's context on the span instead. [`inject`] then
//! writes, for that span and its descendants, the caller's `traceparent` unchanged — same trace id, the
//! caller's span as parent, its sampled flag — with `tracestate` and baggage unchanged. This is W3C Trace
//! Context's *forwarding* (the spec allows "pass-through services" to leave `traceparent` as received, and
//! then `tracestate` must be left as received too) and what OpenTelemetry's non-recording spans do: nothing
//! of this service appears in the trace, so the callee's parent is the last span that does. A span livetel
//! records below such a span joins the caller's trace, its parent the caller's span.
//!
//! Limit: in your own stack, a span of *yours* that livetel's filter leaves out is invisible to the spans
//! livetel records below it (tracing-subscriber's per-layer filtering hides it from livetel's layer), so those
//! start a trace of their own; outgoing calls made under it directly still forward. livetel's own server spans
//! have no such limit: livetel's filter always admits them.
//!
//! # Examples
//! ```
//! use std::collections::HashMap;
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("t.toml");
//! # std::fs::write(&path, format!("[telemetry]\nwatch = false\nbackend = \"local\"\n[telemetry.local]\ntrace_dir = {:?}\n", dir.path().display().to_string())).unwrap();
//! # let telemetry = livetel::Builder::new(&path).reload_on_sighup(false).build().unwrap();
//! # tracing::dispatcher::with_default(telemetry.dispatch().unwrap(), || {
//! let call = tracing::info_span!("a2a.call");
//! let mut headers = HashMap::new();
//! livetel::propagation::inject(&call, &mut headers);
//! assert!(headers["traceparent"].starts_with("00-"));
//!
//! // The other side:
//! let handle = tracing::info_span!(parent: None, "a2a.handle");
//! let remote = livetel::propagation::extract(&headers);
//! assert!(livetel::propagation::set_parent(&handle, &remote));
//! assert_eq!(livetel::propagation::trace_id(&handle), livetel::propagation::trace_id(&call));
//! # });
//! ```

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use tracing::Dispatch;
use tracing_subscriber::registry::{LookupSpan, Registry};

use super::codec::formats::{self, Outgoing};
use super::codec::tracestate::TraceStateList;
use super::codec::w3c::TraceParent;
use super::codec::{Forwarded, Propagators, Remote};
use super::sampler;

use super::SpanState;
use super::live::Live;

/// Writes the context of `span` into `injector`, in every live format: its own ids when livetel records it, else
/// the caller's context it forwards (see the module docs), else (a span with no trace at all) nothing.
pub fn inject(span: &tracing::Span, injector: &mut dyn Injector) {
    let Some((out, propagators)) = outgoing(span) else {
        return;
    };
    formats::inject(propagators, &out, injector);
}

/// Reads the caller's context from `extractor` in the live formats (the trace formats in the order of
/// `propagators`; baggage beside them). The result holds no valid span context when the headers are missing or
/// malformed; an invalid `tracestate` is dropped whole, the `traceparent` beside it kept.
pub fn extract(extractor: &dyn Extractor) -> Context {
    let propagators = tracing::dispatcher::get_default(propagators_of);
    formats::extract(propagators, extractor)
}

/// A consumer span named `name` (`otel.kind = "consumer"`) for a message received over any transport, that joins
/// the sender's trace from `headers` (a `HashMap<String, String>` filled by [`inject`] on the sender's side, or
/// anything implementing OpenTelemetry's `Extractor`): its child when livetel records it, and when livetel
/// records nothing (`backend = "none"`, `enabled = false`, a filter that leaves `livetel::consumer` out) still a
/// span that forwards the sender's context to the calls made under it. It is livetel's own callsite (target
/// `livetel::consumer`, callsite name `consume`; the sinks name the span `name`, its `otel.name`), the one the
/// HTTP server span also has: admitted whatever livetel's config. A root of its own trace when `headers` carry
/// no valid context.
///
/// ```
/// use std::collections::HashMap;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("t.toml");
/// # std::fs::write(&path, "[telemetry]\nwatch = false\nbackend = \"none\"\n").unwrap();
/// # let telemetry = livetel::Builder::new(&path).reload_on_sighup(false).build().unwrap();
/// # tracing::dispatcher::with_default(telemetry.dispatch().unwrap(), || {
/// let headers = HashMap::from([(
///     "traceparent".to_owned(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
/// )]);
/// let span = livetel::propagation::consumer_span("orders process", &headers);
/// // At `none` too, the span forwards the sender's context.
/// let mut out = HashMap::new();
/// livetel::propagation::inject(&span, &mut out);
/// assert_eq!(out["traceparent"], headers["traceparent"]);
/// # });
/// ```
pub fn consumer_span(name: &str, headers: &dyn Extractor) -> tracing::Span {
    let span = super::codec::consumer_span(name);
    set_parent(&span, &extract(headers));
    span
}

/// Makes the remote span in `parent` the parent of `span`: `span` joins its trace, follows its sampling decision
/// (parent-based sampling; B3's "deferred" keeps livetel's own) and carries its `tracestate` and baggage to
/// outgoing calls. Call it before `span` has children. When livetel does not record `span` but it exists, the
/// span forwards the caller's context unchanged (module docs). Returns false when `parent` holds no valid remote
/// span or `span` is disabled.
pub fn set_parent(span: &tracing::Span, parent: &Context) -> bool {
    if formats::denied(parent) {
        return deny(span, parent);
    }
    let Some((caller, follow_sampled, list)) = formats::remote_parent(parent) else {
        return false;
    };
    let remote = Remote::shared(list, parent);
    with_span(span, |ext| match ext.get_mut::<SpanState>() {
        Some(state) => {
            let flag = follow_sampled.then_some(caller.sampled);
            state.adopt_remote_parent(caller.trace_id, caller.span_id, flag);
            state.remote = remote;
            state.random = caller.random;
        }
        None => {
            ext.replace(Forwarded {
                parent: caller,
                remote,
                deferred: !follow_sampled,
            });
        }
    })
    .is_some()
}

/// A B3 caller's deny without ids: `span` begins a trace of its own, not sampled, and its outgoing calls say
/// so. A span livetel does not record forwards a new trace id (and span id) with the sampled flag off.
fn deny(span: &tracing::Span, parent: &Context) -> bool {
    let remote = Remote::shared(TraceStateList::default(), parent);
    with_span(span, |ext| match ext.get_mut::<SpanState>() {
        Some(state) => {
            state.deny();
            if remote.is_some() {
                state.remote = remote;
            }
        }
        None => {
            let parent = TraceParent {
                trace_id: sampler::trace_id(),
                span_id: sampler::span_id(),
                sampled: false,
                random: true,
            };
            ext.replace(Forwarded {
                parent,
                remote,
                deferred: false,
            });
        }
    })
    .is_some()
}

/// The OpenTelemetry context of `span` (its span context, `tracestate` and baggage), for APIs that take one:
/// its own when livetel records it, the caller's when it forwards one.
pub fn context(span: &tracing::Span) -> Option<Context> {
    let (out, _) = outgoing(span)?;
    let remote = out.remote.as_deref();
    let state = formats::trace_state_of(remote);
    let cx = remote.and_then(|r| r.baggage.clone()).unwrap_or_default();
    Some(formats::otel_context(cx, out.parent, out.forwarded, state))
}

/// `span`'s trace id as 32 lowercase hex digits: its own trace when livetel records it, the caller's when it
/// forwards one.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    outgoing(span).map(|(out, _)| format!("{:032x}", out.parent.trace_id))
}

/// The live formats of the livetel instance in `dispatch`; the default where there is none.
fn propagators_of(dispatch: &Dispatch) -> Propagators {
    dispatch
        .downcast_ref::<Live>()
        .map_or(Propagators::DEFAULT, |live| live.current().propagators)
}

/// What an outgoing call under `span` carries: from the first of `span` and its ancestors that livetel records
/// or that forwards a caller's context.
fn outgoing(span: &tracing::Span) -> Option<(Outgoing, Propagators)> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let out = registry.span(id)?.scope().find_map(|s| {
            let ext = s.extensions();
            if let Some(state) = ext.get::<SpanState>() {
                let parent = TraceParent {
                    trace_id: state.ids.trace_id,
                    span_id: state.ids.span_id,
                    sampled: state.sampled,
                    random: state.random,
                };
                return Some(Outgoing {
                    parent,
                    remote: state.remote.clone(),
                    forwarded: false,
                    deferred: false,
                });
            }
            ext.get::<Forwarded>().map(|f| Outgoing {
                parent: f.parent,
                remote: f.remote.clone(),
                forwarded: true,
                deferred: f.deferred,
            })
        })?;
        Some((out, propagators_of(dispatch)))
    })
    .flatten()
}

/// Runs `f` on the registry extensions of `span`.
fn with_span<R>(
    span: &tracing::Span,
    f: impl FnOnce(&mut tracing_subscriber::registry::ExtensionsMut<'_>) -> R,
) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(id)?;
        let mut ext = data.extensions_mut();
        Some(f(&mut ext))
    })
    .flatten()
}

//! W3C trace context (`traceparent` / `tracestate`) across process boundaries, unaffected by reloads.
//!
//! A span's trace id, span id and sampling decision live in livetel's own span state, which these functions
//! reach through the `Registry`. Nothing here downcasts to a layer that a reload could replace, so propagation
//! keeps working after any number of reloads (the trap of tracing-opentelemetry #121 does not apply).
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

mod w3c;

use std::str::FromStr;
use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_subscriber::registry::{LookupSpan, Registry};

use super::SpanState;
use w3c::TraceParent;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// Writes `span`'s `traceparent` (and `tracestate`, if its trace has one) into `injector`. Writes nothing for
/// a span livetel does not record (disabled, or backend `none`).
pub fn inject(span: &tracing::Span, injector: &mut dyn Injector) {
    let Some((parent, state)) = with_state(span, |s| {
        (trace_parent(s), s.trace_state.as_ref().map(|ts| ts.header()))
    }) else {
        return;
    };
    injector.set(TRACEPARENT, parent.encode());
    if let Some(state) = state.filter(|h| !h.is_empty()) {
        injector.set(TRACESTATE, state);
    }
}

/// Reads a remote parent from `traceparent` / `tracestate` (W3C Trace Context). The result is empty (no valid
/// span context) when the headers are missing or malformed; a malformed `tracestate` alone is dropped.
pub fn extract(extractor: &dyn Extractor) -> Context {
    let Some(parent) = extractor.get(TRACEPARENT).and_then(TraceParent::decode) else {
        return Context::new();
    };
    let state = extractor
        .get(TRACESTATE)
        .and_then(|h| TraceState::from_str(h).ok())
        .unwrap_or_default();
    otel_context(parent, true, state)
}

/// Makes the remote span in `parent` the parent of `span`: `span` joins its trace and follows its sampling
/// decision (parent-based sampling). Call it before `span` has children. Returns false when `parent` holds no
/// valid remote span or livetel does not record `span`.
pub fn set_parent(span: &tracing::Span, parent: &Context) -> bool {
    let remote = parent.span().span_context().clone();
    if !remote.is_valid() {
        return false;
    }
    with_state(span, |state| {
        let trace_id = u128::from_be_bytes(remote.trace_id().to_bytes());
        let span_id = u64::from_be_bytes(remote.span_id().to_bytes());
        state.adopt_remote_parent(trace_id, span_id, remote.is_sampled());
        let ts = remote.trace_state();
        state.trace_state = (ts != &TraceState::NONE).then(|| Arc::new(ts.clone()));
    })
    .is_some()
}

/// The OpenTelemetry context of `span`, for APIs that take one.
pub fn context(span: &tracing::Span) -> Option<Context> {
    with_state(span, |state| {
        let ts = state.trace_state.as_deref().cloned().unwrap_or_default();
        otel_context(trace_parent(state), false, ts)
    })
}

/// The ids and sampled flag of a span livetel records.
fn trace_parent(state: &SpanState) -> TraceParent {
    TraceParent {
        trace_id: state.ids.trace_id,
        span_id: state.ids.span_id,
        sampled: state.sampled,
    }
}

/// An OpenTelemetry context holding one span context (remote: it came from another process).
fn otel_context(parent: TraceParent, remote: bool, state: TraceState) -> Context {
    let flags = if parent.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let sc = SpanContext::new(
        TraceId::from(parent.trace_id),
        SpanId::from(parent.span_id),
        flags,
        remote,
        state,
    );
    Context::new().with_remote_span_context(sc)
}

/// `span`'s trace id as 32 lowercase hex digits, when livetel records it.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    with_state(span, |state| format!("{:032x}", state.ids.trace_id))
}

fn with_state<R>(span: &tracing::Span, f: impl FnOnce(&mut SpanState) -> R) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(id)?;
        let mut ext = data.extensions_mut();
        ext.get_mut::<SpanState>().map(f)
    })
    .flatten()
}

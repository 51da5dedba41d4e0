//! livetel's own server span (target `livetel::http`, name `http.request`): the span the `http` feature's
//! `TraceLayer` hook opens for each request, and the one callsite that exists even when livetel records nothing.
//!
//! A trace must cross a service that records nothing (`backend = "none"`, `enabled = false`, or a filter that
//! leaves the span out) in one piece: the request's span carries the caller's context to the calls the handler
//! makes (W3C "forwarding"). With livetel alone at `none`, every callsite's interest is `never`, so there would be
//! no span to carry it. This callsite is the narrow exception ([`crate::traces::gate`]): its interest is always
//! `sometimes` and the gate admits it, so the span exists in the `Registry`; the recorder records it only when
//! the generation's filter wants it, and otherwise leaves it a non-recording carrier. User callsites keep their
//! exact interest, so `none` still costs what no subscriber costs (P1_none, P2 in `docs/PERFORMANCE.md`).
//!
//! The span is built from a static callsite rather than `info_span!`: the macro first checks tracing's global
//! max level, which is `OFF` at `none`, and livetel keeps it there for the sake of every other callsite.

use tracing_core::callsite::DefaultCallsite;
use tracing_core::field::Value;
use tracing_core::{Kind, Level, Metadata, metadata};

/// The target of livetel's server span.
pub(crate) const TARGET: &str = "livetel::http";

static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);
static META: Metadata<'static> = metadata! {
    name: "http.request",
    target: TARGET,
    level: Level::INFO,
    fields: &["http.request.method", "url.path", "otel.kind"],
    callsite: &CALLSITE,
    kind: Kind::SPAN,
};

/// True for livetel's server span.
#[inline]
pub(crate) fn is_carrier(meta: &Metadata<'_>) -> bool {
    std::ptr::eq(
        meta as *const Metadata<'_> as *const (),
        &META as *const Metadata<'static> as *const (),
    )
}

/// A new server span for a request, a root or a child of the current span; disabled only when the current
/// subscriber turns it away (no subscriber, or one without livetel that does not want it).
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn server_span(method: &str, path: &str) -> tracing::Span {
    let interest = CALLSITE.interest();
    if interest.is_never() {
        return tracing::Span::none();
    }
    if !interest.is_always() && !tracing::dispatcher::get_default(|d| d.enabled(&META)) {
        return tracing::Span::none();
    }
    let fields = META.fields();
    let mut names = fields.iter();
    let (Some(m), Some(p), Some(k)) = (names.next(), names.next(), names.next()) else {
        return tracing::Span::none();
    };
    let values: [(&_, Option<&dyn Value>); 3] =
        [(&m, Some(&method)), (&p, Some(&path)), (&k, Some(&"server"))];
    tracing::Span::new(&META, &fields.value_set(&values))
}

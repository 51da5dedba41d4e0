//! livetel's own carrier spans: the server span (target `livetel::http`, callsite name `http.request`) that the
//! `http` feature's `TraceLayer` hook opens for each request, the gRPC server span (target `livetel::grpc`,
//! callsite name `grpc.request`) of the `grpc` feature's server layer, and the consumer span (target
//! `livetel::consumer`, callsite name `consume`) of [`crate::propagation::consumer_span`]: the three callsites
//! that exist even when livetel records nothing. Their names for the sinks are dynamic, in the `otel.name` field.
//!
//! A trace must cross a service that records nothing (`backend = "none"`, `enabled = false`, or a filter that
//! leaves the span out) in one piece: the request's span carries the caller's context to the calls the handler
//! makes (W3C "forwarding"). With livetel alone at `none`, every callsite's interest is `never`, so there would be
//! no span to carry it. These callsites are the narrow exception ([`crate::traces::gate`]): their interest is
//! always `sometimes` and the gate admits them, so the span exists in the `Registry`; the recorder records it
//! only when the generation's filter wants it, and otherwise leaves it a non-recording carrier. User callsites keep their
//! exact interest, so `none` still costs what no subscriber costs (P1_none, P2 in `docs/PERFORMANCE.md`).
//!
//! The span is built from a static callsite rather than `info_span!`: the macro first checks tracing's global
//! max level, which is `OFF` at `none`, and livetel keeps it there for the sake of every other callsite.

use tracing_core::callsite::DefaultCallsite;
use tracing_core::field::Value;
use tracing_core::{Kind, Level, Metadata, metadata};

/// The target of livetel's server span.
pub(crate) const TARGET: &str = "livetel::http";
/// The target of livetel's gRPC server span ([`grpc_server_span`]).
pub(crate) const GRPC_TARGET: &str = "livetel::grpc";
/// The target of livetel's consumer span ([`consumer_span`]).
pub(crate) const CONSUMER_TARGET: &str = "livetel::consumer";

/// The server span's fields, in the order [`server_span`] takes their values: OpenTelemetry's stable HTTP server
/// conventions, and `otel.name` (the span's name for the sinks: `{method} {route}`), `otel.kind`,
/// `otel.status_code` and `error.type`. The last four are recorded with the response.
pub(crate) const SERVER_FIELDS: [&str; 15] = [
    "otel.name",
    "otel.kind",
    "http.request.method",
    "http.request.method_original",
    "http.route",
    "url.path",
    "url.scheme",
    "server.address",
    "server.port",
    "client.address",
    "user_agent.original",
    "network.protocol.version",
    "http.response.status_code",
    "otel.status_code",
    "error.type",
];

/// The gRPC server span's fields, in the order [`grpc_server_span`] takes their values: OpenTelemetry's RPC and
/// gRPC server conventions, `otel.name` (`{rpc.service}/{rpc.method}`) and `otel.kind`. The last three are
/// recorded with the response.
pub(crate) const GRPC_FIELDS: [&str; 12] = [
    "otel.name",
    "otel.kind",
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "server.address",
    "server.port",
    "network.peer.address",
    "network.peer.port",
    "rpc.grpc.status_code",
    "otel.status_code",
    "error.type",
];

/// The carrier callsites' metadata side by side, so that [`is_carrier`] is one range check (two comparisons,
/// as many as when there were two callsites): it runs for every span livetel records.
static METAS: [Metadata<'static>; 3] = [
    metadata! {
        name: "http.request",
        target: TARGET,
        level: Level::INFO,
        fields: &SERVER_FIELDS,
        callsite: &CALLSITE,
        kind: Kind::SPAN,
    },
    metadata! {
        name: "grpc.request",
        target: GRPC_TARGET,
        level: Level::INFO,
        fields: &GRPC_FIELDS,
        callsite: &GRPC_CALLSITE,
        kind: Kind::SPAN,
    },
    metadata! {
        name: "consume",
        target: CONSUMER_TARGET,
        level: Level::INFO,
        fields: &["otel.name", "otel.kind", "otel.status_code"],
        callsite: &CONSUMER_CALLSITE,
        kind: Kind::SPAN,
    },
];
const META: &Metadata<'static> = &METAS[0];
const GRPC_META: &Metadata<'static> = &METAS[1];
const CONSUMER_META: &Metadata<'static> = &METAS[2];

static CALLSITE: DefaultCallsite = DefaultCallsite::new(META);
static GRPC_CALLSITE: DefaultCallsite = DefaultCallsite::new(GRPC_META);
static CONSUMER_CALLSITE: DefaultCallsite = DefaultCallsite::new(CONSUMER_META);

/// True for livetel's carrier spans: the HTTP and gRPC server spans and the consumer span.
#[inline]
pub(crate) fn is_carrier(meta: &Metadata<'_>) -> bool {
    let p = meta as *const Metadata<'_> as *const ();
    let range = METAS.as_ptr_range();
    (range.start as *const ()..range.end as *const ()).contains(&p)
}

/// False when the current subscriber turns the callsite away (no subscriber, or one without livetel that does
/// not want it).
fn wanted(callsite: &'static DefaultCallsite, meta: &'static Metadata<'static>) -> bool {
    let interest = callsite.interest();
    if interest.is_never() {
        return false;
    }
    interest.is_always() || tracing::dispatcher::get_default(|d| d.enabled(meta))
}

/// A new server span for a request, a root or a child of the current span, with the values of
/// [`SERVER_FIELDS`] (`None`: not set); disabled only when the current subscriber turns it away.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn server_span(values: [Option<&dyn Value>; 15]) -> tracing::Span {
    new_span(&CALLSITE, META, values)
}

/// A new gRPC server span for a call, a root or a child of the current span, with the values of
/// [`GRPC_FIELDS`] (`None`: not set); disabled only when the current subscriber turns it away.
#[cfg_attr(not(feature = "grpc"), allow(dead_code))]
pub(crate) fn grpc_server_span(values: [Option<&dyn Value>; 12]) -> tracing::Span {
    new_span(&GRPC_CALLSITE, GRPC_META, values)
}

/// A span of `meta` with `values`, one per field of `meta` in order.
fn new_span<const N: usize>(
    callsite: &'static DefaultCallsite,
    meta: &'static Metadata<'static>,
    values: [Option<&dyn Value>; N],
) -> tracing::Span {
    if !wanted(callsite, meta) {
        return tracing::Span::none();
    }
    let fields = meta.fields();
    let names: smallvec::SmallVec<[_; 16]> = fields.iter().collect();
    let Ok(names) = <&[_; N]>::try_from(names.as_slice()) else {
        return tracing::Span::none();
    };
    let pairs: [(&_, Option<&dyn Value>); N] = std::array::from_fn(|i| (&names[i], values[i]));
    tracing::Span::new(meta, &fields.value_set(&pairs))
}

/// A new consumer span named `name` (its `otel.name`; `otel.kind = "consumer"`), a root (its parent is the
/// sender's, set from the message's headers); disabled only when the current subscriber turns it away.
pub(crate) fn consumer_span(name: &str) -> tracing::Span {
    if !wanted(&CONSUMER_CALLSITE, CONSUMER_META) {
        return tracing::Span::none();
    }
    let fields = CONSUMER_META.fields();
    let mut names = fields.iter();
    let (Some(n), Some(k)) = (names.next(), names.next()) else {
        return tracing::Span::none();
    };
    let values: [(&_, Option<&dyn Value>); 2] = [(&n, Some(&name)), (&k, Some(&"consumer"))];
    tracing::Span::new_root(CONSUMER_META, &fields.value_set(&values))
}

#[cfg(test)]
mod tests {
    use super::*;

    static OTHER_CALLSITE: DefaultCallsite = DefaultCallsite::new(&OTHER);
    static OTHER: Metadata<'static> = metadata! {
        name: "other",
        target: "app",
        level: Level::INFO,
        fields: &[],
        callsite: &OTHER_CALLSITE,
        kind: Kind::SPAN,
    };

    #[test]
    fn the_three_carriers_and_no_other() {
        assert!([META, GRPC_META, CONSUMER_META].into_iter().all(is_carrier));
        assert!(!is_carrier(&OTHER));
    }
}

//! P8_hop: one service hop of context propagation — `extract` from the caller's headers, `set_parent` on the
//! request's span, `inject` into the next call's headers — against OpenTelemetry's `TraceContextPropagator`
//! doing the same hop (extract, then inject the extracted context).

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::dispatcher::with_default;

use crate::figures::Scale;
use crate::measure::{Figure, ab, ns_per};
use crate::stacks::Livetel;

/// The caller's headers: a sampled `traceparent`, and a two-member `tracestate` when `with_state`.
fn incoming(with_state: bool) -> HashMap<String, String> {
    let mut h = HashMap::from([(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
    )]);
    if with_state {
        h.insert(
            "tracestate".to_owned(),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".to_owned(),
        );
    }
    h
}

/// livetel at `local` with its default propagators (`tracecontext`, `baggage`), on a span it records.
fn livetel_hops(l: &Livetel, headers: &HashMap<String, String>, n: u64) -> f64 {
    with_default(l.dispatch(), || {
        let span = tracing::info_span!("hop.handle");
        let mut out = HashMap::new();
        ns_per(n, || {
            for _ in 0..n {
                let cx = livetel::propagation::extract(headers);
                livetel::propagation::set_parent(&span, &cx);
                livetel::propagation::inject(&span, &mut out);
            }
        })
    })
}

fn otel_hops(headers: &HashMap<String, String>, n: u64) -> f64 {
    let propagator = TraceContextPropagator::new();
    let mut out = HashMap::new();
    ns_per(n, || {
        for _ in 0..n {
            let cx = propagator.extract(headers);
            propagator.inject_context(&cx, &mut out);
        }
    })
}

/// P8_hop (`traceparent` alone) and P8_hop_tracestate (with a two-member `tracestate`): CPU ns per hop,
/// livetel / OpenTelemetry's propagator.
pub fn hops(s: &Scale) -> Vec<Figure> {
    let l = Livetel::start("backend = \"local\"", false);
    let n = s.trees * 5;
    [("P8_hop", false), ("P8_hop_tracestate", true)]
        .into_iter()
        .map(|(name, with_state)| {
            let headers = incoming(with_state);
            let m = ab(
                s.rounds,
                || livetel_hops(&l, &headers, n),
                || otel_hops(&headers, n),
            );
            let note = "extract + set_parent + inject (livetel's default tracecontext + baggage) vs \
                        TraceContextPropagator extract + inject"
                .to_owned();
            Figure::paired(name, m, "cpu ns/hop", "<= 1.0", note)
        })
        .collect()
}

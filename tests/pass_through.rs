//! A span livetel does not record (backend `none`, `enabled = false`, a filter that leaves it out) still carries
//! the caller's context to outgoing calls, in the user's own stack: W3C "forwarding" — the caller's
//! `traceparent` unchanged (trace id, parent id, sampled flag), `tracestate` and baggage unchanged.

mod common;

use std::collections::HashMap;

use common::Fixture;
use livetel::propagation;
use tracing_subscriber::prelude::*;

const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

fn incoming(traceparent: &str) -> HashMap<String, String> {
    HashMap::from([
        ("traceparent".to_owned(), traceparent.to_owned()),
        ("tracestate".to_owned(), "congo=t61rcWkgMzE,rojo=1".to_owned()),
        ("baggage".to_owned(), "user=alice".to_owned()),
    ])
}

/// The user's stack: a layer that keeps every span (as a `fmt` layer at TRACE would) beside livetel's.
fn own_stack(body: &str) -> (Fixture, livetel::Telemetry, tracing::Dispatch) {
    let f = Fixture::new(body);
    let (layer, t) = f.builder().build_layer().expect("starts");
    let keep_all = tracing_subscriber::fmt::layer().with_writer(std::io::sink);
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(keep_all).with(layer));
    (f, t, dispatch)
}

/// The caller's span handled under `dispatch`: what the handling span and a child of it send on.
fn forwarded(dispatch: &tracing::Dispatch, traceparent: &str) -> [HashMap<String, String>; 2] {
    tracing::dispatcher::with_default(dispatch, || {
        let handle = tracing::info_span!(parent: None, "handle");
        assert!(propagation::set_parent(
            &handle,
            &propagation::extract(&incoming(traceparent))
        ));
        let child = handle.in_scope(|| tracing::info_span!("work"));
        let (mut a, mut b) = (HashMap::new(), HashMap::new());
        propagation::inject(&handle, &mut a);
        propagation::inject(&child, &mut b);
        [a, b]
    })
}

fn assert_forwarded(out: &HashMap<String, String>, traceparent: &str) {
    assert_eq!(out["traceparent"], traceparent, "{out:?}");
    assert_eq!(out["tracestate"], "congo=t61rcWkgMzE,rojo=1");
    assert_eq!(out["baggage"], "user=alice");
}

#[test]
fn nothing_recorded_still_forwards_the_callers_context() {
    for body in [
        "watch = false\nbackend = \"none\"",
        "watch = false\nenabled = false",
        "watch = false\nbackend = \"local\"\nfilter = \"warn\"",
        // Metrics measure the spans at `none` (they see them), and still forward the caller's context unchanged.
        "watch = false\nbackend = \"none\"\n[telemetry.metrics]\nenabled = true",
    ] {
        let (_f, t, dispatch) = own_stack(body);
        for tp in [INCOMING, UNSAMPLED] {
            for out in forwarded(&dispatch, tp) {
                assert_forwarded(&out, tp);
            }
        }
        tracing::dispatcher::with_default(&dispatch, || {
            let handle = tracing::info_span!(parent: None, "handle");
            propagation::set_parent(&handle, &propagation::extract(&incoming(INCOMING)));
            let want = "4bf92f3577b34da6a3ce929d0e0e4736";
            assert_eq!(propagation::trace_id(&handle).as_deref(), Some(want), "{body}");
        });
        assert_eq!(t.counters().started, 0, "{body}: nothing recorded");
        let metrics = t.refresh_status().metrics.clone();
        assert_eq!(metrics.is_some(), body.contains("metrics"), "{body}");
        if let Some(metrics) = metrics {
            // `handle` and `work`, each seen by metrics though not recorded.
            assert_eq!(metrics.series, 2, "{body}: {metrics:?}");
        }
    }
}

/// When livetel records the span, the outgoing parent is livetel's span; the trace id and flag stay.
#[test]
fn a_recorded_span_sends_itself_as_the_parent() {
    let (_f, t, dispatch) = own_stack("watch = false\nbackend = \"local\"");
    let [a, b] = forwarded(&dispatch, INCOMING);
    for out in [&a, &b] {
        assert!(out["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(out["traceparent"].ends_with("-01"));
        assert_ne!(out["traceparent"], INCOMING);
        assert_eq!(out["tracestate"], "congo=t61rcWkgMzE,rojo=1");
        assert_eq!(out["baggage"], "user=alice");
    }
    assert_ne!(
        a["traceparent"], b["traceparent"],
        "the child is the parent of its own calls"
    );
    assert_eq!(t.counters().started, 2);
}

/// Without a valid caller there is nothing to forward: a span livetel does not record sends nothing.
#[test]
fn no_caller_nothing_sent() {
    let (_f, _t, dispatch) = own_stack("watch = false\nbackend = \"none\"");
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("handle");
        let bad = HashMap::from([("traceparent".to_owned(), "garbage".to_owned())]);
        assert!(!propagation::set_parent(&span, &propagation::extract(&bad)));
        let mut out = HashMap::new();
        propagation::inject(&span, &mut out);
        assert!(out.is_empty(), "{out:?}");
    });
}

/// B3 without a sampling flag leaves the decision to the callee: a span that only forwards passes the ids on with
/// no flag (not a "do not sample"), and a span livetel records under it decides with its own sampler.
#[test]
fn a_deferred_b3_decision_stays_deferred_through_a_forwarding_span() {
    let (_f, t, dispatch) = own_stack(
        "watch = false\nbackend = \"local\"\nfilter = \"livetel=off,pass_through=info\"\n\
         propagators = [\"b3\", \"b3multi\"]",
    );
    let b3 = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7";
    let headers = HashMap::from([("b3".to_owned(), b3.to_owned())]);
    let (out, recorded_child_sampled) = tracing::dispatcher::with_default(&dispatch, || {
        // Filtered out of livetel (target `other`): it only forwards.
        let handle = tracing::info_span!(target: "other", parent: None, "handle");
        assert!(propagation::set_parent(&handle, &propagation::extract(&headers)));
        let mut out = HashMap::new();
        propagation::inject(&handle, &mut out);
        // Recorded (target `pass_through`): sampled by this generation's sampler (rate 1.0).
        let child = handle.in_scope(|| tracing::info_span!("work"));
        let mut child_out = HashMap::new();
        propagation::inject(&child, &mut child_out);
        (out, child_out["x-b3-sampled"].clone())
    });
    assert_eq!(out["b3"], b3, "forwarded without a sampling flag: {out:?}");
    assert!(!out.contains_key("x-b3-sampled"), "{out:?}");
    assert_eq!(recorded_child_sampled, "1", "the callee's sampler decided");
    drop(t);
}

/// A root the local sampler dropped that `set_parent` makes join a sampled caller keeps its fields (a server
/// span gets its caller's headers right after it is made).
#[test]
fn a_root_joining_a_sampled_caller_keeps_its_fields() {
    let f = Fixture::new("watch = false\nsample_rate = 0.0");
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let handle = tracing::info_span!(parent: None, "handle", method = "GET", path = "/next");
        assert!(propagation::set_parent(
            &handle,
            &propagation::extract(&incoming(INCOMING))
        ));
        handle.in_scope(|| {});
    });
    drop(t);
    let files = common::trace_files(&f.traces);
    let spans: Vec<_> = files.iter().flat_map(|(_, e)| common::spans(e)).collect();
    assert_eq!(spans.len(), 1, "the caller's sampled flag kept the root");
    assert_eq!(spans[0]["args"]["method"], "GET", "{}", spans[0]);
    assert_eq!(spans[0]["args"]["path"], "/next");
}

/// W3C Trace Context, "Mutating the traceparent Field": a `traceparent` passed on unchanged goes with its
/// `tracestate` unchanged. A forwarding span sends the list as received (empty members and whitespace
/// included); a span livetel records, the new parent, sends the cleaned list. An invalid list is sent by neither.
#[test]
fn a_forwarding_span_passes_tracestate_on_as_received() {
    let received = "congo=t61rcWkgMzE, , rojo=1 ";
    let headers = HashMap::from([
        ("traceparent".to_owned(), INCOMING.to_owned()),
        ("tracestate".to_owned(), received.to_owned()),
    ]);
    let send_on = |body: &str| {
        let (_f, t, dispatch) = own_stack(body);
        let out = tracing::dispatcher::with_default(&dispatch, || {
            let handle = tracing::info_span!(parent: None, "handle");
            assert!(propagation::set_parent(&handle, &propagation::extract(&headers)));
            let mut out = HashMap::new();
            propagation::inject(&handle, &mut out);
            out
        });
        drop(t);
        out
    };
    let forwarded = send_on("watch = false\nbackend = \"none\"");
    assert_eq!(forwarded["traceparent"], INCOMING);
    assert_eq!(forwarded["tracestate"], received);
    let recorded = send_on("watch = false\nbackend = \"local\"");
    assert_ne!(recorded["traceparent"], INCOMING, "a new parent id");
    assert_eq!(recorded["tracestate"], "congo=t61rcWkgMzE,rojo=1");
}

/// Level 2's `random` flag goes on as received through a span that only forwards (`03` in, `03` out), and a B3
/// deny without ids makes such a span forward a new trace id, not sampled.
#[test]
fn a_forwarding_span_keeps_the_random_flag_and_honours_a_b3_deny() {
    let random = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
    let (_f, t, dispatch) =
        own_stack("watch = false\nbackend = \"none\"\npropagators = [\"tracecontext\", \"b3\"]");
    for out in forwarded(&dispatch, random) {
        assert_eq!(out["traceparent"], random, "{out:?}");
    }
    let out = tracing::dispatcher::with_default(&dispatch, || {
        let handle = tracing::info_span!(parent: None, "handle");
        let deny = HashMap::from([("b3".to_owned(), "0".to_owned())]);
        assert!(propagation::set_parent(&handle, &propagation::extract(&deny)));
        let child = handle.in_scope(|| tracing::info_span!("work"));
        let mut out = HashMap::new();
        propagation::inject(&child, &mut out);
        out
    });
    assert!(out["traceparent"].ends_with("-02"), "{out:?}");
    assert!(out["b3"].ends_with("-0"), "{out:?}");
    assert_eq!(t.counters().started, 0);
}

/// `consumer_span`, the HTTP server span's carrier privilege for any transport: where livetel records nothing
/// (including a filter that leaves `livetel::consumer` out) it still forwards the sender's context, alone or in
/// the user's stack; where livetel records it, it is the sender's child, named by its `otel.name`.
#[test]
fn a_consumer_span_forwards_or_joins_the_sender() {
    for body in [
        "watch = false\nbackend = \"none\"",
        "watch = false\nbackend = \"local\"\nfilter = \"warn\"",
        // Metrics measure the spans at `none` (they see them), and still forward the caller's context unchanged.
        "watch = false\nbackend = \"none\"\n[telemetry.metrics]\nenabled = true",
    ] {
        let f = Fixture::new(body);
        let t = f.start();
        let (_f2, t2, stack) = own_stack(body);
        for dispatch in [t.dispatch().expect("own subscriber"), &stack] {
            let out = tracing::dispatcher::with_default(dispatch, || {
                let span = propagation::consumer_span("orders process", &incoming(INCOMING));
                let mut out = HashMap::new();
                // Inside it, as the handler's calls are: the current span is the consumer span.
                span.in_scope(|| propagation::inject(&tracing::Span::current(), &mut out));
                out
            });
            assert_forwarded(&out, INCOMING);
        }
        assert_eq!((t.counters().started, t2.counters().started), (0, 0), "{body}");
    }
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let out = tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let span = propagation::consumer_span("orders process", &incoming(INCOMING));
        let mut out = HashMap::new();
        propagation::inject(&span, &mut out);
        out
    });
    assert!(out["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert_ne!(
        out["traceparent"], INCOMING,
        "the consumer span is the new parent"
    );
    common::wait_settled(&t);
    drop(t);
    let files = common::trace_files(&f.traces);
    let spans: Vec<_> = files.iter().flat_map(|(_, e)| common::spans(e)).collect();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["name"], "orders process");
    assert_eq!(spans[0]["cat"], "livetel::consumer");
    assert_eq!(spans[0]["args"]["otel.kind"], "consumer");
}

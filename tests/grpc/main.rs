//! gRPC spans between two tonic services on loopback, each behind `livetel::grpc::ServerLayer`: the test calls
//! A's `Say("relay")` through `livetel::grpc::ClientLayer`, and A calls B three times the same way (`ok`,
//! `missing` → NOT_FOUND, `fail` → INTERNAL). At `otlp` (the Python receiver): names, kinds, the parent chain
//! (client span → server span, one trace) and attributes exact, statuses by the gRPC conventions (NOT_FOUND an
//! error on the client only, INTERNAL on both). At `local`: the Chrome trace names and counts the spans. At
//! `none`, alone and in the user's own stack: nothing recorded, and the caller's context goes through A to B.
//! B3 as the configured format, and `livetel::grpc::inject` as an interceptor. A server stream that ends in
//! DATA_LOSS after a message: the status read from the body's trailers.
#![cfg(feature = "grpc")]

#[path = "../common/mod.rs"]
mod common;
mod echo;

use std::net::SocketAddr;

use common::Fixture;
use common::receiver::Receiver;
use echo::Echo;
use serde_json::{Value, json};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const NAME: &str = "livetel.test.Echo/Say";
const TRACESTATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
const BAGGAGE: &str = "user=alice";

/// Starts B and A under `dispatch`, calls A's `relay` (with `metadata` set by hand), stops both; A's answer and
/// the two addresses.
fn relay(dispatch: &tracing::Dispatch, metadata: &[(&'static str, &str)]) -> (Value, SocketAddr, SocketAddr) {
    common::block_on_under(dispatch, async {
        let (b_addr, b) = echo::serve(Echo { downstream: None }).await;
        let downstream = Some(format!("http://{b_addr}"));
        let (a_addr, a) = echo::serve(Echo { downstream }).await;
        let answer = echo::call(&format!("http://{a_addr}"), "relay", metadata)
            .await
            .expect("A answers");
        for server in [a, b] {
            server.abort();
            let _ = server.await;
        }
        let answer = serde_json::from_str(&answer.text).expect("JSON");
        (answer, a_addr, b_addr)
    })
}

/// B's statuses reached A as codes: NOT_FOUND 5, INTERNAL 13; `ok` answered.
fn check_codes(answer: &Value) {
    assert_eq!(
        (&answer["missing"], &answer["fail"]),
        (&json!(5), &json!(13)),
        "{answer}"
    );
    assert!(answer["seen"]["traceparent"].is_string(), "{answer}");
}

/// A span's attributes without `network.peer.port` (the caller's ephemeral port), which must be a port.
fn without_peer_port(span: &Value) -> Value {
    let mut attrs = span["attributes"].clone();
    let port = attrs.as_object_mut().and_then(|a| a.remove("network.peer.port"));
    assert!(
        port.as_ref().and_then(Value::as_u64).is_some_and(|p| p > 0),
        "{span}"
    );
    attrs
}

fn client_attrs(server: SocketAddr, code: i32) -> Value {
    json!({
        "code.namespace": "livetel::grpc::client",
        "rpc.system": "grpc",
        "rpc.service": echo::SERVICE,
        "rpc.method": "Say",
        "server.address": "127.0.0.1",
        "server.port": server.port(),
        "rpc.grpc.status_code": code,
    })
}

fn server_attrs(server: SocketAddr, code: i32) -> Value {
    json!({
        "code.namespace": "livetel::grpc",
        "rpc.system": "grpc",
        "rpc.service": echo::SERVICE,
        "rpc.method": "Say",
        "server.address": "127.0.0.1",
        "server.port": server.port(),
        "network.peer.address": "127.0.0.1",
        "rpc.grpc.status_code": code,
    })
}

#[test]
fn otlp_spans_follow_the_conventions() {
    let rx = Receiver::start();
    let body = rx.otlp_body();
    let f = Fixture::new(&body);
    let t = f.start();
    let (answer, a_addr, b_addr) = relay(&t.dispatch().expect("own subscriber").clone(), &[]);
    check_codes(&answer);
    drop(t);
    let spans = rx.wait_spans(8);
    assert_eq!(spans.len(), 8, "test → A, A, three A → B, three B: {spans:#?}");
    assert!(spans.iter().all(|s| s["name"] == NAME), "{spans:#?}");
    let trace = &spans[0]["trace_id"];
    assert!(
        spans.iter().all(|s| &s["trace_id"] == trace),
        "one trace: {spans:#?}"
    );
    let to_a = common::find_one(
        &spans,
        |s| s["parent_span_id"] == "",
        "root: the test's client span",
    );
    assert_eq!((&to_a["kind"], &to_a["status"]["code"]), (&json!(3), &json!(0)));
    assert_eq!(to_a["attributes"], client_attrs(a_addr, 0));
    let a = common::find_one(
        &spans,
        |s| s["kind"] == 2 && s["parent_span_id"] == to_a["span_id"],
        "A",
    );
    assert_eq!(a["status"]["code"], 0);
    assert_eq!(without_peer_port(a), server_attrs(a_addr, 0));
    // Per code: A's client span (an error unless OK) and B's server span (an error only for INTERNAL).
    for (code, client_status, server_status) in [(0, 0, 0), (5, 2, 0), (13, 2, 2)] {
        let to_b = common::find_one(
            &spans,
            |s| {
                s["kind"] == 3
                    && s["parent_span_id"] == a["span_id"]
                    && s["attributes"]["rpc.grpc.status_code"] == code
            },
            &format!("A → B, code {code}"),
        );
        assert_eq!(to_b["attributes"], client_attrs(b_addr, code));
        assert_eq!(to_b["status"]["code"], client_status, "client, code {code}");
        let b = common::find_one(&spans, |s| s["parent_span_id"] == to_b["span_id"], "B");
        assert_eq!(b["kind"], 2);
        assert_eq!(without_peer_port(b), server_attrs(b_addr, code));
        assert_eq!(b["status"]["code"], server_status, "server, code {code}");
        if code == 0 {
            let tp = answer["seen"]["traceparent"].as_str().unwrap_or_default();
            assert_eq!(
                tp.split('-').nth(2),
                to_b["span_id"].as_str(),
                "B received A's client span as parent: {answer}"
            );
            assert_eq!(&answer["seen"]["trace_id"], trace);
        }
    }
}

#[test]
fn local_names_and_counts_the_spans() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let (answer, _, _) = relay(&t.dispatch().expect("own subscriber").clone(), &[]);
    check_codes(&answer);
    let c = common::wait_settled(&t);
    assert_eq!((c.started, c.sampled_out), (8, 0), "{c:?}");
    drop(t);
    let files = common::trace_files(&f.traces);
    let spans: Vec<&Value> = files.iter().flat_map(|(_, e)| common::spans(e)).collect();
    let count = |cat: &str| {
        spans
            .iter()
            .filter(|s| s["cat"] == cat && s["name"] == NAME)
            .count()
    };
    assert_eq!(
        (
            count("livetel::grpc::client"),
            count("livetel::grpc"),
            spans.len()
        ),
        (4, 4, 8),
        "{spans:#?}"
    );
    let errors = |cat: &str| {
        let mut codes: Vec<i64> = spans
            .iter()
            .filter(|s| s["cat"] == cat && s["args"]["otel.status_code"] == "ERROR")
            .filter_map(|s| s["args"]["rpc.grpc.status_code"].as_i64())
            .collect();
        codes.sort_unstable();
        codes
    };
    assert_eq!(errors("livetel::grpc::client"), [5, 13]);
    assert_eq!(errors("livetel::grpc"), [13]);
}

#[test]
fn none_forwards_the_callers_context_through_a() {
    let caller = format!("00-{TRACE}-{CALLER_SPAN}-01");
    let metadata = [
        ("traceparent", caller.as_str()),
        ("tracestate", TRACESTATE),
        ("baggage", BAGGAGE),
    ];
    for body in [
        "watch = false\nbackend = \"none\"",
        "watch = false\nenabled = false",
    ] {
        for start in [common::alone, common::own_stack] {
            let f = Fixture::new(body);
            let (t, d) = start(&f);
            let (answer, _, _) = relay(&d, &metadata);
            check_codes(&answer);
            let seen = &answer["seen"];
            assert_eq!(
                (&seen["traceparent"], &seen["tracestate"], &seen["baggage"]),
                (&json!(caller), &json!(TRACESTATE), &json!(BAGGAGE)),
                "{body}: A forwards the caller's context unchanged: {answer}"
            );
            assert_eq!(seen["trace_id"], TRACE, "{body}: B's span carries the trace");
            assert_eq!(t.counters().started, 0, "{body}: nothing recorded");
        }
    }
}

/// B3 (single header) as the only propagator: read from and written to the metadata, forwarded through A.
#[test]
fn none_forwards_b3() {
    let f = Fixture::new("watch = false\nbackend = \"none\"\npropagators = [\"b3\"]");
    let (t, d) = common::alone(&f);
    let b3 = format!("{TRACE}-{CALLER_SPAN}-1");
    let (answer, _, _) = relay(&d, &[("b3", b3.as_str())]);
    check_codes(&answer);
    assert_eq!(answer["seen"]["b3"], b3, "{answer}");
    assert_eq!(answer["seen"]["traceparent"], "", "only the configured format");
    assert_eq!(answer["seen"]["trace_id"], TRACE);
    assert_eq!(t.counters().started, 0);
}

/// `livetel::grpc::inject` as a channel's interceptor: no client span, the caller's own span is B's parent.
#[test]
fn the_interceptor_injects_the_current_span() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let (t, d) = common::alone(&f);
    let (answer, expected) = common::block_on_under(&d, async {
        let caller = tracing::info_span!("caller");
        let mut expected = std::collections::HashMap::new();
        livetel::propagation::inject(&caller, &mut expected);
        let call = async {
            let (addr, server) = echo::serve(Echo { downstream: None }).await;
            let answer = echo::call_intercepted(&format!("http://{addr}")).await;
            server.abort();
            let _ = server.await;
            answer.expect("B answers")
        };
        (tracing::Instrument::instrument(call, caller).await, expected)
    });
    let answer: Value = serde_json::from_str(&answer.text).expect("JSON");
    assert_eq!(answer["traceparent"], expected["traceparent"], "{answer}");
    let c = common::wait_settled(&t);
    assert_eq!(c.started, 2, "the caller's span and B's server span: {c:?}");
}

/// The status arrives in the trailers after a message (not in a trailers-only response): DATA_LOSS is an error
/// on both sides, and each span ends after the stream.
#[test]
fn a_stream_status_is_read_from_the_trailers() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let (got, status) = common::block_on_under(t.dispatch().expect("own subscriber"), async {
        let (addr, server) = echo::serve(Echo { downstream: None }).await;
        let out = echo::count(&format!("http://{addr}")).await;
        server.abort();
        let _ = server.await;
        out
    });
    assert_eq!(
        (got, status.code()),
        (vec!["one".to_owned()], tonic::Code::DataLoss)
    );
    common::wait_settled(&t);
    drop(t);
    let files = common::trace_files(&f.traces);
    let spans: Vec<&Value> = files.iter().flat_map(|(_, e)| common::spans(e)).collect();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in spans {
        assert_eq!(span["name"], "livetel.test.Echo/Count");
        assert_eq!(span["args"]["rpc.grpc.status_code"], 15, "{span}");
        assert_eq!(span["args"]["otel.status_code"], "ERROR", "{span}");
    }
}

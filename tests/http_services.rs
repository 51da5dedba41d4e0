//! Two axum services on loopback, each behind `livetel::http::trace_layer()`; A calls B through reqwest with
//! `livetel::http::inject`. A client sends A a W3C parent with `tracestate` and baggage. At `local`, `none` and
//! `otlp`, alone and in the user's own stack: one trace id end to end, parent ids chained (recording: client →
//! A's span → B's span; `none`: A forwards the client's parent unchanged), the sampled flag kept, `tracestate`
//! and baggage passed through.
#![cfg(feature = "http")]

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use common::Fixture;
use common::receiver::Receiver;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const TRACESTATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
const BAGGAGE: &str = "user=alice";

fn client() -> reqwest::Client {
    // No idle connections: nothing outlives a call.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

fn all(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect()
}

/// B: answers what it received and the trace its request span is in.
async fn b(headers: HeaderMap) -> String {
    tracing::warn!("b.handled");
    let span = tracing::Span::current();
    json!({
        "traceparent": all(&headers, "traceparent"),
        "tracestate": all(&headers, "tracestate"),
        "baggage": all(&headers, "baggage"),
        "trace_id": livetel::propagation::trace_id(&span),
    })
    .to_string()
}

/// A: calls B under its request span; answers B's answer.
async fn a(State(b_url): State<String>) -> String {
    let sent = livetel::http::inject(client().get(&b_url));
    sent.send().await.expect("B answers").text().await.expect("body")
}

async fn serve(app: Router) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (format!("http://{addr}"), server)
}

/// Starts B and A, sends A one request with the client's context (`flags` `01` or `00`), stops both; B's answer.
async fn hop(flags: &str) -> Value {
    let layer = livetel::http::trace_layer;
    let (b_url, b_server) = serve(Router::new().route("/b", get(b)).layer(layer())).await;
    let a_app = Router::new()
        .route("/a", get(a))
        .with_state(format!("{b_url}/b"))
        .layer(layer());
    let (a_url, a_server) = serve(a_app).await;
    let answer = client()
        .get(format!("{a_url}/a"))
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-{flags}"))
        .header("tracestate", TRACESTATE)
        .header("baggage", BAGGAGE)
        .send()
        .await
        .expect("A answers")
        .text()
        .await
        .expect("body");
    for server in [a_server, b_server] {
        server.abort();
        let _ = server.await;
    }
    serde_json::from_str(&answer).expect("JSON")
}

/// One hop per sampled flag under `dispatch`, on a runtime of this thread (so the dispatcher is the default
/// wherever the services run). Checks what B received and returns it per flag.
fn hops(dispatch: &tracing::Dispatch) -> Vec<(String, Value)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tracing::dispatcher::with_default(dispatch, || {
        ["01", "00"]
            .into_iter()
            .map(|flags| {
                let got = rt.block_on(hop(flags));
                check_received(&got, flags);
                (flags.to_owned(), got)
            })
            .collect()
    })
}

/// One trace, the flag kept, `tracestate` and baggage passed on.
fn check_received(got: &Value, flags: &str) {
    let tp = got["traceparent"].as_array().expect("traceparent list");
    assert_eq!(tp.len(), 1, "one traceparent: {got}");
    let tp = tp[0].as_str().unwrap_or_default();
    assert!(
        tp.starts_with(&format!("00-{TRACE}-")) && tp.ends_with(flags),
        "{got}"
    );
    assert_eq!(got["tracestate"], json!([TRACESTATE]), "{got}");
    assert_eq!(got["baggage"], json!([BAGGAGE]), "{got}");
    assert_eq!(got["trace_id"], TRACE, "B's span is in the caller's trace: {got}");
}

/// The parent B received: the client's span when A forwards, A's own span when A records.
fn received_parent(got: &Value) -> String {
    let tp = got["traceparent"][0].as_str().unwrap_or_default();
    tp.split('-').nth(2).unwrap_or_default().to_owned()
}

#[test]
fn none_forwards_the_callers_parent_unchanged() {
    for body in [
        "watch = false\nbackend = \"none\"",
        "watch = false\nenabled = false",
    ] {
        for start in [common::alone, common::own_stack] {
            let f = Fixture::new(body);
            let (t, d) = start(&f);
            for (flags, got) in hops(&d) {
                assert_eq!(
                    received_parent(&got),
                    CLIENT_SPAN,
                    "{body} {flags}: forwarded: {got}"
                );
            }
            assert_eq!(t.counters().started, 0, "{body}: nothing recorded");
        }
    }
}

#[test]
fn local_chains_the_parents_through_a() {
    for start in [common::alone, common::own_stack] {
        let f = Fixture::new("watch = false\nbackend = \"local\"");
        let (t, d) = start(&f);
        for (flags, got) in hops(&d) {
            assert_ne!(
                received_parent(&got),
                CLIENT_SPAN,
                "{flags}: A's span is B's parent: {got}"
            );
        }
        let c = common::wait_settled(&t);
        assert_eq!(
            (c.started, c.sampled_out),
            (4, 2),
            "A and B per hop; the 00 hop sampled out: {c:?}"
        );
    }
}

/// A filter that leaves `livetel::http` out: the request spans forward, nothing else changes.
#[test]
fn a_filtered_out_request_span_forwards() {
    let f = Fixture::new("watch = false\nbackend = \"local\"\nfilter = \"warn\"");
    let (t, d) = common::alone(&f);
    for (_, got) in hops(&d) {
        assert_eq!(received_parent(&got), CLIENT_SPAN, "{got}");
    }
    assert_eq!(t.counters().started, 0);
    drop(d);
    drop(t);
    // B's WARN event inside the request span that only carries context is recorded as if it had no parent.
    let files = common::trace_files(&f.traces);
    let handled = files
        .iter()
        .flat_map(|(_, events)| events)
        .filter(|e| e.to_string().contains("b.handled"))
        .count();
    assert_eq!(handled, 2, "one per hop: {files:?}");
}

#[test]
fn otlp_exports_one_chained_trace() {
    let rx = Receiver::start();
    let body = rx.otlp_body();
    let f = Fixture::new(&body);
    let (t, d) = common::alone(&f);
    let hops = hops(&d);
    drop(t);
    let spans = rx.wait_spans(2);
    let requests: Vec<&Value> = spans.iter().filter(|s| s["kind"] == 2).collect();
    assert_eq!(
        requests.len(),
        2,
        "the sampled hop's two spans, the unsampled none: {spans:?}"
    );
    let a = requests
        .iter()
        .find(|s| s["parent_span_id"] == CLIENT_SPAN)
        .expect("A's span, child of the client's");
    let b = requests
        .iter()
        .find(|s| s["parent_span_id"] == a["span_id"])
        .expect("B's span, child of A's");
    assert!(a["trace_id"] == TRACE && b["trace_id"] == TRACE, "{spans:?}");
    let sampled = &hops.iter().find(|(f, _)| f == "01").expect("01 hop").1;
    assert_eq!(
        json!(received_parent(sampled)),
        a["span_id"],
        "B received A's span as parent"
    );
}

/// Installed globally with `Builder::init` (what `livetel::init` does) at `none`, on a multi-thread runtime.
#[test]
fn init_at_none_forwards() {
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f
        .builder()
        .init()
        .expect("the only global subscriber of this test binary");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let got = rt.block_on(hop("01"));
    check_received(&got, "01");
    assert_eq!(received_parent(&got), CLIENT_SPAN);
    assert_eq!(t.counters().started, 0);
}

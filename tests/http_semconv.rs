//! HTTP spans by OpenTelemetry's semantic conventions, between two axum services on loopback: A (`GET /a/{id}`)
//! calls B three times with `livetel::http::send` (`/users/7?token=…` answers 200, `/fail` 500, `/missing` 404,
//! no route). At `otlp` (the Python receiver): span names, kinds, the parent chain and attributes exact, the 5xx an
//! error on both sides, the 404 an error on the client only. At `local`: the Chrome trace names the spans the same
//! way. At `none`: nothing recorded, B still sees the caller's parent.
#![cfg(feature = "http")]

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::Fixture;
use common::receiver::Receiver;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const AGENT: &str = "semconv-test/1.0";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// B's `/users/{id}`: the parent it received.
async fn user(headers: HeaderMap) -> String {
    let tp = headers.get("traceparent").and_then(|v| v.to_str().ok());
    tp.unwrap_or_default().to_owned()
}

async fn fail() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A: three calls to B; answers the parent B received on the first, and the two other statuses.
async fn a(State(b): State<String>) -> String {
    let c = client();
    let first = livetel::http::send(c.get(format!("{b}/users/7?token=secret")))
        .await
        .expect("B answers");
    let seen = first.text().await.expect("body");
    let failed = livetel::http::send(c.get(format!("{b}/fail")))
        .await
        .expect("B answers");
    let missing = livetel::http::send(c.get(format!("{b}/missing")))
        .await
        .expect("B answers");
    json!({"seen": seen, "fail": failed.status().as_u16(), "missing": missing.status().as_u16()}).to_string()
}

async fn serve(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let make = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, make).await.expect("serve");
    });
    (addr, server)
}

/// One request to A under `dispatch`; A's answer and B's address.
fn request(dispatch: &tracing::Dispatch) -> (Value, SocketAddr) {
    common::block_on_under(dispatch, async {
        let layer = livetel::http::trace_layer;
        let b_app = Router::new()
            .route("/users/{id}", get(user))
            .route("/fail", get(fail))
            .layer(layer());
        let (b_addr, b_server) = serve(b_app).await;
        let a_app = Router::new()
            .route("/a/{id}", get(a))
            .with_state(format!("http://{b_addr}"))
            .layer(layer());
        let (a_addr, a_server) = serve(a_app).await;
        let answer = client()
            .get(format!("http://{a_addr}/a/1"))
            .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
            .header("user-agent", AGENT)
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
        (serde_json::from_str(&answer).expect("JSON"), b_addr)
    })
}

fn check_answer(answer: &Value) {
    assert_eq!(
        (answer["fail"].as_u64(), answer["missing"].as_u64()),
        (Some(500), Some(404))
    );
    let seen = answer["seen"].as_str().unwrap_or_default();
    assert!(seen.starts_with(&format!("00-{TRACE}-")), "{answer}");
}

#[test]
fn otlp_spans_follow_the_conventions() {
    let rx = Receiver::start();
    let body = rx.otlp_body();
    let f = Fixture::new(&body);
    let t = f.start();
    let (answer, b_addr) = request(&t.dispatch().expect("own subscriber").clone());
    check_answer(&answer);
    drop(t);
    let spans = rx.wait_spans(7);
    assert_eq!(spans.len(), 7, "A, three client spans, three B spans: {spans:#?}");
    assert!(
        spans.iter().all(|s| s["trace_id"] == TRACE),
        "one trace: {spans:#?}"
    );
    let a = common::find_one(&spans, |s| s["name"] == "GET /a/{id}", "A server span");
    assert_eq!(
        (&a["parent_span_id"], &a["kind"]),
        (&json!(CLIENT_SPAN), &json!(2))
    );
    assert_eq!(a["attributes"]["user_agent.original"], AGENT);
    assert_eq!(a["attributes"]["http.route"], "/a/{id}");
    let calls: Vec<&Value> = spans.iter().filter(|s| s["kind"] == 3).collect();
    assert_eq!(calls.len(), 3, "{spans:#?}");
    for call in &calls {
        assert_eq!(call["name"], "GET");
        assert_eq!(
            call["parent_span_id"], a["span_id"],
            "client spans are A's children"
        );
    }
    let call_to = |path: &str| {
        common::find_one(
            &spans,
            |s| {
                s["kind"] == 3
                    && s["attributes"]["url.full"]
                        .as_str()
                        .is_some_and(|u| u.contains(path))
            },
            path,
        )
    };
    let (user_call, fail_call, missing_call) = (call_to("/users/7"), call_to("/fail"), call_to("/missing"));
    assert_eq!(
        user_call["attributes"],
        json!({
            "code.namespace": "livetel::http::client",
            "http.request.method": "GET",
            "url.full": format!("http://{b_addr}/users/7?token=REDACTED"),
            "server.address": "127.0.0.1",
            "server.port": b_addr.port(),
            "http.response.status_code": 200,
        })
    );
    assert_eq!(user_call["status"]["code"], 0, "unset");
    for (call, code) in [(fail_call, 500), (missing_call, 404)] {
        assert_eq!(call["attributes"]["http.response.status_code"], code);
        assert_eq!(call["attributes"]["error.type"], code.to_string());
        assert_eq!(call["status"]["code"], 2, "a client span errs on 4xx and 5xx");
    }
    let user = common::find_one(&spans, |s| s["name"] == "GET /users/{id}", "B's user span");
    assert_eq!(
        user["parent_span_id"], user_call["span_id"],
        "the client span is the parent"
    );
    assert_eq!(user["kind"], 2);
    assert_eq!(user["status"]["code"], 0);
    assert_eq!(
        user["attributes"],
        json!({
            "code.namespace": "livetel::http",
            "http.request.method": "GET",
            "http.route": "/users/{id}",
            "url.path": "/users/7",
            "url.scheme": "http",
            "server.address": "127.0.0.1",
            "server.port": b_addr.port(),
            "client.address": "127.0.0.1",
            "network.protocol.version": "1.1",
            "http.response.status_code": 200,
        })
    );
    assert_eq!(
        answer["seen"].as_str().map(|tp| tp.split('-').nth(2)),
        Some(user_call["span_id"].as_str())
    );
    let failed = common::find_one(&spans, |s| s["name"] == "GET /fail", "B's 500 span");
    assert_eq!(failed["parent_span_id"], fail_call["span_id"]);
    assert_eq!(failed["status"]["code"], 2, "a 5xx is the server's error");
    assert_eq!(failed["attributes"]["http.response.status_code"], 500);
    assert_eq!(failed["attributes"]["error.type"], "500");
    let missing = common::find_one(&spans, |s| s["kind"] == 2 && s["name"] == "GET", "B's 404 span");
    assert_eq!(missing["parent_span_id"], missing_call["span_id"]);
    assert_eq!(missing["status"]["code"], 0, "a 4xx is not the server's error");
    assert_eq!(missing["attributes"]["http.response.status_code"], 404);
    assert!(
        missing["attributes"].get("http.route").is_none(),
        "no route matched"
    );
}

#[test]
fn local_names_spans_by_otel_name() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let (answer, _) = request(&t.dispatch().expect("own subscriber").clone());
    check_answer(&answer);
    common::wait_settled(&t);
    drop(t);
    let names = common::span_names(&f.traces);
    let want = [
        ("GET /a/{id}", 1),
        ("GET", 4),
        ("GET /users/{id}", 1),
        ("GET /fail", 1),
    ];
    assert_eq!(
        names,
        want.map(|(n, c)| (n.to_owned(), c)).into_iter().collect(),
        "{names:?}"
    );
}

#[test]
fn none_records_nothing_and_b_sees_the_callers_parent() {
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f.start();
    let (answer, _) = request(&t.dispatch().expect("own subscriber").clone());
    check_answer(&answer);
    assert_eq!(
        answer["seen"],
        format!("00-{TRACE}-{CLIENT_SPAN}-01"),
        "A forwards the caller's context through send"
    );
    assert_eq!(t.counters().started, 0);
}

/// A plain tower service (no axum router, so no route): the server span is named by its method alone. A
/// transport error (nothing listens) makes the client span an error of type `connect`.
#[test]
fn a_plain_tower_service_and_a_transport_error() {
    use tower::ServiceExt;
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    common::block_on_under(t.dispatch().expect("own subscriber"), async {
        let svc = tower::ServiceBuilder::new()
            .layer(livetel::http::trace_layer())
            .service(tower::service_fn(|_req: axum::http::Request<String>| async {
                Ok::<_, std::convert::Infallible>(axum::http::Response::new(String::new()))
            }));
        let req = axum::http::Request::post("/x/y")
            .body(String::new())
            .expect("request");
        let res = svc.oneshot(req).await.expect("answers");
        assert_eq!(res.status(), 200);
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("loopback port")
            .port();
        let sent = livetel::http::send(client().get(format!("http://127.0.0.1:{port}/"))).await;
        assert!(sent.is_err(), "nothing listens on {port}");
    });
    common::wait_settled(&t);
    drop(t);
    let files = common::trace_files(&f.traces);
    let spans: Vec<&Value> = files.iter().flat_map(|(_, e)| common::spans(e)).collect();
    let server = common::find_one(
        &spans.iter().map(|s| (*s).clone()).collect::<Vec<_>>(),
        |s| s["cat"] == "livetel::http",
        "server span",
    )
    .clone();
    assert_eq!(server["name"], "POST");
    assert_eq!(server["args"]["url.path"], "/x/y");
    assert_eq!(server["args"]["http.response.status_code"], 200);
    assert!(server["args"].get("http.route").is_none(), "{server}");
    let call = spans
        .iter()
        .find(|s| s["cat"] == "livetel::http::client")
        .expect("the client span");
    assert_eq!(call["name"], "GET");
    assert_eq!(call["args"]["otel.status_code"], "ERROR");
    assert_eq!(call["args"]["error.type"], "connect");
    assert!(call["args"].get("http.response.status_code").is_none(), "{call}");
}

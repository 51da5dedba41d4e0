//! The W3C Trace Context test suite (github.com/w3c/trace-context `test/`, vendored in tests/w3c/ with its
//! notice), run at its strict level and Trace Context Level 2 against a test service made of livetel's `http` feature: an axum server
//! behind `livetel::http::trace_layer()` whose handler calls every URL the harness lists through
//! `livetel::http::send` (a client span, its context injected). Every test of the suite must pass.
//!
//! The harness listens on 127.0.0.1:7777 (fixed in the suite). The service and the harness are stopped here.
#![cfg(feature = "http")]

mod common;

use std::process::{Command, Stdio};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use common::Fixture;
use serde_json::Value;
use tokio::net::TcpListener;

/// The suite's only dependency, pinned.
const PY_PACKAGES: &[&str] = &["aiohttp==3.12.15"];

/// `POST /test`: the body is a list of `{url, arguments}`; each URL is called with its `arguments` as the body.
async fn test(body: Bytes) -> &'static str {
    let Ok(Value::Array(calls)) = serde_json::from_slice::<Value>(&body) else {
        return "bad request";
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    for call in calls {
        let Some(url) = call["url"].as_str() else { continue };
        let arguments = serde_json::to_vec(&call["arguments"]).unwrap_or_default();
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .body(arguments);
        let _ = livetel::http::send(request).await;
    }
    "ok"
}

#[test]
fn the_w3c_trace_context_suite_passes_at_its_strict_level() {
    let python = common::venv::ensure("w3c-venv", PY_PACKAGES).join("python");
    let f = Fixture::new("watch = false\nbackend = \"local\"\npropagators = [\"tracecontext\", \"baggage\"]");
    let t = f.start();
    let dispatch = t.dispatch().expect("own subscriber").clone();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = std::thread::spawn(move || {
        common::block_on_under(&dispatch, async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let app = Router::new()
                .route("/test", post(test))
                .layer(livetel::http::trace_layer());
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
        });
    });
    let addr = addr_rx.recv().expect("the service's address");
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/w3c");
    let out = Command::new(python)
        .arg("test.py")
        .current_dir(suite)
        .env("SERVICE_ENDPOINT", format!("http://{addr}/test"))
        .env("STRICT_LEVEL", "2")
        .env("SPEC_LEVEL", "2")
        .stdin(Stdio::null())
        .output()
        .expect("run the suite");
    let _ = stop_tx.send(());
    service.join().expect("the service stops");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ran: usize = said
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no summary from the suite:\n{said}"));
    let passed = said.lines().filter(|l| l.ends_with(" ... ok")).count();
    assert!(
        out.status.success() && passed == ran && said.contains("\nOK"),
        "{passed} of {ran} passed:\n{said}"
    );
    assert!(ran >= 41, "the suite ran {ran} tests:\n{said}");
}

//! Spans, attributes, events, resource and parent links reach a real OTLP receiver over gRPC and HTTP/protobuf.

mod common;

use common::Fixture;
use common::receiver::Receiver;
use serde_json::Value;
use tracing::dispatcher::with_default;

fn otlp_body(protocol: &str, endpoint: &str) -> String {
    format!(
        "watch = false\nbackend = \"otlp\"\nservice_version = \"1.2.3\"\n[telemetry.otlp]\nprotocol = \"{protocol}\"\nendpoint = \"{endpoint}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 50\n\
         [telemetry.resource]\n\"deployment.environment\" = \"test\"\n"
    )
}

fn export_a_trace(protocol: &str, endpoint: String, rx: &Receiver) -> Vec<Value> {
    let f = Fixture::new(&otlp_body(protocol, &endpoint));
    let t = f.start();
    let s = t.status().borrow().clone();
    let otlp = s.sinks[0].otlp.clone().expect("otlp status");
    assert_eq!(otlp.protocol, protocol);
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("parent.op", user = "ada", n = 7u64, ok = true, ratio = 0.5).in_scope(|| {
            tracing::info_span!("child.op", otel.kind = "client")
                .in_scope(|| tracing::info!(attempt = 1, "calling out"));
        });
    });
    drop(t);
    let spans = rx.wait_spans(2);
    assert_eq!(spans.len(), 2, "{spans:?}");
    spans
}

fn check(spans: &[Value], protocol: &str) {
    let parent = spans.iter().find(|s| s["name"] == "parent.op").expect("parent");
    let child = spans.iter().find(|s| s["name"] == "child.op").expect("child");
    assert_eq!(parent["protocol"], protocol);
    assert_eq!(child["trace_id"], parent["trace_id"]);
    assert_eq!(child["parent_span_id"], parent["span_id"]);
    assert_eq!(parent["parent_span_id"], "");
    assert_eq!(parent["attributes"]["user"], "ada");
    assert_eq!(parent["attributes"]["n"], 7);
    assert_eq!(parent["attributes"]["ok"], true);
    assert_eq!(parent["attributes"]["ratio"], 0.5);
    assert_eq!(child["kind"], 3, "otel.kind = client");
    assert_eq!(child["events"][0]["name"], "calling out");
    assert_eq!(child["events"][0]["attributes"]["attempt"], 1);
    assert_eq!(parent["resource"]["service.name"], "test");
    assert_eq!(parent["resource"]["service.version"], "1.2.3");
    assert_eq!(parent["resource"]["deployment.environment"], "test");
    assert_eq!(parent["scope"], "livetel");
    assert!(parent["end"].as_u64() >= parent["start"].as_u64());
    assert!(child["start"].as_u64() >= parent["start"].as_u64());
}

#[test]
fn grpc_exports_spans_attributes_resource_and_parents() {
    let rx = Receiver::start();
    let spans = export_a_trace("grpc", rx.grpc_endpoint(), &rx);
    check(&spans, "grpc");
}

#[test]
fn http_protobuf_exports_spans_attributes_resource_and_parents() {
    let rx = Receiver::start();
    let spans = export_a_trace("http/protobuf", rx.http_endpoint(), &rx);
    check(&spans, "http/protobuf");
}

#[test]
fn status_counts_exports() {
    let rx = Receiver::start();
    let f = Fixture::new(&otlp_body("grpc", &rx.grpc_endpoint()));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..100u64 {
            tracing::info_span!("counted", i).in_scope(|| {});
        }
    });
    rx.wait_spans(100);
    let mut o = None;
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while std::time::Instant::now() < deadline {
        let s = t.refresh_status();
        o = s.sinks[0].otlp.clone().filter(|o| o.spans_exported == 100);
        if o.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = o.expect("status shows 100 spans exported");
    assert_eq!((o.spans_dropped, o.failed_batches), (0, 0));
    assert_eq!(o.endpoint, rx.grpc_endpoint());
}

#[test]
fn resource_and_timeout_change_live() {
    let rx = Receiver::start();
    let f = Fixture::new(&otlp_body("grpc", &rx.grpc_endpoint()));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("v1.span").in_scope(|| {})
    });
    let changed =
        otlp_body("grpc", &rx.grpc_endpoint()).replace("1.2.3", "2.0.0") + "\"team\" = \"agents\"\n";
    let changed = changed.replace("[telemetry.otlp]\n", "[telemetry.otlp]\ntimeout_ms = 2000\n");
    f.write(&changed);
    assert!(t.reload_trigger().reload_blocking().is_applied());
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("v2.span").in_scope(|| {})
    });
    drop(t);
    let spans = rx.wait_spans(2);
    let find = |n: &str| {
        spans
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(find("v1.span")["resource"]["service.version"], "1.2.3");
    assert_eq!(find("v2.span")["resource"]["service.version"], "2.0.0");
    assert_eq!(find("v2.span")["resource"]["team"], "agents");
    assert!(find("v1.span")["resource"].get("team").is_none());
}

/// A field recorded again replaces its value, as an OpenTelemetry attribute set again does: each sink gets the
/// key once, with the last value (not one entry per `record`, which also grew the span's memory per call).
#[test]
fn a_field_recorded_again_reaches_every_sink_once_with_its_last_value() {
    let rx = Receiver::start();
    let body = format!(
        "watch = false\nbackend = [\"local\", \"otlp\"]\n[telemetry.otlp]\nprotocol = \"grpc\"\nendpoint = \"{}\"\n",
        rx.grpc_endpoint()
    );
    let f = Fixture::new(&body);
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        let span = tracing::info_span!("looping", progress = tracing::field::Empty, stage = "start");
        for i in 0..100u64 {
            span.record("progress", i);
        }
        span.record("stage", "done");
        span.in_scope(|| {});
    });
    drop(t);
    let spans = rx.wait_spans(1);
    let looping = spans.iter().find(|s| s["name"] == "looping").expect("the span");
    let keys: Vec<&str> = looping["attribute_keys"]
        .as_array()
        .expect("the keys sent")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for key in ["progress", "stage"] {
        assert_eq!(keys.iter().filter(|k| **k == key).count(), 1, "{key} in {keys:?}");
    }
    assert_eq!(looping["attributes"]["progress"], 99);
    assert_eq!(looping["attributes"]["stage"], "done");

    let files = common::trace_files(&f.traces);
    let chrome: Vec<&Value> = files
        .iter()
        .flat_map(|(_, events)| common::spans(events))
        .filter(|s| s["name"] == "looping")
        .collect();
    assert_eq!(chrome.len(), 1, "{chrome:?}");
    assert_eq!(chrome[0]["args"]["progress"], 99);
    assert_eq!(chrome[0]["args"]["stage"], "done");
    let raw: String = files
        .iter()
        .map(|(path, _)| std::fs::read_to_string(path).expect("trace file"))
        .collect();
    assert_eq!(raw.matches("\"progress\":").count(), 1, "{raw}");
}

/// A span holds at most 128 events for OTLP, OpenTelemetry's default limit: the rest are counted, in the span
/// (`dropped_events_count`) and in status, so a long-lived span that logs in a loop stays bounded.
#[test]
fn a_span_holds_at_most_128_events_and_counts_the_rest() {
    let rx = Receiver::start();
    let f = Fixture::new(&otlp_body("grpc", &rx.grpc_endpoint()));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("chatty").in_scope(|| {
            for i in 0..200u64 {
                tracing::info!(i, "step");
            }
        });
    });
    let dropped = t.refresh_status().counters.events_dropped;
    drop(t);
    let spans = rx.wait_spans(1);
    let chatty = spans.iter().find(|s| s["name"] == "chatty").expect("the span");
    let events = chatty["events"].as_array().expect("events");
    assert_eq!(events.len(), 128);
    assert_eq!(events[127]["attributes"]["i"], 127, "the first 128 are kept");
    assert_eq!(chatty["dropped_events_count"], 72, "{chatty}");
    assert_eq!(dropped, 72);
}

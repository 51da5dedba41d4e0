//! Events as OTLP log records, at a real receiver over gRPC and HTTP/protobuf: severity, body, target, fields,
//! the trace and span ids of the span each happened in (matching the exported spans), and counts that balance
//! (`made = exported + dropped`), dropped ones included.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Fixture;
use common::receiver::{Faults, Receiver};
use livetel::status::TelemetryStatus;
use serde_json::Value;
use tracing::dispatcher::with_default;

fn otlp_body(protocol: &str, endpoint: &str, queue: usize) -> String {
    format!(
        "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nprotocol = \"{protocol}\"\nendpoint = \"{endpoint}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_queue_size = {queue}\n"
    )
}

/// Refreshes status until no log record is in flight; returns it.
fn settled(t: &livetel::Telemetry) -> Arc<TelemetryStatus> {
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        let s = t.refresh_status();
        if s.logs.made > 0 && s.logs.in_flight() == 0 {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "log records still in flight: {:?}",
            s.logs
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One event outside any span, one inside `llm.chat`, a WARN inside `tool.execute` under it.
fn agent_turn() {
    tracing::info!(turn = 1u64, "turn done");
    tracing::info_span!("llm.chat").in_scope(|| {
        tracing::info!(tokens = 42u64, model = "small", "chat answered");
        tracing::info_span!("tool.execute", tool = "grep")
            .in_scope(|| tracing::warn!(ok = false, "tool failed"));
    });
}

fn by_body<'a>(logs: &'a [Value], body: &str) -> &'a Value {
    logs.iter()
        .find(|l| l["body"] == body)
        .unwrap_or_else(|| panic!("no log record {body:?} in {logs:?}"))
}

fn exports_logs_with_their_spans(protocol: &str, endpoint: impl Fn(&Receiver) -> String) {
    let rx = Receiver::start();
    let f = Fixture::new(&otlp_body(protocol, &endpoint(&rx), 2048));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), agent_turn);
    let s = settled(&t);
    assert_eq!(
        (s.logs.made, s.logs.exported, s.logs.dropped),
        (3, 3, 0),
        "{:?}",
        s.logs
    );
    assert_eq!((s.sinks[0].logs_exported, s.sinks[0].logs_dropped), (3, 0));
    drop(t);
    let spans = rx.wait_spans(2);
    let logs = rx.wait_logs(3);
    assert_eq!(logs.len(), 3, "{logs:?}");
    let span = |name: &str| spans.iter().find(|s| s["name"] == name).expect(name);
    let (chat, tool) = (span("llm.chat"), span("tool.execute"));

    let outside = by_body(&logs, "turn done");
    assert_eq!(outside["protocol"], protocol);
    assert_eq!(
        (&outside["trace_id"], &outside["span_id"]),
        (&Value::from(""), &Value::from(""))
    );
    assert_eq!(
        (&outside["severity_number"], &outside["severity_text"]),
        (&9.into(), &"INFO".into())
    );
    assert_eq!(outside["attributes"]["turn"], 1);
    assert_eq!(outside["scope"], "otlp_logs", "the target is the scope's name");
    assert_eq!(outside["attributes"]["code.namespace"], "otlp_logs");
    assert_eq!(outside["resource"]["service.name"], "test");
    assert!(outside["time"].as_u64() > Some(0));

    let in_chat = by_body(&logs, "chat answered");
    assert_eq!(in_chat["trace_id"], chat["trace_id"]);
    assert_eq!(in_chat["span_id"], chat["span_id"]);
    assert_eq!(in_chat["flags"], 1, "sampled");
    assert_eq!(in_chat["attributes"]["tokens"], 42);
    assert_eq!(in_chat["attributes"]["model"], "small");

    let failed = by_body(&logs, "tool failed");
    assert_eq!(failed["trace_id"], chat["trace_id"]);
    assert_eq!(failed["span_id"], tool["span_id"]);
    assert_eq!(
        (&failed["severity_number"], &failed["severity_text"]),
        (&13.into(), &"WARN".into())
    );
    assert_eq!(failed["attributes"]["ok"], false);
    // The spans keep their events as well.
    assert_eq!(tool["events"][0]["name"], "tool failed");
}

#[test]
fn grpc_exports_logs_with_the_ids_of_their_spans() {
    exports_logs_with_their_spans("grpc", Receiver::grpc_endpoint);
}

#[test]
fn http_protobuf_exports_logs_with_the_ids_of_their_spans() {
    exports_logs_with_their_spans("http/protobuf", Receiver::http_endpoint);
}

#[test]
fn logs_a_full_queue_cannot_take_are_counted_and_the_rest_arrive() {
    const EVENTS: u64 = 200;
    let mut rx = Receiver::start_with(
        Faults {
            stall: true,
            ..Faults::default()
        },
        None,
    );
    let f = Fixture::new(&otlp_body("grpc", &rx.grpc_endpoint(), 8));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..EVENTS {
            tracing::info!(i, "burst");
        }
    });
    rx.release();
    let s = settled(&t);
    assert_eq!(s.logs.made, EVENTS);
    assert_eq!(s.logs.made, s.logs.exported + s.logs.dropped, "{:?}", s.logs);
    assert!(
        s.logs.dropped > 0,
        "a queue of 8 behind a stalled collector drops: {:?}",
        s.logs
    );
    assert_eq!(
        (s.sinks[0].logs_exported, s.sinks[0].logs_dropped),
        (s.logs.exported, s.logs.dropped)
    );
    assert!(
        s.logs.exported > 0,
        "the queue's records reached the released collector: {:?}",
        s.logs
    );
    let exported = usize::try_from(s.logs.exported).expect("fits");
    // Settled: every export is over, so nothing more arrives after this read.
    let arrived = rx.wait_logs(exported);
    let distinct: std::collections::HashSet<String> =
        arrived.iter().map(|l| l["attributes"]["i"].to_string()).collect();
    assert_eq!(
        (arrived.len(), distinct.len()),
        (exported, exported),
        "every exported record arrived, once"
    );
    // No span was made, none dropped: logs have a queue of their own.
    assert_eq!(s.counters.dropped, 0);
}

#[test]
fn a_reload_that_keeps_the_otlp_sink_keeps_its_log_lane() {
    let rx = Receiver::start();
    let body = otlp_body("grpc", &rx.grpc_endpoint(), 2048);
    let f = Fixture::new(&body);
    let t = f.start();
    let log = |n: u64| {
        with_default(t.dispatch().expect("own subscriber"), || {
            tracing::info!(n, "tick")
        })
    };
    log(1);
    log(2);
    assert_eq!(settled(&t).sinks[0].logs_exported, 2);
    // A new sample rate is a new generation served by the same sink (same exporters, same connections).
    f.write(&body.replace("[telemetry.otlp]", "sample_rate = 0.5\n[telemetry.otlp]"));
    assert!(t.reload_trigger().reload_blocking().is_applied());
    log(3);
    let s = settled(&t);
    assert_eq!(s.sample_rate, 0.5);
    assert_eq!(
        (s.sinks[0].logs_exported, s.logs.exported),
        (3, 3),
        "the figures of one sink across both generations: {:?}",
        s.sinks
    );
    assert_eq!(rx.wait_logs(3).len(), 3);
}

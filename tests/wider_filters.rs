//! A console or logs filter wider than the traces filter admits spans livetel does not record. They are no link
//! of a trace: a recorded span under one continues its nearest recorded ancestor's trace, and an event inside
//! one belongs to that ancestor (span event and log record), as with a per-layer-filtered span.

mod common;

use common::Fixture;
use common::receiver::Receiver;
use tracing::dispatcher::with_default;

#[test]
fn a_span_only_the_console_wanted_neither_splits_the_trace_nor_loses_its_events() {
    let rx = Receiver::start();
    let f = Fixture::new(&format!(
        "watch = false\nbackend = \"otlp\"\nfilter = \"info\"\n[telemetry.otlp]\nendpoint = \"{}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 20\n\
         [telemetry.console]\nenabled = true\nansi = false\nformat = \"json\"\nfilter = \"debug,wider_filters=debug\"\n\
         [telemetry.logs]\nfilter = \"info\"",
        rx.grpc_endpoint()
    ));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("req").in_scope(|| {
            // DEBUG: only the console's filter takes it.
            tracing::debug_span!("db").in_scope(|| {
                tracing::info!("inside db");
                tracing::info_span!("query").in_scope(|| {});
            });
        });
    });
    let spans = rx.wait_spans(2);
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("no span {n} in {spans:?}"))
    };
    let (req, query) = (by_name("req"), by_name("query"));
    assert!(
        spans.iter().all(|s| s["name"] != "db"),
        "db is not traced: {spans:?}"
    );
    assert_eq!(query["trace_id"], req["trace_id"], "one trace");
    assert_eq!(query["parent_span_id"], req["span_id"], "query's parent is req");
    assert_eq!(req["events"][0]["name"], "inside db", "the event is req's: {req}");
    let logs = rx.wait_logs(1);
    let log = logs
        .iter()
        .find(|l| l["body"] == "inside db")
        .expect("its log record");
    assert_eq!(
        (&log["trace_id"], &log["span_id"]),
        (&req["trace_id"], &req["span_id"])
    );
    t.shutdown();
}

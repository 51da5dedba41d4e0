//! Events as Chrome instants in the `local` file: every event, inside a span or not, sampled trace or not, is one
//! instant (`"ph":"i"`, thread scope, fields in `args`), and status counts them as log records.

mod common;

use common::{Fixture, trace_files};
use tracing::dispatcher::with_default;

#[test]
fn every_event_is_one_instant_with_its_fields_and_counted() {
    // No trace is kept: spans are sampled out, their events are still written.
    let f = Fixture::new("watch = false\nbackend = \"local\"\nsample_rate = 0.0");
    let t = f.start();
    let status = t.status();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info!(turn = 1u64, "turn done");
        tracing::info_span!("llm.chat").in_scope(|| {
            tracing::warn!(tool = "grep", "tool failed");
        });
    });
    drop(t);
    let s = status.borrow().clone();
    assert_eq!(
        (s.logs.made, s.logs.exported, s.logs.dropped),
        (2, 2, 0),
        "{:?}",
        s.logs
    );
    let files = trace_files(&f.traces);
    let events: Vec<_> = files.iter().flat_map(|(_, e)| e.iter()).collect();
    let instants: Vec<_> = events.iter().filter(|e| e["ph"] == "i").collect();
    assert_eq!(instants.len(), 2, "each event once: {events:?}");
    assert!(instants.iter().all(|e| e["s"] == "t" && e["cat"] == "local_logs"));
    assert_eq!(instants[0]["args"]["message"], "turn done");
    assert_eq!(instants[0]["args"]["turn"], 1);
    assert_eq!(instants[1]["args"]["tool"], "grep");
    assert!(events.iter().all(|e| e["ph"] != "X"), "the trace was sampled out");
}

#[test]
fn an_event_in_a_sampled_span_is_written_once() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("llm.chat").in_scope(|| tracing::info!(n = 3, "inside"));
    });
    // The sink's own row, while it runs (after shutdown status shows the `none` row).
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while t.refresh_status().logs.in_flight() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let sink = t.refresh_status().sinks[0].clone();
    assert_eq!(
        (sink.backend, sink.logs_exported, sink.logs_dropped),
        ("local", 1, 0)
    );
    drop(t);
    let files = trace_files(&f.traces);
    let events: Vec<_> = files.iter().flat_map(|(_, e)| e.iter()).collect();
    let kinds: Vec<_> = events
        .iter()
        .filter_map(|e| e["ph"].as_str())
        .filter(|p| *p != "M")
        .collect();
    assert_eq!(kinds, ["i", "X"], "{events:?}");
}

/// `[telemetry.logs]` is live: its filter chooses the events that become instants, and `enabled = false` stops
/// them, while spans go on; status names the filter in force.
#[test]
fn the_logs_filter_and_switch_apply_live() {
    let f = Fixture::new("watch = false\nbackend = \"local\"\n[telemetry.logs]\nfilter = \"warn\"");
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    let emit = |phase: u64| {
        with_default(&d, || {
            tracing::info_span!("phase", phase).in_scope(|| {
                tracing::info!(phase, "info event");
                tracing::warn!(phase, "warn event");
            });
        })
    };
    assert_eq!(t.refresh_status().logs_filter.as_deref(), Some("warn"));
    emit(1);
    f.write("watch = false\nbackend = \"local\"\n[telemetry.logs]\nenabled = false");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    assert_eq!(t.refresh_status().logs_filter, None);
    emit(2);
    f.write("watch = false\nbackend = \"local\"");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    // No filter of their own: the console's default, "info".
    assert_eq!(t.refresh_status().logs_filter.as_deref(), Some("info"));
    emit(3);
    drop(t);
    let files = trace_files(&f.traces);
    let events: Vec<_> = files.iter().flat_map(|(_, e)| e.iter()).collect();
    let instants: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e["ph"] == "i")
        .map(|e| {
            (
                e["args"]["phase"].as_u64().unwrap_or(0),
                e["args"]["message"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        instants,
        [(1, "warn event"), (3, "info event"), (3, "warn event")],
        "{events:?}"
    );
    let spans = events.iter().filter(|e| e["ph"] == "X").count();
    assert_eq!(spans, 3, "spans recorded in every phase");
}

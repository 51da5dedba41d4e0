//! With livetel as the *global* subscriber and the widest filter (`trace`), nothing from the exporter's own
//! stack (tonic, tower, hyper, h2, reqwest, opentelemetry) ever reaches the exporter: livetel's threads trace
//! nowhere. The same crates' spans made on the app's own threads (axum's `TraceLayer` is `tower_http`,
//! reqwest-tracing is `reqwest_tracing`) are recorded like any other: the guard is the thread, not the target.
//! Its own test binary: it installs the global default.

mod common;

use std::time::Duration;

use common::Fixture;
use common::receiver::Receiver;

#[test]
fn export_stack_never_traces_itself() {
    let rx = Receiver::start();
    let f = Fixture::new(&format!(
        "watch = false\nbackend = \"otlp\"\nfilter = \"trace\"\n[telemetry.otlp]\nendpoint = \"{}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_export_batch_size = 8",
        rx.grpc_endpoint()
    ));
    let t = f.builder().init().expect("global init");
    for i in 0..40u64 {
        tracing::trace_span!("app.work", i).in_scope(|| tracing::trace!("inside"));
        // The HTTP stack's targets, from the app's own thread: recorded like any other span.
        tracing::info_span!(target: "tower_http::trace::on_request", "http.request").in_scope(|| {
            tracing::info_span!(target: "reqwest_tracing::reqwest_otel_span_builder", "http.client")
                .in_scope(|| {});
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    rx.wait_spans(120);
    // Let several more export rounds pass: a feedback loop would keep adding spans.
    std::thread::sleep(Duration::from_millis(500));
    let c = t.shutdown();
    let spans = rx.spans();
    let mut names = std::collections::BTreeMap::<String, usize>::new();
    for s in &spans {
        *names
            .entry(s["name"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
    }
    let want: std::collections::BTreeMap<String, usize> =
        [("app.work", 40), ("http.client", 40), ("http.request", 40)]
            .into_iter()
            .map(|(n, k)| (n.to_owned(), k))
            .collect();
    assert_eq!(names, want, "the app's spans arrive, the exporter's never");
    assert_eq!((c.started, c.exported, c.dropped), (120, 120, 0), "{c:?}");
}

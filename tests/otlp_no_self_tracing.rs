//! With livetel as the *global* subscriber and the widest filter (`trace`), nothing from the exporter's own
//! stack (tonic, tower, hyper, h2, reqwest, opentelemetry) ever reaches the exporter. Its own test binary:
//! it installs the global default.

mod common;

use std::time::Duration;

use common::receiver::Receiver;
use common::Fixture;

#[test]
fn export_stack_never_traces_itself() {
    let rx = Receiver::start();
    let f = Fixture::new(&format!(
        "watch = false\nbackend = \"otlp\"\nfilter = \"trace\"\notlp_endpoint = \"{}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_export_batch_size = 8",
        rx.grpc_endpoint()
    ));
    let t = f.builder().init().expect("global init");
    for i in 0..40u64 {
        tracing::trace_span!("app.work", i).in_scope(|| tracing::trace!("inside"));
        // The same crates' targets from the app's own threads are excluded as well.
        tracing::info_span!(target: "h2::proto", "h2.frame").in_scope(|| {});
        tracing::info_span!(target: "tonic::transport", "tonic.call").in_scope(|| {});
        tracing::info_span!(target: "opentelemetry_sdk", "sdk.internal").in_scope(|| {});
        std::thread::sleep(Duration::from_millis(5));
    }
    rx.wait_spans(40);
    // Let several more export rounds pass: a feedback loop would keep adding spans.
    std::thread::sleep(Duration::from_millis(500));
    let spans = rx.spans();
    let names: std::collections::BTreeSet<String> = spans
        .iter()
        .map(|s| s["name"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(spans.len(), 40, "only the app's spans arrive: {names:?}");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["app.work"]);
    let c = t.shutdown();
    assert_eq!((c.started, c.exported), (40, 40), "{c:?}");
}

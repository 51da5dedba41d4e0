//! A retired OTLP exporter whose collector is slow but answering delivers its whole backlog, however long that
//! takes beyond its 5 s limit (up to its hard limit of 60 s): retirement loses nothing to a slow collector. The
//! property is counted: every span made is exported and arrives, none is dropped.

mod common;

use common::receiver::{Faults, Receiver};
use common::{Fixture, PATIENCE};

/// Spans queued when the backend flips away: 16 batches of 50.
const SPANS: usize = 800;

#[test]
fn a_retired_exporter_delivers_its_backlog_to_a_slow_collector() {
    // 16 batches, 2 in flight, 1 s per answer: about 8 s of exporting after retirement.
    let rx = Receiver::start_with(
        Faults {
            delay_ms: 1_000,
            ..Faults::default()
        },
        None,
    );
    let f = Fixture::new(&format!(
        "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 10\nmax_queue_size = 4096\nmax_export_batch_size = 50",
        rx.grpc_endpoint()
    ));
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..SPANS {
            tracing::info_span!("backlog", i).in_scope(|| {});
        }
    });
    // Retire the exporter while most of its backlog is still queued.
    f.write("watch = false\nbackend = \"none\"");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    let deadline = std::time::Instant::now() + PATIENCE;
    while t.counters().in_flight() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let c = t.shutdown();
    assert_eq!(
        c.dropped, 0,
        "the retired exporter gave up on a collector that answered: {c:?}"
    );
    assert_eq!((c.started, c.exported), (SPANS as u64, SPANS as u64), "{c:?}");
    assert_eq!(rx.wait_spans(SPANS).len(), SPANS);
}

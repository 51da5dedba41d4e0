//! 100 flips between local, OTLP/gRPC and OTLP/HTTP (and from one receiver to another) under 4 threads:
//! every span created reaches exactly one backend, and every trace arrives whole in one place.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use common::receiver::Receiver;
use common::{Fixture, spans, trace_files};

const FLIPS: usize = 100;
const THREADS: u64 = 4;
/// Spans made but not yet exported before a worker waits: four batches. This test is about flips, not
/// overload. On a starved machine (load average 6–16: a CPU hog and a second test run beside it) the exporters
/// fall behind even paced producers, and a full queue drops (and counts) by design; so does a retired exporter
/// whose backlog is not delivered within its 5 s limit — and 100 flips in a row retire about 75 exporters, each
/// with its own backlog, all served by the one export thread. Keeping the backlog small keeps every retired
/// exporter's share deliverable within that limit.
const MAX_BACKLOG: u64 = 2_048;

fn worker(t: u64, tel: Arc<livetel::Telemetry>, stop: Arc<AtomicBool>, created: Arc<AtomicU64>) {
    common::paced_trees(t, &tel, &stop, MAX_BACKLOG, |seq| {
        let mut made = 0;
        tracing::info_span!("flip.root", seq).in_scope(|| {
            made += u64::from(!tracing::Span::current().is_disabled());
            tracing::info_span!("flip.child", seq).in_scope(|| {
                made += u64::from(!tracing::Span::current().is_disabled());
                tracing::info_span!("flip.leaf", seq).in_scope(|| {
                    made += u64::from(!tracing::Span::current().is_disabled());
                });
            });
        });
        created.fetch_add(made, SeqCst);
    });
}

#[test]
fn hundred_flips_between_local_grpc_http_lose_and_duplicate_nothing() {
    let (a, b) = (Receiver::start(), Receiver::start());
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let tel = Arc::new(f.start());
    let batch = "[telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_queue_size = 65536\nmax_export_batch_size = 512";
    let configs = [
        "watch = false\nbackend = \"local\"".to_owned(),
        format!(
            "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{}\"\n{batch}",
            a.grpc_endpoint()
        ),
        format!(
            "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nprotocol = \"http/protobuf\"\nendpoint = \"{}\"\n{batch}",
            a.http_endpoint()
        ),
        format!(
            "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{}\"\n{batch}",
            b.grpc_endpoint()
        ),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (tel, s, c) = (Arc::clone(&tel), Arc::clone(&stop), Arc::clone(&created));
            std::thread::spawn(move || worker(t, tel, s, c))
        })
        .collect();
    // Every export error status shows during the run, to say why if anything is dropped.
    let watching = Arc::new(AtomicBool::new(true));
    let errors = {
        let (status, watching) = (tel.status(), Arc::clone(&watching));
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while watching.load(SeqCst) {
                for sink in &status.borrow().sinks {
                    seen.extend(sink.error.clone());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            seen
        })
    };
    let trigger = tel.reload_trigger();
    for k in 1..=FLIPS {
        std::thread::sleep(Duration::from_millis(15));
        f.write(&configs[k % configs.len()]);
        let outcome = trigger.reload_blocking();
        assert!(outcome.is_applied(), "flip {k}: {outcome:?}");
    }
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let created = created.load(SeqCst);
    // Shutdown flushes every retired exporter within its time limit; its counts say what became of each span.
    // Let the exporters catch up before shutdown, whose bounded flush (5 s) would otherwise drop — and count —
    // what a starved machine had not sent yet: this test is about flips, not about shutdown under overload.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while tel.counters().in_flight() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let tel = Arc::try_unwrap(tel).unwrap_or_else(|_| panic!("workers joined"));
    let c = tel.shutdown();
    watching.store(false, SeqCst);
    let errors = errors.join().expect("status watcher");
    println!("otlp flips: counters after shutdown {c:?}");
    // First: nothing was dropped (counted), or a missing span would read as a lost one below.
    assert_eq!(
        c.dropped, 0,
        "spans dropped (counted): {c:?}; export errors in status: {errors:?}"
    );
    assert_eq!(
        c.started, created,
        "every span the workers made was started: {c:?}"
    );
    let counters_done = c.exported;

    // (seq, name) -> where it arrived
    let mut seen: HashMap<(u64, String), String> = HashMap::new();
    let mut put = |seq: u64, name: &str, place: String| {
        let prev = seen.insert((seq, name.to_owned()), place.clone());
        assert!(
            prev.is_none(),
            "span {name} of trace {seq} arrived twice: {prev:?} and {place}"
        );
    };
    for (path, events) in trace_files(&f.traces) {
        for s in spans(&events) {
            put(
                s["args"]["seq"].as_u64().expect("seq"),
                s["name"].as_str().unwrap_or(""),
                path.display().to_string(),
            );
        }
    }
    for (label, rx) in [("a", &a), ("b", &b)] {
        for s in rx.spans() {
            let seq = s["attributes"]["seq"].as_u64().expect("seq");
            let place = format!("receiver {label} over {}", s["protocol"]);
            put(seq, s["name"].as_str().unwrap_or(""), place);
        }
    }
    assert_eq!(
        seen.len() as u64,
        counters_done,
        "spans exported vs spans arrived"
    );
    let mut by_trace: HashMap<u64, HashSet<&String>> = HashMap::new();
    let mut count: HashMap<u64, usize> = HashMap::new();
    for ((seq, _), place) in &seen {
        by_trace.entry(*seq).or_default().insert(place);
        *count.entry(*seq).or_default() += 1;
    }
    assert!(
        by_trace.values().all(|p| p.len() == 1),
        "a trace arrived in two places"
    );
    assert!(count.values().all(|n| *n == 3), "a trace arrived incomplete");
    let places: HashSet<&String> = seen.values().collect();
    println!(
        "otlp flips: {FLIPS} flips, {THREADS} threads: {created} spans created, {} arrived exactly once in {} places \
         (files, 2 receivers x 2 protocols), {} whole traces, 0 lost, 0 duplicated",
        seen.len(),
        places.len(),
        by_trace.len()
    );
}

//! `backend` as a list: flips between `["local", "otlp"]`, `"otlp"` and `"local"` under 4 threads. Every span
//! reaches every backend of the generation its trace began in, whole and once; every event reaches every backend
//! current when it happened, once, as a log record; a change that concerns only the OTLP backend leaves the local
//! file as it is (same file, still written).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use common::receiver::Receiver;
use common::{Fixture, spans, trace_files};

const FLIPS: usize = 40;
const THREADS: u64 = 4;
/// Span copies made but not yet written before a worker waits: this test is about flips, not overload.
const MAX_BACKLOG: u64 = 2_048;

fn worker(t: u64, tel: Arc<livetel::Telemetry>, stop: Arc<AtomicBool>) {
    common::paced_trees(t, &tel, &stop, MAX_BACKLOG, |seq| {
        tracing::info_span!("list.root", seq).in_scope(|| {
            tracing::info!(seq, "inside the root");
            tracing::info_span!("list.child", seq).in_scope(|| {
                tracing::info_span!("list.leaf", seq).in_scope(|| {});
            });
        });
    });
}

/// The configs flipped through, in order; the second differs from the first in the OTLP table only.
fn configs(rx: &Receiver) -> [String; 4] {
    let batch = "[telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_queue_size = 65536";
    let otlp = |backend: &str, protocol: &str, endpoint: String| {
        format!(
            "watch = false\nbackend = {backend}\n[telemetry.otlp]\nprotocol = \"{protocol}\"\nendpoint = \"{endpoint}\"\n{batch}"
        )
    };
    [
        otlp(r#"["local", "otlp"]"#, "grpc", rx.grpc_endpoint()),
        otlp(r#"["local", "otlp"]"#, "http/protobuf", rx.http_endpoint()),
        otlp(r#""otlp""#, "grpc", rx.grpc_endpoint()),
        "watch = false\nbackend = \"local\"".to_owned(),
    ]
}

#[test]
fn list_flips_reach_every_backend_whole_and_keep_the_local_file_when_only_otlp_changes() {
    let rx = Receiver::start();
    let configs = configs(&rx);
    let f = Fixture::new(&configs[0]);
    let tel = Arc::new(f.start());
    assert_eq!(
        tel.status().borrow().sinks.len(),
        2,
        "one status entry per backend"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (tel, stop) = (Arc::clone(&tel), Arc::clone(&stop));
            std::thread::spawn(move || worker(t, tel, stop))
        })
        .collect();
    let trigger = tel.reload_trigger();
    let mut kept_file = 0;
    for k in 1..=FLIPS {
        std::thread::sleep(Duration::from_millis(15));
        let before = tel.status().borrow().trace_file.clone();
        f.write(&configs[k % configs.len()]);
        let outcome = trigger.reload_blocking();
        assert!(outcome.is_applied(), "flip {k}: {outcome:?}");
        if k % configs.len() == 1 {
            // Only the OTLP table changed: the local backend keeps its file.
            assert_eq!(
                tel.status().borrow().trace_file,
                before,
                "flip {k} rotated the local file"
            );
            kept_file += 1;
        }
    }
    assert_eq!(kept_file, FLIPS / configs.len());
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while tel.counters().in_flight() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = tel.status();
    let tel = Arc::try_unwrap(tel).unwrap_or_else(|_| panic!("workers joined"));
    let c = tel.shutdown();
    let logs = status.borrow().logs;
    assert_eq!(c.dropped, 0, "copies dropped (counted): {c:?}");
    assert_eq!(c.started, c.exported, "every copy started was exported: {c:?}");

    // (seq, span name) -> the backends it arrived in, each at most once.
    let mut arrived: HashMap<(u64, String), BTreeSet<&str>> = HashMap::new();
    let mut arrivals = 0u64;
    let mut put = |seq: u64, name: &str, backend: &'static str| {
        arrivals += 1;
        let fresh = arrived.entry((seq, name.to_owned())).or_default().insert(backend);
        assert!(fresh, "span {name} of trace {seq} arrived twice in {backend}");
    };
    // seq -> the backends its event arrived in as a log record, each at most once.
    let mut logged: HashMap<u64, BTreeSet<&str>> = HashMap::new();
    let mut put_log = |seq: Option<u64>, backend: &'static str| {
        let seq = seq.expect("seq");
        let fresh = logged.entry(seq).or_default().insert(backend);
        assert!(fresh, "the event of trace {seq} arrived twice in {backend}");
    };
    for (_, events) in trace_files(&f.traces) {
        for s in spans(&events) {
            put(
                s["args"]["seq"].as_u64().expect("seq"),
                s["name"].as_str().unwrap_or(""),
                "local",
            );
        }
        for e in events.iter().filter(|e| e["ph"] == "i") {
            put_log(e["args"]["seq"].as_u64(), "local");
        }
    }
    for l in rx.logs() {
        put_log(l["attributes"]["seq"].as_u64(), "otlp");
    }
    for s in rx.spans() {
        put(
            s["attributes"]["seq"].as_u64().expect("seq"),
            s["name"].as_str().unwrap_or(""),
            "otlp",
        );
    }
    assert_eq!(arrivals, c.exported, "copies exported vs copies arrived");
    // Whole in each backend: the three spans of a trace arrived in the same backends.
    let mut by_trace: HashMap<u64, Vec<&BTreeSet<&str>>> = HashMap::new();
    for ((seq, _), places) in &arrived {
        by_trace.entry(*seq).or_default().push(places);
    }
    let mut in_both = 0;
    for (seq, places) in &by_trace {
        assert_eq!(places.len(), 3, "trace {seq} is missing spans: {places:?}");
        assert!(
            places.iter().all(|p| p == &places[0]),
            "trace {seq} is torn: {places:?}"
        );
        in_both += usize::from(places[0].len() == 2);
    }
    assert!(in_both > 0, "some traces began under the list of two backends");
    // The event inside each root is a log record of every backend current when it happened (a Chrome instant
    // in the local file, an OTLP log record): none lost, none twice.
    assert_eq!((logs.dropped, logs.made), (0, logs.exported), "{logs:?}");
    let copies: usize = logged.values().map(BTreeSet::len).sum();
    assert_eq!(copies as u64, logs.exported, "log records exported vs arrived");
    assert_eq!(
        logged.len(),
        by_trace.len(),
        "every root's event arrived somewhere"
    );
}

//! livetel as one layer of the user's own stack, beside a `fmt` layer with its own filter (the README's
//! snippet): 4 threads through flips local → none → local → otlp → disabled, repeated.
//!
//! Proves, by count: the fmt layer saw every event of every trace with its full span prefix in every phase (livetel
//! never silenced it); livetel recorded exactly the spans of the phases where it records, each span once, each
//! trace whole in one place (a file or the receiver) or, across a flip into recording, from the flip on; and its
//! counters balance (started = exported, 0 dropped).

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::receiver::Receiver;
use common::{Fixture, spans, trace_files};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

const THREADS: u64 = 4;
const CYCLES: u64 = 4;

/// The fmt layer's output, shared with the test.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// What each phase records: "local", "otlp" or "" (nothing).
fn phases(endpoint: &str) -> [(&'static str, String); 5] {
    let batch = "[telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_queue_size = 65536";
    [
        ("local", "watch = false\nbackend = \"local\"".to_owned()),
        ("", "watch = false\nbackend = \"none\"".to_owned()),
        (
            "local",
            "watch = false\nbackend = \"local\"\nsample_rate = 1.0\n".to_owned(),
        ),
        (
            "otlp",
            format!(
                "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{endpoint}\"\n{batch}"
            ),
        ),
        (
            "",
            "watch = false\nenabled = false\nbackend = \"local\"".to_owned(),
        ),
    ]
}

/// Epoch `2k`: reload k applied (phase k % 5); `2k + 1`: reload k + 1 under way.
fn phase_of(epoch: u64) -> usize {
    (epoch / 2 % 5) as usize
}

struct Made {
    seq: u64,
    before: u64,
    after: u64,
    /// Spans of this trace livetel took (it has state for them).
    recorded: u64,
}

fn recorded_now() -> u64 {
    u64::from(livetel::propagation::trace_id(&tracing::Span::current()).is_some())
}

fn worker(t: u64, dispatch: tracing::Dispatch, epoch: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> Vec<Made> {
    tracing::dispatcher::with_default(&dispatch, || {
        let mut made = Vec::new();
        let mut n = 0u64;
        while !stop.load(SeqCst) {
            let seq = (t << 32) | n;
            n += 1;
            let before = epoch.load(SeqCst);
            let mut recorded = 0;
            tracing::info_span!("own.root", seq).in_scope(|| {
                recorded += recorded_now();
                tracing::info_span!("own.child", seq).in_scope(|| {
                    recorded += recorded_now();
                    tracing::info!(seq, "step done");
                });
            });
            made.push(Made {
                seq,
                before,
                after: epoch.load(SeqCst),
                recorded,
            });
            std::thread::sleep(Duration::from_micros(200));
        }
        made
    })
}

#[test]
fn fmt_layer_sees_everything_and_livetel_records_its_phases_whole() {
    let rx = Receiver::start();
    let configs = phases(&rx.grpc_endpoint());
    let f = Fixture::new(&configs[0].1);
    let (layer, tel) = f.builder().build_layer().expect("livetel starts");
    let out = Buffer::default();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(out.clone())
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_filter(LevelFilter::INFO);
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(fmt).with(layer));
    common::wait_status(&tel, "no warning once registered", |s| s.warnings.is_empty());
    let epoch = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (d, e, s) = (dispatch.clone(), Arc::clone(&epoch), Arc::clone(&stop));
            std::thread::spawn(move || worker(t, d, e, s))
        })
        .collect();
    let trigger = tel.reload_trigger();
    for k in 1..=CYCLES * 5 {
        std::thread::sleep(Duration::from_millis(40));
        f.write(&configs[phase_of(2 * k)].1);
        epoch.store(2 * k - 1, SeqCst);
        let outcome = trigger.reload_blocking();
        assert!(outcome.is_applied(), "flip {k}: {outcome:?}");
        epoch.store(2 * k, SeqCst);
    }
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, SeqCst);
    let made: Vec<Made> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    let counters = tel.shutdown();

    check_fmt_output(&out, &made);
    let arrived = arrived(&f, &rx);
    check_livetel_output(&configs, &made, &arrived);
    let total: u64 = made.iter().map(|m| m.recorded).sum();
    assert_eq!(
        arrived.len() as u64,
        total,
        "spans livetel took vs spans that arrived"
    );
    assert_eq!(
        (counters.started, counters.exported, counters.dropped),
        (total, total, 0),
        "{counters:?}"
    );
    println!(
        "own stack: {} traces made by {THREADS} threads over {} flips; fmt saw every event with its span prefix; \
         livetel recorded {total} spans, 0 lost, 0 torn",
        made.len(),
        CYCLES * 5
    );
}

/// Every trace's event is in the fmt output exactly once, with its whole span prefix.
fn check_fmt_output(out: &Buffer, made: &[Made]) {
    let text = String::from_utf8(out.0.lock().expect("buffer").clone()).expect("utf-8");
    let lines: HashSet<&str> = text.lines().collect();
    assert_eq!(lines.len(), made.len(), "one fmt line per trace, none repeated");
    for m in made {
        let s = m.seq;
        let want = format!("own.root{{seq={s}}}:own.child{{seq={s}}}: step done seq={s}");
        assert!(lines.contains(want.as_str()), "fmt missed or changed: {want}");
    }
}

/// (seq, span name) → where it arrived; panics on a span that arrived twice.
fn arrived(f: &Fixture, rx: &Receiver) -> HashMap<(u64, String), String> {
    let mut seen = HashMap::new();
    let mut put = |seq: u64, name: &str, place: String| {
        let prev = seen.insert((seq, name.to_owned()), place.clone());
        assert!(
            prev.is_none(),
            "span {name} of trace {seq} arrived twice: {prev:?}, {place}"
        );
    };
    for (path, events) in trace_files(&f.traces) {
        common::assert_well_formed(&path, &events);
        for s in spans(&events) {
            put(
                s["args"]["seq"].as_u64().expect("seq"),
                s["name"].as_str().unwrap_or(""),
                path.display().to_string(),
            );
        }
    }
    for s in rx.spans() {
        let seq = s["attributes"]["seq"].as_u64().expect("seq");
        put(seq, s["name"].as_str().unwrap_or(""), "receiver".to_owned());
    }
    seen
}

/// Settled traces are whole where their phase records, absent where it does not; a trace that straddles a flip
/// is whole in one place, absent, or (flipping into recording) its child alone.
fn check_livetel_output(
    configs: &[(&'static str, String); 5],
    made: &[Made],
    arrived: &HashMap<(u64, String), String>,
) {
    let mut places: HashMap<u64, Vec<(&str, &str)>> = HashMap::new();
    for ((seq, name), place) in arrived {
        places
            .entry(*seq)
            .or_default()
            .push((name.as_str(), place.as_str()));
    }
    for m in made {
        let got = places.get(&m.seq).cloned().unwrap_or_default();
        let where_: HashSet<&str> = got.iter().map(|(_, p)| *p).collect();
        assert!(where_.len() <= 1, "trace {} torn across {where_:?}", m.seq);
        assert_eq!(
            got.len() as u64,
            m.recorded,
            "trace {}: recorded vs arrived",
            m.seq
        );
        if m.before == m.after && m.before % 2 == 0 {
            let backend = configs[phase_of(m.before)].0;
            let want = if backend.is_empty() { 0 } else { 2 };
            assert_eq!(got.len(), want, "trace {} in settled phase {backend:?}", m.seq);
            let in_receiver = where_.contains("receiver");
            assert!(
                want == 0 || in_receiver == (backend == "otlp"),
                "trace {} in the wrong place",
                m.seq
            );
        } else if got.len() == 1 {
            assert_eq!(got[0].0, "own.child", "trace {}: a root without its child", m.seq);
        }
    }
}

/// Before the layer is added to a subscriber, status says nothing is recorded; once added, the warning goes.
#[test]
fn status_says_when_the_layer_is_not_in_a_subscriber() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let (layer, tel) = f.builder().build_layer().expect("livetel starts");
    let warned = tel.status().borrow().warnings.clone();
    assert!(
        warned.iter().any(|w| w.contains("not in any subscriber")),
        "{warned:?}"
    );
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    common::wait_status(&tel, "the warning cleared", |s| s.warnings.is_empty());
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!(target: "tower_http::trace::on_request", "http.request").in_scope(|| {});
    });
    let counters = tel.shutdown();
    assert_eq!((counters.started, counters.exported), (1, 1), "{counters:?}");
    assert_eq!(common::span_names(&f.traces).get("http.request"), Some(&1));
}

//! Issue 13's figures: what an event costs (P1_event_*), and what a list of two backends costs against each
//! alone (P1_multi).

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor, SdkLoggerProvider};

use tracing::Dispatch;
use tracing::dispatcher::with_default;
use tracing_subscriber::layer::SubscriberExt;

use crate::exporting::{Exporting, Offer, round};
use crate::figures::{Scale, per_span};
use crate::measure::{Delivery, Figure, ab, cpu_ns, ns_per};
use crate::sink::Sink;
use crate::stacks::{Livetel, base, chrome_baseline, otlp_body};

/// The event workload: `n` INFO events outside any span, two fields each (as P1's spans have).
#[inline(never)]
pub fn events(n: u64) {
    for i in 0..n {
        tracing::info!(i, kind = "bench", "p1 event");
    }
}

/// CPU ns per event of `n` events through `d`.
pub fn per_event(d: &Dispatch, n: u64) -> f64 {
    with_default(d, || ns_per(n, || events(n)))
}

/// Points this process's stderr at /dev/null while alive (both console stacks write there: a terminal would
/// measure the terminal), and back when dropped.
struct QuietStderr {
    saved: i32,
}

impl QuietStderr {
    fn new() -> Option<QuietStderr> {
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null").ok()?;
        // SAFETY: plain descriptor calls on descriptors this process owns; the saved copy is restored on drop.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 || unsafe { libc::dup2(null.as_raw_fd(), 2) } < 0 {
            return None;
        }
        Some(QuietStderr { saved })
    }
}

impl Drop for QuietStderr {
    fn drop(&mut self) {
        // SAFETY: restores the descriptor saved in `new`.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
    }
}

/// P1_event_console: livetel's console (compact, to stderr) vs Registry + EnvFilter("info") +
/// tracing-subscriber's fmt layer (compact, to stderr); both write to /dev/null.
pub fn console(s: &Scale) -> Figure {
    let l = Livetel::start(
        "backend = \"none\"\n[telemetry.console]\nenabled = true\nansi = false\nformat = \"compact\"\nfilter = \"info\"",
        false,
    );
    let fmt = tracing_subscriber::fmt::layer()
        .compact()
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let theirs = Dispatch::new(base().with(fmt));
    let n = s.trees;
    let quiet = QuietStderr::new();
    let m = ab(s.rounds, || per_event(l.dispatch(), n), || per_event(&theirs, n));
    drop(quiet);
    Figure::paired(
        "P1_event_console",
        m,
        "cpu ns/event",
        "<= 1.05",
        "vs Registry + EnvFilter + fmt::layer().compact(), both to stderr (/dev/null)".into(),
    )
}

/// P1_multi: livetel with `backend = ["local", "otlp"]` vs the sum of the same workload through `local` alone
/// and `otlp` alone, each round side by side; OTLP offered at the rate it is delivered (as P1_otlp).
pub fn multi(s: &Scale, sink: &Sink) -> Figure {
    let body = otlp_body(&sink.endpoint, 2048, 512).replacen(
        "backend = \"otlp\"",
        "backend = [\"local\", \"otlp\"]",
        1,
    );
    let both = Livetel::start(&body, false);
    let local = Livetel::start("backend = \"local\"", false);
    let otlp = Livetel::start(&otlp_body(&sink.endpoint, 2048, 512), false);
    let (both_x, otlp_x) = (Exporting::livetel(&both), Exporting::livetel(&otlp));
    let m = ab(
        s.rounds,
        || round(sink, &both_x, s.trees, Offer::Delivered).0,
        || {
            let alone = per_span(local.dispatch(), s.trees);
            local.settle();
            alone + round(sink, &otlp_x, s.trees, Offer::Delivered).0
        },
    );
    let c = both.tel.counters();
    Figure::paired(
        "P1_multi",
        m,
        "cpu ns/span",
        "<= 1.0",
        format!(
            "[\"local\",\"otlp\"] vs local alone + otlp alone; the list made {} span copies, exported {}, dropped {}",
            c.started, c.exported, c.dropped
        ),
    )
}

/// P1_event_local: events outside spans through livetel's `local` backend (Chrome instants) vs Registry +
/// EnvFilter("info") + tracing-chrome (which writes events as instants too); each stack's file is counted.
pub fn local(s: &Scale) -> Figure {
    let l = Livetel::start("backend = \"local\"", false);
    let file = l.dir.path().join("baseline.json");
    let (chrome, guard) = chrome_baseline(&file);
    let n = s.trees;
    let m = ab(
        s.rounds,
        || {
            let x = per_event(l.dispatch(), n);
            settle_logs(&l);
            x
        },
        || {
            let x = per_event(&chrome, n);
            std::thread::sleep(Duration::from_millis(30));
            x
        },
    );
    drop(guard);
    let made = n * s.rounds as u64;
    let theirs = Delivery::of(made, lines_with(&file, "\"ph\":\"i\""));
    let c = l.tel.refresh_status().logs;
    Figure::paired(
        "P1_event_local",
        m,
        "cpu ns/event",
        "<= 1.05",
        "vs Registry + EnvFilter + tracing-chrome (events as instants)".into(),
    )
    .with_delivery(Delivery::of(c.made, c.exported), theirs)
}

/// P1_event_otlp: events outside spans through livetel's `otlp` backend (OTLP log records) vs Registry +
/// EnvFilter("info") + opentelemetry-appender-tracing's bridge over an SDK logger provider with the batch log
/// processor and the same gRPC log exporter; same sink, same batch settings (2048, 512, 20 ms); both offered at
/// the rate they deliver (as P1_otlp), so both do the same work.
pub fn otlp(s: &Scale, sink: &Sink, rt: &tokio::runtime::Runtime) -> Figure {
    let l = Livetel::start(&otlp_body(&sink.endpoint, 2048, 512), false);
    let provider = log_provider(&sink.endpoint, rt);
    let bridge = opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider);
    let theirs = Dispatch::new(base().with(bridge));
    let (mine, base_d) = (Cell::new(Delivery::default()), Cell::new(Delivery::default()));
    let n = s.trees;
    let m = ab(
        s.rounds,
        || {
            let (x, d) = paced_events(sink, l.dispatch(), n);
            mine.set(mine.get() + d);
            x
        },
        || {
            let (x, d) = paced_events(sink, &theirs, n);
            let _ = provider.force_flush();
            base_d.set(base_d.get() + d);
            x
        },
    );
    let _ = provider.shutdown();
    Figure::paired(
        "P1_event_otlp",
        m,
        "cpu ns/event",
        "<= 1.05",
        "vs opentelemetry-appender-tracing 0.33 + BatchLogProcessor, same exporter; offered at the rate each delivers".into(),
    )
    .with_delivery(mine.get(), base_d.get())
}

/// Events in bursts of 384, each after (unmeasured) waiting until at most 1,024 are made but not yet received;
/// returns CPU ns per event and what the sink received of them.
fn paced_events(sink: &Sink, d: &Dispatch, n: u64) -> (f64, Delivery) {
    const BURST: u64 = 384;
    const AHEAD: u64 = 1024;
    let before = sink.logs_received();
    let wait = |made: u64, ahead: u64| {
        let t = Instant::now();
        while made.saturating_sub(sink.logs_received() - before) > ahead && t.elapsed() < PATIENCE {
            std::thread::sleep(Duration::from_micros(50));
        }
    };
    let (mut made, mut ns) = (0, 0);
    with_default(d, || {
        while made < n {
            wait(made, AHEAD);
            let k = BURST.min(n - made);
            ns += cpu_ns(|| events(k));
            made += k;
        }
    });
    wait(made, 0);
    (
        ns as f64 / n as f64,
        Delivery::of(n, sink.logs_received() - before),
    )
}

/// How long a paced producer waits for the sink before going on (what never arrives counts as dropped).
const PATIENCE: Duration = Duration::from_secs(2);

/// Waits until livetel's log records are all written or dropped.
fn settle_logs(l: &Livetel) {
    let t = Instant::now();
    while l.tel.refresh_status().logs.in_flight() > 0 && t.elapsed() < PATIENCE {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Lines of `file` containing `needle`, 0 if it cannot be read.
fn lines_with(file: &std::path::Path, needle: &str) -> u64 {
    std::fs::read_to_string(file).map_or(0, |t| t.lines().filter(|l| l.contains(needle)).count() as u64)
}

/// An SDK logger provider with the batch log processor (2048, 512, 20 ms) over the gRPC log exporter livetel
/// uses, sending to `endpoint`, built inside `rt` as tonic requires.
fn log_provider(endpoint: &str, rt: &tokio::runtime::Runtime) -> SdkLoggerProvider {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = {
        let _enter = rt.enter();
        opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .expect("baseline log exporter")
    };
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(2048)
        .with_max_export_batch_size(512)
        .with_scheduled_delay(Duration::from_millis(20))
        .build();
    let processor = BatchLogProcessor::builder(exporter)
        .with_batch_config(config)
        .build();
    SdkLoggerProvider::builder().with_log_processor(processor).build()
}

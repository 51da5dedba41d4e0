//! The in-process figures: per-span cost (P1, P2), flips (P5), export throughput (P7), memory over reloads (P9).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::dispatcher::with_default;
use tracing::Dispatch;

use crate::measure::{ab, ns_per, Figure};
use crate::sink::Sink;
use crate::stacks::{chrome_baseline, otel_baseline, Livetel};

/// The P1 workload: a 3-level tree, each span with 2 fields, entered, exited and closed.
#[inline(never)]
pub fn trees(n: u64) {
    for i in 0..n {
        let root = tracing::info_span!("p1.root", i, kind = "bench");
        let _r = root.enter();
        let mid = tracing::info_span!("p1.mid", i, kind = "bench");
        let _m = mid.enter();
        let leaf = tracing::info_span!("p1.leaf", i, kind = "bench");
        let _l = leaf.enter();
    }
}

fn per_span(d: &Dispatch, n: u64) -> f64 {
    with_default(d, || ns_per(3 * n, || trees(n)))
}

/// One measured round, then `after` (let background writers catch up before the other stack's round).
fn round(d: &Dispatch, n: u64, after: impl Fn()) -> f64 {
    let x = per_span(d, n);
    after();
    x
}

pub struct Scale {
    pub rounds: usize,
    pub trees: u64,
}

/// P1_none and P2_disabled: run first, while livetel is the only registered dispatcher, so tracing's global
/// max level reflects it (as in an app with one subscriber).
pub fn none_and_disabled(s: &Scale) -> Vec<Figure> {
    let none = Dispatch::none();
    let mut out = Vec::new();
    for (name, body, goal) in [
        ("P1_none", "backend = \"none\"", "<= 1.05"),
        ("P2_disabled", "enabled = false", "<= 1.2"),
    ] {
        let l = Livetel::start(body, false);
        let n = s.trees * 200;
        let m = ab(
            s.rounds.max(21),
            || per_span(l.dispatch(), n),
            || per_span(&none, n),
        );
        out.push(Figure::paired(
            name,
            m,
            "cpu ns/span",
            goal,
            "vs no subscriber".into(),
        ));
    }
    out
}

/// P1_local: livetel's local backend vs Registry + EnvFilter + tracing-chrome.
pub fn local(s: &Scale) -> Figure {
    let l = Livetel::start("backend = \"local\"", false);
    let (chrome, guard) = chrome_baseline(l.dir.path());
    let pause = || std::thread::sleep(Duration::from_millis(30));
    let m = ab(
        s.rounds,
        || round(l.dispatch(), s.trees, || l.settle()),
        || round(&chrome, s.trees, pause),
    );
    drop(guard);
    let c = l.tel.counters();
    let note = format!(
        "vs tracing-chrome; livetel wrote {} spans, dropped {}",
        c.exported, c.dropped
    );
    Figure::paired("P1_local", m, "cpu ns/span", "<= 1.05", note)
}

/// P1_otlp: livetel's otlp backend vs tracing-opentelemetry + the SDK batch processor, same exporter, same
/// loopback sink, default batch settings for both.
pub fn otlp(s: &Scale, sink: &Sink, rt: &tokio::runtime::Runtime) -> Figure {
    let l = Livetel::start(
        &format!("backend = \"otlp\"\notlp_endpoint = \"{}\"", sink.endpoint),
        false,
    );
    let (otel, provider) = otel_baseline(&sink.endpoint, rt);
    let pause = || std::thread::sleep(Duration::from_millis(30));
    let m = ab(
        s.rounds,
        || round(l.dispatch(), s.trees, pause),
        || round(&otel, s.trees, pause),
    );
    let _ = provider.shutdown();
    let c = l.tel.counters();
    let note = format!(
        "vs tracing-opentelemetry 0.34 + BatchSpanProcessor; livetel exported {}, dropped {} (queue full)",
        c.exported, c.dropped
    );
    Figure::paired("P1_otlp", m, "cpu ns/span", "<= 1.05", note)
}

/// Produces trees on `threads` threads for `secs`, never outrunning the backend: a producer waits while more
/// than `max_in_flight` spans are queued. Returns spans per second.
fn paced(l: &Livetel, threads: usize, secs: f64, max_in_flight: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (stop, made, d) = (Arc::clone(&stop), Arc::clone(&made), l.dispatch().clone());
            scope.spawn(move || {
                with_default(&d, || {
                    while !stop.load(Relaxed) {
                        while l.tel.counters().in_flight() > max_in_flight {
                            std::thread::sleep(Duration::from_micros(50));
                        }
                        trees(16);
                        made.fetch_add(48, Relaxed);
                    }
                })
            });
        }
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Relaxed);
    });
    made.load(Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// P5_flip: span throughput while the backend is rebuilt every 10 ms (a new file and writer each time) /
/// steady; then checks that nothing was lost.
pub fn flip(s: &Scale, secs: f64) -> Figure {
    let l = Livetel::start("backend = \"local\"", false);
    let trigger = l.tel.reload_trigger();
    let flipping = AtomicBool::new(false);
    let mut flips = 0u64;
    let m = ab(
        s.rounds.min(10),
        || {
            flipping.store(true, Relaxed);
            let rate = std::thread::scope(|scope| {
                let handle = scope.spawn(|| paced(&l, 2, secs, 16_384));
                let mut k = 0u64;
                while !handle.is_finished() {
                    k += 1;
                    l.write(&format!(
                        "backend = \"local\"\nservice_name = \"bench-{}\"",
                        k % 2
                    ));
                    let _ = trigger.reload_blocking();
                    std::thread::sleep(Duration::from_millis(10));
                }
                flips += k;
                handle.join().unwrap_or(0.0)
            });
            l.settle();
            rate
        },
        || {
            let rate = paced(&l, 2, secs, 16_384);
            l.settle();
            rate
        },
    );
    let c = l.tel.counters();
    let lost = c.started - c.exported - c.dropped - c.sampled_out;
    let note = format!(
        "{flips} rebuilds; started {} = exported {} + dropped {} ; lost {lost}",
        c.started, c.exported, c.dropped
    );
    Figure::paired("P5_flip", m, "spans/s", ">= 0.9, 0 lost", note)
}

/// P7_otlp_export: spans per second delivered to the loopback sink with nothing dropped, livetel vs the static
/// stack (tracing-opentelemetry + BatchSpanProcessor, same queue and batch sizes), in interleaved rounds. Both
/// producers are paced by what the sink has received, so neither outruns its exporter.
pub fn export_throughput(sink: &Sink, rt: &tokio::runtime::Runtime, rounds: usize, secs: f64) -> Figure {
    let body = format!(
        "backend = \"otlp\"\notlp_endpoint = \"{}\"\n[telemetry.otlp.batch]\nmax_queue_size = 65536\n\
         max_export_batch_size = 4096\nscheduled_delay_ms = 20",
        sink.endpoint
    );
    let l = Livetel::start(&body, false);
    let (otel, provider) = crate::stacks::otel_baseline_sized(&sink.endpoint, rt, 65_536, 4096);
    let theirs = std::cell::Cell::new((0u64, 0u64));
    let m = ab(
        rounds,
        || {
            let (rate, _, _) = delivered(sink, l.dispatch(), secs);
            l.settle();
            rate
        },
        || {
            let (rate, got, made) = delivered(sink, &otel, secs);
            let (g, m) = theirs.get();
            theirs.set((g + got, m + made));
            rate
        },
    );
    let _ = provider.force_flush();
    let c = l.tel.counters();
    let (got, made) = theirs.get();
    let note = format!(
        "{rounds} rounds; livetel exported {} dropped {}; baseline delivered {got} of {made} made",
        c.exported, c.dropped
    );
    let _ = provider.shutdown();
    Figure::paired("P7_otlp_export", m, "spans/s", ">= 250000, 0 dropped", note)
}

/// Produces trees for `secs`, never more than 32k spans ahead of the sink; returns (spans/s received, received,
/// made), counting until the sink has caught up (or a second passes).
fn delivered(sink: &Sink, d: &Dispatch, secs: f64) -> (f64, u64, u64) {
    let start_count = sink.received();
    let t = Instant::now();
    let mut made = 0u64;
    with_default(d, || {
        while t.elapsed().as_secs_f64() < secs {
            while made.saturating_sub(sink.received() - start_count) > 32_768 {
                std::thread::sleep(Duration::from_micros(50));
            }
            trees(16);
            made += 48;
        }
    });
    let wait = Instant::now();
    while sink.received() - start_count < made && wait.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let got = sink.received() - start_count;
    (got as f64 / t.elapsed().as_secs_f64(), got, made)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// P9_rss_reloads: RSS growth over `n` applied reloads (sample rate and filter alternate; spans in between).
pub fn rss_over_reloads(n: u64) -> Figure {
    let l = Livetel::start("backend = \"local\"", false);
    let trigger = l.tel.reload_trigger();
    let reload = |k: u64| {
        let filter = if k % 2 == 0 { "info" } else { "info,bench=debug" };
        l.write(&format!(
            "backend = \"local\"\nsample_rate = {}\nfilter = \"{filter}\"",
            0.5 + (k % 2) as f64 * 0.25
        ));
        let _ = trigger.reload_blocking();
        with_default(l.dispatch(), || trees(2));
    };
    for k in 0..500 {
        reload(k);
    }
    l.settle();
    let before = rss_kib();
    let mut marks = Vec::new();
    for k in 0..n {
        reload(k);
        if (k + 1) % (n / 4).max(1) == 0 {
            marks.push(format!("{:.1}", rss_kib().saturating_sub(before) as f64 / 1024.0));
        }
    }
    l.settle();
    std::thread::sleep(Duration::from_millis(100));
    let grown = rss_kib().saturating_sub(before) as f64 / 1024.0;
    let g = l.tel.status().borrow().generation;
    Figure {
        name: "P9_rss_reloads",
        livetel: grown,
        baseline: None,
        unit: "MiB",
        goal: "< 2",
        note: format!(
            "{n} reloads after 500 warm-up (generation {g}); MiB at each quarter: {}",
            marks.join(" ")
        ),
        paired: None,
    }
}

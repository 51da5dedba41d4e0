//! The in-process figures: per-span cost (P1, P2), flips (P5), memory over reloads (P9).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tracing::Dispatch;
use tracing::dispatcher::with_default;

use crate::measure::{Ab, Delivery, Figure, ab, ns_per};
use crate::stacks::{Livetel, chrome_baseline, chrome_filtered_baseline};

/// The P1 workload: `n` 3-level trees, each span with 2 fields, entered, exited and closed.
pub fn trees(n: u64) {
    trees_from(0, n)
}

/// [`trees`] with the field `i` running from `first` (distinct values tell the trees of several threads apart).
#[inline(never)]
pub fn trees_from(first: u64, n: u64) {
    for i in first..first + n {
        let root = tracing::info_span!("p1.root", i, kind = "bench");
        let _r = root.enter();
        let mid = tracing::info_span!("p1.mid", i, kind = "bench");
        let _m = mid.enter();
        let leaf = tracing::info_span!("p1.leaf", i, kind = "bench");
        let _l = leaf.enter();
    }
}

/// CPU ns per span of `n` trees through `d`.
pub fn per_span(d: &Dispatch, n: u64) -> f64 {
    with_default(d, || ns_per(3 * n, || trees(n)))
}

/// Two livetel configs side by side: P1's trees through each, interleaved, each round followed by a settle.
pub fn livetel_pair(s: &Scale, a: &Livetel, b: &Livetel) -> Ab {
    ab(
        s.rounds,
        || round(a.dispatch(), s.trees, || a.settle()),
        || round(b.dispatch(), s.trees, || b.settle()),
    )
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
    local_against("P1_local", "tracing-chrome", s, l, chrome_baseline)
}

/// P1_layer_local: livetel as a layer of a user's stack (its per-layer filter deciding) vs Registry +
/// tracing-chrome behind its own per-layer EnvFilter.
pub fn layer_local(s: &Scale) -> Figure {
    let l = Livetel::start_layer("backend = \"local\"");
    let what = "Registry + tracing-chrome.with_filter(EnvFilter)";
    local_against("P1_layer_local", what, s, l, chrome_filtered_baseline)
}

/// livetel's local backend vs a Chrome-writing stack made by `build` (writing the file it is given), P1's
/// workload in interleaved rounds, with what each wrote: livetel's counters, the spans in the baseline's file.
pub fn local_against(
    name: &'static str,
    what: &str,
    s: &Scale,
    l: Livetel,
    build: impl FnOnce(&Path) -> (Dispatch, tracing_chrome::FlushGuard),
) -> Figure {
    let file = l.dir.path().join("baseline.json");
    let (chrome, guard) = build(&file);
    let pause = || std::thread::sleep(Duration::from_millis(30));
    let m = ab(
        s.rounds,
        || round(l.dispatch(), s.trees, || l.settle()),
        || round(&chrome, s.trees, pause),
    );
    drop(guard);
    let c = l.tel.counters();
    let theirs = Delivery::of(3 * s.trees * s.rounds as u64, chrome_spans_written(&file));
    Figure::paired(name, m, "cpu ns/span", "<= 1.05", format!("vs {what}"))
        .with_delivery(Delivery::of(c.started, c.exported), theirs)
}

/// Spans in a complete tracing-chrome file (its `E` events, one a line), 0 if it cannot be read.
fn chrome_spans_written(file: &Path) -> u64 {
    let Ok(f) = std::fs::File::open(file) else {
        return 0;
    };
    std::io::BufRead::lines(std::io::BufReader::new(f))
        .map_while(Result::ok)
        .filter(|line| line.contains("\"ph\":\"E\""))
        .count() as u64
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
                    // Only applied reloads count (a rejected one rebuilds nothing).
                    let outcome = trigger.reload_blocking();
                    flips += u64::from(matches!(outcome, livetel::ReloadOutcome::Applied { .. }));
                    std::thread::sleep(Duration::from_millis(10));
                }
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
        let filter = if k.is_multiple_of(2) {
            "info"
        } else {
            "info,bench=debug"
        };
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
    let note = format!(
        "{n} reloads after 500 warm-up (generation {g}); MiB at each quarter: {}",
        marks.join(" ")
    );
    Figure::absolute("P9_rss_reloads", grown, "MiB", "< 2", note)
}

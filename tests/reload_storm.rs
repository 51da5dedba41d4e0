//! Reload storms: a config write every millisecond while 4 threads trace; reloads from inside a span, from an
//! event's field expression, and while retiring exporters still hold exports their collector never answers.
//! Counted properties; waits are liveness bounds (`common::PATIENCE`), never assertions about time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::receiver::{Faults, Receiver};
use common::seed::{self, Rng};
use common::{Fixture, wait_settled, wait_status};
use livetel::ReloadOutcome;

/// A storm of config writes, one per millisecond on a schedule (10,000 under `LIVETEL_SOAK=1`, 2,000 in CI,
/// seeded sample rates), while 4 threads trace. Proved by counts:
/// - no deadlock, and tracing kept going through the storm: after every write, before the next, the tracers
///   made at least one more span (a liveness wait per write, never a rate);
/// - the debounce bounds the reload work: at most one reload per debounce window (100 ms) that fits in the
///   storm's measured length, plus the one that reads the last write. A count bounded by the windows there
///   were: a slow machine makes the storm longer and allows more windows, so it cannot fail for slowness;
/// - the last write wins, generations never go back, and counters balance after shutdown.
#[test]
fn storm_of_writes_one_per_millisecond() {
    let mut rng = Rng::from_env("reload_storm");
    let writes = seed::length(2_000u64, 10_000);
    let debounce_ms = 100u64;
    let f = Fixture::new(&format!(
        "backend = \"local\"\nsample_rate = 1.0\nreload_debounce_ms = {debounce_ms}"
    ));
    let t = f.start();
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let tracers: Vec<_> = (0..4)
        .map(|_| {
            let (d, s, m) = (
                t.dispatch().expect("own subscriber").clone(),
                Arc::clone(&stop),
                Arc::clone(&made),
            );
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&d, || {
                    while !s.load(SeqCst) {
                        tracing::info_span!("storm.root")
                            .in_scope(|| tracing::info_span!("storm.child").in_scope(|| {}));
                        m.fetch_add(2, SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                    }
                })
            })
        })
        .collect();
    let start = Instant::now();
    let made_before = made.load(SeqCst);
    let mut last = 0.0;
    let mut generations = Vec::new();
    let mut next = start;
    for i in 0..writes {
        let seen = made.load(SeqCst);
        last = (1 + rng.below(9999)) as f64 / 10_000.0;
        f.write(&format!(
            "backend = \"local\"\nsample_rate = {last}\nreload_debounce_ms = {debounce_ms}"
        ));
        generations.push(t.status().borrow().generation);
        // Tracing goes on between any two writes.
        let deadline = Instant::now() + common::PATIENCE;
        while made.load(SeqCst) == seen {
            assert!(
                Instant::now() < deadline,
                "write {i}: no span traced since the previous write"
            );
            std::thread::yield_now();
        }
        // Paced to a schedule of one write per millisecond, not "sleep 1 ms" (which drifts below 1000/s).
        next += Duration::from_millis(1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let made_during = made.load(SeqCst) - made_before;
    let s = wait_status(&t, "the last write", |s| s.sample_rate == last);
    let storm_ms = start.elapsed().as_millis() as u64;
    stop.store(true, SeqCst);
    for th in tracers {
        th.join().expect("tracer");
    }
    assert!(
        generations.windows(2).all(|w| w[0] <= w[1]),
        "generations went backwards"
    );
    let reloads = s.reloads.applied + s.reloads.unchanged + s.reloads.rejected;
    let windows = storm_ms / debounce_ms + 1;
    let c = t.shutdown();
    println!(
        "reload storm: {writes} writes over {storm_ms} ms, {reloads} reloads ran ({} applied, {} unchanged, {} \
         rejected: a write is truncate-then-write, so a reload can read one half done, which applies \
         as valid TOML with defaults for the rest or is unchanged from an earlier half; at most {windows} debounce windows fit), last write won (sample_rate {last}), {made_during} spans traced meanwhile, \
         counters {c:?}",
        s.reloads.applied, s.reloads.unchanged, s.reloads.rejected
    );
    assert!(
        reloads <= windows,
        "debounce did not bound the reload path: {reloads} reloads in {windows} windows"
    );
    assert!(made_during >= writes, "a span between every two writes");
    assert_eq!(
        c.started,
        c.exported + c.dropped + c.sampled_out,
        "counters balance: {c:?}"
    );
}

#[test]
fn reload_from_inside_a_span_and_an_event() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let trigger = t.reload_trigger();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("outer").in_scope(|| {
            f.write("watch = false\nbackend = \"local\"\nsample_rate = 0.5");
            assert!(trigger.reload_blocking().is_applied());
            f.write("watch = false\nbackend = \"none\"");
            tracing::info!(
                reloaded = trigger.reload_blocking().is_applied(),
                "reload from a field expression"
            );
            tracing::info_span!("child_after").in_scope(|| {});
        });
    });
    assert_eq!(t.status().borrow().generation, 3);
}

/// Reloads while exporters are still retiring: 20 reloads flip local ↔ OTLP, and each OTLP generation is
/// replaced while its collector holds an export unanswered (the collector stalls; the attempt's own time limit
/// is 600 s). Proved by counts, for each of the 10 OTLP generations:
/// - the reload that replaced it applied, and once it has left status (retired: its sink closed and dropped on
///   the control thread) its spans are still in flight, neither exported nor dropped: neither the reload nor
///   the retirement waited for its export to end (the witness holds as long as a reload and a retirement take
///   less than the closing exporter's 5 s limit; they take milliseconds);
/// - once the collector answers, the retired exporter still exports them: nothing is lost to retirement.
///
/// After shutdown every span was exported: `started = exported`, 0 dropped.
#[test]
fn reload_while_an_exporter_is_still_retiring() {
    const SPANS: u64 = 100;
    let mut rx = Receiver::start_with(
        Faults {
            stall: true,
            ..Faults::default()
        },
        None,
    );
    let local = "watch = false\nbackend = \"local\"".to_owned();
    let endpoint = rx.grpc_endpoint();
    let otlp = |timeout: u64| {
        format!(
            "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{endpoint}\"\ntimeout_ms = {timeout}\n\
             [telemetry.otlp.batch]\nscheduled_delay_ms = 10\nmax_export_batch_size = {SPANS}"
        )
    };
    let f = Fixture::new(&local);
    let t = f.start();
    let trigger = t.reload_trigger();
    let mut otlp_spans = 0;
    let mut retired = 0;
    for k in 1..=20u64 {
        let to_otlp = k % 2 == 1;
        let replaced = t.status().borrow().generation;
        // Each OTLP generation has its own time limit, so each is a new exporter.
        f.write(&if to_otlp { otlp(600_000 - k) } else { local.clone() });
        let outcome = trigger.reload_blocking();
        assert!(
            matches!(outcome, ReloadOutcome::Applied { .. }),
            "reload {k}: {outcome:?}"
        );
        if to_otlp {
            // One full batch: the exporter sends it at once, and the collector holds it.
            let before = rx.requests();
            tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
                for i in 0..SPANS {
                    tracing::info_span!("queued", k, i).in_scope(|| {});
                }
            });
            otlp_spans += SPANS;
            rx.wait_requests(before.received + 1);
            continue;
        }
        wait_status(&t, "the OTLP generation retired", |s| {
            s.sinks.iter().all(|sink| sink.generation != replaced)
        });
        let c = t.counters();
        assert_eq!(
            c.in_flight(),
            SPANS,
            "reload {k}: the retired exporter's export ended before its collector answered: {c:?}"
        );
        let r = rx.requests();
        assert!(
            r.received > r.answered,
            "reload {k}: the collector holds nothing: {r:?}"
        );
        retired += 1;
        // The collector answers: the retired exporter exports what it held.
        rx.release();
        let settled = wait_settled(&t);
        assert_eq!(settled.exported, otlp_spans, "reload {k}: {settled:?}");
        rx.stall();
    }
    let c = t.shutdown();
    println!(
        "20 reloads while {retired} exporters retired, each holding an export its collector had not answered; {c:?}"
    );
    assert_eq!(retired, 10);
    assert_eq!(
        (c.started, c.exported, c.dropped),
        (otlp_spans, otlp_spans, 0),
        "{c:?}"
    );
    assert_eq!(c.started, c.exported + c.dropped + c.sampled_out, "{c:?}");
}

//! Reload storms: 1000 config writes per second for 10 s while 4 threads trace; reloads from inside a span,
//! from an event's field expression, and while a retiring exporter is still giving up on a dead collector.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::seed::Rng;
use common::{wait_status, Fixture};
use livetel::ReloadOutcome;

#[test]
fn thousand_writes_per_second_for_ten_seconds() {
    let mut rng = Rng::from_env("reload_storm");
    let f = Fixture::new("backend = \"local\"\nsample_rate = 1.0");
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
    let mut writes = 0u64;
    let mut last = 0.0;
    let mut generations = Vec::new();
    let mut next = start;
    while start.elapsed() < Duration::from_secs(10) {
        last = (1 + rng.below(9999)) as f64 / 10_000.0;
        f.write(&format!("backend = \"local\"\nsample_rate = {last}"));
        writes += 1;
        generations.push(t.status().borrow().generation);
        // Paced to a schedule of one write per millisecond, not "sleep 1 ms" (which drifts below 1000/s).
        next += Duration::from_millis(1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let made_during = made.load(SeqCst);
    let s = wait_status(&t, "the last write", |s| s.sample_rate == last);
    stop.store(true, SeqCst);
    for th in tracers {
        th.join().expect("tracer");
    }
    assert!(
        generations.windows(2).all(|w| w[0] <= w[1]),
        "generations went backwards"
    );
    let reloads = s.reloads.applied + s.reloads.unchanged + s.reloads.rejected;
    let c = t.shutdown();
    println!(
        "reload storm: {writes} writes in 10 s, {reloads} reloads ran ({} applied, debounce 100 ms), last write won \
         (sample_rate {last}), {made_during} spans traced meanwhile, counters {c:?}",
        s.reloads.applied
    );
    assert!(
        reloads <= 10_000 / 100 + 20,
        "debounce did not bound the reload path: {reloads} reloads"
    );
    assert!(made_during > 10_000, "tracing kept going during the storm");
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

#[test]
fn reload_while_an_exporter_is_still_retiring() {
    // A closed port: the exporter retries until its retire deadline while we keep reloading.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let otlp = format!("watch = false\nbackend = \"otlp\"\notlp_endpoint = \"http://127.0.0.1:{port}\"\notlp_timeout_ms = 200");
    let f = Fixture::new(&otlp);
    let t = f.start();
    let trigger = t.reload_trigger();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        for _ in 0..500 {
            tracing::info_span!("queued").in_scope(|| {});
        }
    });
    let started = Instant::now();
    for k in 0..20 {
        let body = if k % 2 == 0 {
            "watch = false\nbackend = \"local\"".to_owned()
        } else {
            otlp.replace("200", &format!("{}", 200 + k))
        };
        f.write(&body);
        assert!(matches!(trigger.reload_blocking(), ReloadOutcome::Applied { .. }));
    }
    let took = started.elapsed();
    println!("20 reloads while exporters to a dead collector retired: {took:?}");
    assert!(
        took < Duration::from_secs(15),
        "reloads waited on retiring exporters: {took:?}"
    );
    let c = t.shutdown();
    assert_eq!(c.started, c.exported + c.dropped + c.sampled_out, "{c:?}");
}

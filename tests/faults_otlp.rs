//! Collector faults on loopback: down at start, slow, answering errors, flapping for a minute. The app's work
//! rate does not drop (compared with a no-fault run in the same test), memory stays bounded, drops are
//! counted, export resumes, and the counters balance.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::receiver::{Faults, Receiver};
use common::seed::Rng;
use common::Fixture;

fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

fn config(endpoint: &str) -> String {
    format!(
        "watch = false\nbackend = \"otlp\"\notlp_endpoint = \"{endpoint}\"\notlp_timeout_ms = 500\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 20\nmax_queue_size = 4096\nmax_export_batch_size = 256"
    )
}

/// A paced app thread: a small trace and ~50 µs of work per iteration. Returns iterations per second over `secs`.
fn app_rate(t: &livetel::Telemetry, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let n = Arc::new(AtomicU64::new(0));
    let h = {
        let (d, s, n) = (
            t.dispatch().expect("own subscriber").clone(),
            Arc::clone(&stop),
            Arc::clone(&n),
        );
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&d, || {
                while !s.load(SeqCst) {
                    tracing::info_span!("app.op", i = n.load(SeqCst)).in_scope(|| {
                        let t0 = Instant::now();
                        while t0.elapsed() < Duration::from_micros(50) {
                            std::hint::spin_loop();
                        }
                    });
                    n.fetch_add(1, SeqCst);
                }
            })
        })
    };
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, SeqCst);
    h.join().expect("app thread");
    n.load(SeqCst) as f64 / secs
}

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

#[test]
fn down_at_start_then_up() {
    let (g, h) = free_ports();
    let f = Fixture::new(&config(&format!("http://127.0.0.1:{g}")));
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("while.down").in_scope(|| {})
    });
    std::thread::sleep(Duration::from_millis(300));
    let rx = Receiver::start_with(Faults::default(), Some((g, h)));
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("after.up").in_scope(|| {})
    });
    // Both arrive: the span made while the collector was down is delivered by a retry once it is up.
    let spans = rx.wait_spans(2);
    let names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(
        names.contains(&"after.up") && names.contains(&"while.down"),
        "{names:?}"
    );
    let c = t.shutdown();
    println!("collector down at start: {names:?} delivered once it came up; {c:?}");
    assert_eq!(c.started, c.exported + c.dropped, "{c:?}");
}

#[test]
fn slow_collector_does_not_slow_the_app() {
    let rx = Receiver::start_with(
        Faults {
            delay_ms: 400,
            fail_every: 0,
        },
        None,
    );
    let healthy = Receiver::start();
    let f = Fixture::new(&config(&healthy.grpc_endpoint()));
    let t = f.start();
    let base = app_rate(&t, 2.0);
    f.write(&config(&rx.grpc_endpoint()));
    assert!(t.reload_trigger().reload_blocking().is_applied());
    let slow = app_rate(&t, 2.0);
    let c = t.shutdown();
    println!("slow collector (400 ms per request): app rate {slow:.0}/s vs {base:.0}/s healthy, ratio {:.3}; {c:?}", slow / base);
    assert!(
        slow / base > 0.8,
        "a slow collector slowed the app: {slow} vs {base}"
    );
    assert_eq!(c.started, c.exported + c.dropped, "{c:?}");
}

#[test]
fn erroring_collector_is_retried() {
    let rx = Receiver::start_with(
        Faults {
            delay_ms: 0,
            fail_every: 3,
        },
        None,
    );
    let f = Fixture::new(&config(&rx.grpc_endpoint()));
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..300u64 {
            tracing::info_span!("retried", i).in_scope(|| {});
            std::thread::sleep(Duration::from_micros(300));
        }
    });
    let c = t.shutdown();
    let got = rx.spans().len() as u64;
    println!("collector failing every 3rd request: {got} of 300 spans arrived after retries; {c:?}");
    assert_eq!(
        (c.exported, c.dropped, got),
        (300, 0, 300),
        "retries recover every failed request"
    );
}

#[test]
fn collector_flapping_for_a_minute() {
    let mut rng = Rng::from_env("collector_flapping");
    let secs: u64 = std::env::var("LIVETEL_FLAP_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut rx = Receiver::start();
    let ports = (rx.grpc_port, rx.http_port);
    let f = Fixture::new(&config(&rx.grpc_endpoint()));
    let t = f.start();
    let base = app_rate(&t, 3.0);
    let rss_before = rss_mib();
    let stop = Arc::new(AtomicBool::new(false));
    let rate = {
        let stop2 = Arc::clone(&stop);
        let tel = &t;
        std::thread::scope(|s| {
            let h = s.spawn(move || {
                let r = app_rate(tel, secs as f64);
                stop2.store(true, SeqCst);
                r
            });
            let mut flips = 0;
            let mut counters_seen = Vec::new();
            while !stop.load(SeqCst) {
                std::thread::sleep(Duration::from_millis(500 + rng.below(1000)));
                rx.kill();
                std::thread::sleep(Duration::from_millis(500 + rng.below(1000)));
                rx = Receiver::start_with(Faults::default(), Some(ports));
                flips += 1;
                counters_seen.push(tel.counters());
            }
            for w in counters_seen.windows(2) {
                assert!(
                    w[1].started >= w[0].started
                        && w[1].exported >= w[0].exported
                        && w[1].dropped >= w[0].dropped
                );
            }
            println!("collector flapping: {flips} down/up cycles over {secs} s");
            h.join().expect("app")
        })
    };
    let rss_growth = rss_mib() - rss_before;
    // Export resumes: spans made now reach the collector that is up now. One every 100 ms: right after an
    // outage the queue may still be full, and a span that finds it full is (correctly) dropped and counted.
    let deadline = Instant::now() + common::PATIENCE;
    while !rx.spans().iter().any(|s| s["name"] == "after.flapping") {
        assert!(Instant::now() < deadline, "export never resumed");
        tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
            tracing::info_span!("after.flapping").in_scope(|| {})
        });
        std::thread::sleep(Duration::from_millis(100));
    }
    let c = t.shutdown();
    println!(
        "collector flapping: app rate {rate:.0}/s vs {base:.0}/s without faults (ratio {:.3}), RSS +{rss_growth:.1} MiB, \
         counters {c:?}",
        rate / base
    );
    assert!(rate / base > 0.8, "flapping slowed the app");
    assert!(rss_growth < 64.0, "memory grew {rss_growth} MiB");
    assert!(c.dropped > 0, "drops while down are counted");
    assert_eq!(c.started, c.exported + c.dropped, "counters balance: {c:?}");
}

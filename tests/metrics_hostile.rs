//! A hostile `/metrics` client never holds the app or the server: 100 idle connections (more than the
//! server's 64 slots) and one that sends its headers a byte at a time. Meanwhile the app's spans record on, a
//! normal scrape answers (once a slot frees: at most the header timeout), and the server closes every idle and
//! slow connection itself within its bounds.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{Fixture, PATIENCE, wait_status};

const IDLE: usize = 100;

fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    raw.starts_with("HTTP/1.1 200").then_some(raw)
}

/// True once the peer closed `s` (EOF or reset) before `deadline`.
fn closed_by_server(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn idle_and_slow_clients_never_hold_the_app_or_the_server() {
    let f = Fixture::new(
        "watch = false\nbackend = \"local\"\n[telemetry.metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n",
    );
    let tel = Arc::new(f.start());
    let s = wait_status(&tel, "metrics served", |s| {
        s.metrics.as_ref().is_some_and(|m| m.listen.is_some())
    });
    let addr = s.metrics.as_ref().and_then(|m| m.listen).expect("bound");

    let mut idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let slow = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).expect("connect");
            for b in b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Pad: "
                .iter()
                .chain([b'a'; 4096].iter())
                .cycle()
            {
                if stop.load(SeqCst) || s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
                if started.elapsed() > PATIENCE {
                    break;
                }
            }
            let deadline = Instant::now() + PATIENCE;
            (closed_by_server(&mut s, deadline), started.elapsed())
        })
    };

    // The app records while the attack goes on.
    let made = Arc::new(AtomicU64::new(0));
    let app = {
        let (d, made) = (tel.dispatch().expect("own subscriber").clone(), Arc::clone(&made));
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&d, || {
                for _ in 0..2000 {
                    tracing::info_span!("app.op").in_scope(|| {});
                    made.fetch_add(1, SeqCst);
                }
            })
        })
    };
    let deadline = Instant::now() + PATIENCE;
    while !app.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the app is held: {} spans made",
            made.load(SeqCst)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    app.join().expect("app thread");

    // A normal scrape answers: at once if a slot is free, else when the header timeout frees one.
    let deadline = Instant::now() + PATIENCE;
    let body = loop {
        if let Some(body) = scrape(addr) {
            break body;
        }
        assert!(Instant::now() < deadline, "no scrape answered");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        body.contains("livetel_span_calls_total{span_name=\"app.op\",otel_kind=\"internal\",status=\"ok\",service_name=\"test\"} 2000"),
        "{body}"
    );

    // The server closes every idle connection and the slow one itself, within its bounds (plus slack).
    let bound = Instant::now() + Duration::from_secs(10);
    let open = idle
        .iter_mut()
        .map(|s| closed_by_server(s, bound))
        .filter(|closed| !closed)
        .count();
    assert_eq!(open, 0, "idle connections the server left open");
    let (slow_closed, after) = slow.join().expect("slow client");
    stop.store(true, SeqCst);
    assert!(slow_closed, "the slow client was never cut off");
    assert!(
        after < Duration::from_secs(10),
        "the slow client was held for {after:?}"
    );
}

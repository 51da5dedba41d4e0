//! Profiling's figures reach status and `/metrics`: CPU time summed per `agent.name` / `session.id` (status
//! shows the costliest), the process's gauges, and an instrumented channel's counts; the text passes
//! `promtool check metrics` (lint clean). With profiling off, `/metrics` serves none of them.
#![cfg(feature = "profiling")]

mod common;

use common::prometheus::promtool;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Fixture, wait_status};
use livetel::ReloadOutcome;

const METRICS: &str = "[telemetry.metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n";

/// `GET /metrics` (text 0.0.4) over plain TCP: the body.
fn scrape(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("ask");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header end");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

fn spin(n: u64) -> u64 {
    (0..n).fold(0u64, |x, i| {
        std::hint::black_box(x.wrapping_mul(31).wrapping_add(i))
    })
}

#[test]
fn figures_reach_status_and_metrics_while_profiling_is_on() {
    let profiling = "[telemetry.profiling]\ncpu_time = true\nsystem_metrics_interval_secs = 1\n";
    let f = Fixture::new(&format!("watch = false\n{METRICS}{profiling}"));
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    let (tx, mut rx) = tracing::dispatcher::with_default(&d, || {
        for (agent, n) in [("planner", 3), ("writer", 1)] {
            for _ in 0..n {
                tracing::info_span!("turn", agent.name = agent, session.id = 7u64).in_scope(|| spin(300_000));
            }
        }
        tracing::info_span!("plain").in_scope(|| spin(1000));
        livetel::channel::mpsc::channel::<u8>("jobs", 4)
    });
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv().unwrap(), 1);
    // Status is published again after each process sample: wait for one taken after the spans.
    let s = wait_status(&t, "a process sample after the spans", |s| {
        s.profiling
            .as_ref()
            .is_some_and(|p| p.process.is_some() && !p.top.is_empty())
            && s.metrics.as_ref().is_some_and(|m| m.listen.is_some())
    });
    let p = s.profiling.as_ref().unwrap();
    let row = |field: &str, value: &str| {
        p.top
            .iter()
            .find(|r| r.field == field && r.value == value)
            .unwrap_or_else(|| panic!("no {field}={value} in {:?}", p.top))
            .clone()
    };
    let (planner, writer, session) = (
        row("agent.name", "planner"),
        row("agent.name", "writer"),
        row("session.id", "7"),
    );
    assert_eq!((planner.spans, writer.spans, session.spans), (3, 1, 4));
    assert_eq!(session.cpu_micros, planner.cpu_micros + writer.cpu_micros);
    assert!(planner.cpu_micros > 0, "{planner:?}");
    assert_eq!(
        p.top.len(),
        3,
        "a span without the fields is not attributed: {:?}",
        p.top
    );

    let addr = s.metrics.as_ref().unwrap().listen.unwrap();
    let body = scrape(addr);
    for line in [
        "livetel_attributed_spans_total{attribute=\"agent.name\",value=\"planner\"} 3",
        "livetel_attributed_spans_total{attribute=\"session.id\",value=\"7\"} 4",
        "livetel_channel_sent_total{channel=\"jobs\"} 2",
        "livetel_channel_received_total{channel=\"jobs\"} 1",
        "livetel_channel_queue_depth{channel=\"jobs\"} 1",
    ] {
        assert!(body.lines().any(|l| l == line), "no `{line}` in\n{body}");
    }
    for family in [
        "process_memory_rss_bytes{service_name=\"test\"} ",
        "process_cpu_utilization_ratio{service_name=\"test\"} ",
        "process_threads{service_name=\"test\"} ",
        "process_open_fds{service_name=\"test\"} ",
    ] {
        assert!(
            body.lines().any(|l| l.starts_with(family)),
            "no {family} in\n{body}"
        );
    }
    promtool(&body);

    // Profiling off: the figures leave `/metrics` (they are kept, and come back when it is on again).
    f.write(&format!("watch = false\n{METRICS}"));
    assert!(matches!(
        t.reload_trigger().reload_blocking(),
        ReloadOutcome::Applied { .. }
    ));
    let gone = wait_status(&t, "profiling off", |s| s.profiling.is_none());
    let addr = gone.metrics.as_ref().unwrap().listen.unwrap();
    // The old generation drains (no span is open): its hook goes with it.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    loop {
        let body = scrape(addr);
        if !body.contains("livetel_attributed") && !body.contains("process_memory_rss") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "profiling's figures stayed:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// At `backend = "none"` no span is recorded, yet profiling still meters them: their CPU time is summed per
/// `agent.name`, one row per value, every span counted.
#[test]
fn at_none_spans_are_still_metered_and_attributed() {
    let f = Fixture::new("watch = false\nbackend = \"none\"\n[telemetry.profiling]\ncpu_time = true\n");
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    tracing::dispatcher::with_default(&d, || {
        for _ in 0..2 {
            tracing::info_span!("turn", agent.name = "solo").in_scope(|| spin(300_000));
        }
        tracing::info_span!("plain").in_scope(|| spin(1000));
    });
    let s = t.refresh_status();
    let p = s.profiling.as_ref().expect("profiling in status");
    let solo = p
        .top
        .iter()
        .find(|r| r.field == "agent.name" && r.value == "solo")
        .unwrap_or_else(|| panic!("no agent.name=solo in {:?}", p.top));
    assert_eq!(solo.spans, 2, "{solo:?}");
    assert!(solo.cpu_micros > 0, "{solo:?}");
    assert_eq!(p.top.len(), 1, "{:?}", p.top);
}

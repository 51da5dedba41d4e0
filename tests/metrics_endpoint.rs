//! `/metrics` end to end: livetel with metrics on and `listen` on a loopback port chosen by the system (read
//! back from status). Spans are counted exactly through reloads that flip the backend, change the sample rate
//! and turn metrics off and on: every `_total` only grows and the histogram's `_count` equals the spans made
//! while metrics were on. Text 0.0.4 passes `promtool check metrics` (lint clean); OpenMetrics carries an
//! exemplar of a recorded trace, and a real Prometheus 2 (the same Debian package) scrapes it, stores the
//! exemplar and reads the counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::prometheus::{Prometheus, promtool};
use common::{Fixture, PATIENCE, wait_status};
use livetel::Telemetry;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `[telemetry]` with metrics `on`, backend `backend` (a TOML value) and an OTLP endpoint that refuses.
fn body(metrics_on: bool, backend: &str, rate: f64, closed: u16) -> String {
    format!(
        "watch = false\nbackend = {backend}\nsample_rate = {rate}\notlp.endpoint = \"http://127.0.0.1:{closed}\"\n\
         [telemetry.metrics]\nenabled = {metrics_on}\nlisten = \"127.0.0.1:0\"\nbuckets = [0.001, 0.01, 0.1, 1]\n"
    )
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("its address").port()
}

/// The app makes `n` root spans `m.op` (kind server; every fifth in error); returns their trace ids.
fn make(tel: &Telemetry, n: usize) -> BTreeSet<String> {
    let d = tel.dispatch().expect("own subscriber").clone();
    tracing::dispatcher::with_default(&d, || {
        (0..n)
            .map(|i| {
                let span = match i % 5 {
                    0 => tracing::info_span!("m.op", otel.kind = "server", error = true),
                    _ => tracing::info_span!("m.op", otel.kind = "server"),
                };
                let id = livetel::propagation::trace_id(&span).unwrap_or_default();
                span.in_scope(|| {});
                id
            })
            .collect()
    })
}

/// `GET /metrics` over plain TCP: the `Content-Type` and the body.
pub fn scrape(addr: SocketAddr, accept: Option<&str>) -> std::io::Result<(String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {raw:?}")))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("answered {head}")));
    }
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    Ok((content_type, body.to_owned()))
}

/// Every sample of a text 0.0.4 body: the series (name and labels) and its value.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(series, v)| (series.to_owned(), v.parse().unwrap_or(f64::NAN)))
        .collect()
}

/// The sum of the samples named `name` with `span_name="m.op"`.
fn of_m_op(all: &BTreeMap<String, f64>, name: &str) -> f64 {
    all.iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains("span_name=\"m.op\""))
        .map(|(_, v)| v)
        .sum()
}

/// Scrapes text 0.0.4 and checks it against what came before: lint clean, every `_total` at least as high,
/// `_count` and `calls_total` of `m.op` equal to `made`.
fn check(addr: SocketAddr, made: usize, seen: &mut BTreeMap<String, f64>, phase: &str) {
    let (content_type, body) = scrape(addr, None).expect("scrape");
    assert_eq!(content_type, TEXT, "{phase}");
    promtool(&body);
    let now = samples(&body);
    for (series, before) in seen.iter().filter(|(k, _)| k.contains("_total")) {
        let after = now.get(series).copied().unwrap_or(f64::NAN);
        assert!(
            after >= *before,
            "{phase}: {series} went from {before} to {after}"
        );
    }
    assert_eq!(
        of_m_op(&now, "livetel_span_duration_seconds_count"),
        made as f64,
        "{phase}"
    );
    assert_eq!(of_m_op(&now, "livetel_span_calls_total"), made as f64, "{phase}");
    assert_eq!(
        of_m_op(&now, "livetel_span_errors_total"),
        (made / 5) as f64,
        "{phase}"
    );
    assert!(
        now.keys().any(|k| k.starts_with("livetel_spans_started_total")),
        "{body}"
    );
    *seen = now;
}

fn listen_of(tel: &Telemetry) -> SocketAddr {
    let s = wait_status(tel, "metrics served", |s| {
        s.metrics.as_ref().is_some_and(|m| m.listen.is_some())
    });
    s.metrics.as_ref().and_then(|m| m.listen).expect("bound address")
}

fn reload(f: &Fixture, tel: &Telemetry, body: &str) {
    f.write(body);
    let outcome = tel.reload_trigger().reload_blocking();
    assert!(outcome.is_applied(), "{outcome:?}");
}

#[test]
fn counts_survive_every_reload_and_text_passes_promtool() {
    let closed = free_port();
    let f = Fixture::new(&body(true, "\"local\"", 1.0, closed));
    let tel = f.start();
    let addr = listen_of(&tel);
    let mut seen = BTreeMap::new();
    let mut made = 0;
    let mut traces = make(&tel, 50);
    made += 50;
    check(addr, made, &mut seen, "start");

    reload(&f, &tel, &body(true, r#"["local", "otlp"]"#, 1.0, closed));
    traces.extend(make(&tel, 50));
    made += 50;
    check(addr, made, &mut seen, "backend local+otlp");

    reload(&f, &tel, &body(true, r#"["local", "otlp"]"#, 0.5, closed));
    traces.extend(make(&tel, 50));
    made += 50;
    check(addr, made, &mut seen, "sample_rate 0.5");

    // At `none` no span is recorded, and metrics still measure every span.
    reload(&f, &tel, &body(true, "\"none\"", 0.5, closed));
    make(&tel, 50);
    made += 50;
    check(addr, made, &mut seen, "backend none");

    reload(&f, &tel, &body(false, "\"local\"", 0.5, closed));
    assert!(tel.status().borrow().metrics.is_none(), "metrics off in status");
    make(&tel, 50); // not counted: metrics are off

    reload(&f, &tel, &body(true, "\"local\"", 1.0, closed));
    let addr = listen_of(&tel);
    traces.extend(make(&tel, 50));
    made += 50;
    check(addr, made, &mut seen, "metrics off then on");
    let status = tel.refresh_status();
    let m = status.metrics.as_ref().expect("metrics status");
    assert_eq!((m.series, m.overflowed.len()), (2, 0), "{m:?}");
    assert_eq!(seen.get("livetel_reloads_total{outcome=\"applied\"}"), Some(&5.0));

    let (content_type, om) = scrape(addr, Some("application/openmetrics-text")).expect("scrape");
    assert_eq!(content_type, OPENMETRICS);
    assert!(om.ends_with("# EOF\n"), "{om}");
    let exemplars: Vec<&str> = om
        .match_indices("trace_id=\"")
        .map(|(at, _)| &om[at + 10..at + 42])
        .collect();
    assert!(!exemplars.is_empty(), "{om}");
    assert!(
        exemplars.iter().all(|t| traces.contains(*t)),
        "every exemplar is a recorded trace: {exemplars:?}"
    );
}

#[test]
fn a_port_in_use_is_rejected_at_metrics_listen_and_the_last_config_keeps_serving() {
    let closed = free_port();
    let f = Fixture::new(&body(true, "\"local\"", 1.0, closed));
    let tel = f.start();
    let addr = listen_of(&tel);
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let text = body(true, "\"local\"", 1.0, closed).replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    f.write(&text);
    let outcome = tel.reload_trigger().reload_blocking();
    let status = tel.status().borrow().clone();
    let e = status.last_error.as_ref().expect("rejected");
    assert!(!outcome.is_applied(), "{outcome:?}");
    assert_eq!(e.key.as_deref(), Some("telemetry.metrics.listen"), "{e:?}");
    assert_eq!((e.line, e.column), (Some(10), Some(10)), "{}", e.message);
    make(&tel, 5);
    let (_, body) = scrape(addr, None).expect("the running server still answers");
    let now = samples(&body);
    assert_eq!(of_m_op(&now, "livetel_span_calls_total"), 5.0);
    assert_eq!(now.get("livetel_reloads_total{outcome=\"rejected\"}"), Some(&1.0));
}

#[test]
fn new_buckets_wait_for_a_restart_and_label_sets_beyond_max_series_overflow() {
    let closed = free_port();
    let f = Fixture::new(&body(true, "\"local\"", 1.0, closed));
    let tel = f.start();
    let addr = listen_of(&tel);
    make(&tel, 5); // two label sets: m.op ok and error
    let changed = body(true, "\"local\"", 1.0, closed).replace(
        "buckets = [0.001, 0.01, 0.1, 1]",
        "buckets = [0.5, 1]\nmax_series = 2",
    );
    reload(&f, &tel, &changed);
    let d = tel.dispatch().expect("own subscriber").clone();
    tracing::dispatcher::with_default(&d, || {
        tracing::info_span!("m.other").in_scope(|| {});
        tracing::info_span!("m.third").in_scope(|| {});
    });
    make(&tel, 5);
    let status = tel.refresh_status();
    assert_eq!(status.restart_required, ["metrics.buckets"]);
    let m = status.metrics.as_ref().expect("metrics status");
    assert_eq!(m.series, 2);
    assert_eq!(m.overflowed.len(), 3, "{m:?}");
    assert_eq!(
        status
            .warnings
            .iter()
            .filter(|w| w.contains("max_series"))
            .count(),
        3,
        "{:?}",
        status.warnings
    );
    let (_, text) = scrape(addr, None).expect("scrape");
    promtool(&text);
    let now = samples(&text);
    assert_eq!(of_m_op(&now, "livetel_span_calls_total"), 10.0);
    assert_eq!(
        now.get("livetel_span_calls_total{otel_metric_overflow=\"true\"}"),
        Some(&2.0)
    );
    assert!(text.contains("le=\"0.001\""), "the first layout stays: {text}");
    assert!(!text.contains("le=\"0.5\""), "{text}");
}

#[test]
fn prometheus_scrapes_openmetrics_and_stores_an_exemplar_of_a_recorded_trace() {
    let f = Fixture::new(&body(true, "\"local\"", 1.0, free_port()));
    let tel = f.start();
    let addr = listen_of(&tel);
    let traces = make(&tel, 20);
    let prometheus = Prometheus::start(f.dir.path(), addr, "1s");
    let deadline = Instant::now() + PATIENCE * 3;
    let query = "/api/v1/query?query=sum(livetel_span_calls_total%7Bspan_name%3D%22m.op%22%7D)";
    let exemplars =
        "/api/v1/query_exemplars?query=livetel_span_duration_seconds_bucket&start=0&end=4000000000";
    loop {
        let calls = prometheus
            .api(query)
            .and_then(|v| v["data"]["result"][0]["value"][1].as_str().map(str::to_owned));
        let found: Vec<String> = prometheus
            .api(exemplars)
            .map(|v| {
                v["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|series| series["exemplars"].as_array().into_iter().flatten())
                    .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if calls.as_deref() == Some("20") && !found.is_empty() {
            assert!(found.iter().all(|t| traces.contains(t)), "{found:?}");
            let targets = prometheus.api("/api/v1/targets").expect("targets");
            let target = &targets["data"]["activeTargets"][0];
            assert_eq!(target["health"], "up", "{target}");
            assert_eq!(target["lastError"], "", "{target}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never showed 20 calls and an exemplar: {calls:?} {found:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The calls of `n.call` whose series carries every label of `want`.
fn calls_of(all: &BTreeMap<String, f64>, want: &[&str]) -> f64 {
    all.iter()
        .filter(|(k, _)| k.starts_with("livetel_span_calls_total{") && k.contains("span_name=\"n.call\""))
        .filter(|(k, _)| want.iter().all(|w| k.contains(w)))
        .map(|(_, v)| v)
        .sum()
}

/// At `none` a span keeps only the fields some hook reads, and each still labels its series: `otel.kind` given
/// at the start, a `span_labels` field and `otel.status_code = "ERROR"` recorded after it began, and the field
/// a later config names instead. Fields no hook reads never make a label.
#[test]
fn at_none_the_fields_hooks_read_label_their_series_wherever_they_are_recorded() {
    let closed = free_port();
    let config = |label: &str| {
        format!(
            "{}span_labels = [\"{label}\"]\n",
            body(true, "\"none\"", 1.0, closed)
        )
    };
    let f = Fixture::new(&config("model"));
    let tel = f.start();
    let addr = listen_of(&tel);
    let d = tel.dispatch().expect("own subscriber").clone();
    let calls = |n: u64| {
        tracing::dispatcher::with_default(&d, || {
            for i in 0..n {
                let span = tracing::info_span!(
                    "n.call",
                    otel.kind = "client",
                    model = tracing::field::Empty,
                    otel.status_code = tracing::field::Empty,
                    tenant = "t1",
                    noise = i,
                );
                span.record("model", "m1");
                if i % 2 == 0 {
                    span.record("otel.status_code", "ERROR");
                }
            }
        })
    };
    calls(10);
    let (_, text) = scrape(addr, None).expect("scrape");
    let now = samples(&text);
    let client_m1 = ["otel_kind=\"client\"", "model=\"m1\""];
    assert_eq!(
        calls_of(&now, &[&client_m1[..], &["status=\"error\""]].concat()),
        5.0,
        "{text}"
    );
    assert_eq!(
        calls_of(&now, &[&client_m1[..], &["status=\"ok\""]].concat()),
        5.0,
        "{text}"
    );
    assert_eq!(calls_of(&now, &[]), 10.0, "{text}");
    assert!(!text.contains("noise") && !text.contains("tenant"), "{text}");

    reload(&f, &tel, &config("tenant"));
    calls(4);
    let (_, text) = scrape(addr, None).expect("scrape");
    let now = samples(&text);
    assert_eq!(
        calls_of(&now, &["otel_kind=\"client\"", "tenant=\"t1\"", "status=\"ok\""]),
        2.0,
        "{text}"
    );
    assert_eq!(
        calls_of(&now, &["tenant=\"t1\"", "status=\"error\""]),
        2.0,
        "{text}"
    );
    assert_eq!(calls_of(&now, &[]), 14.0, "{text}");
}

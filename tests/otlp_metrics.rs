//! OTLP metrics at a real receiver (the official protos, in Python), over HTTP/protobuf and gRPC: names, units,
//! temporality (cumulative by default, delta when configured, switched live), exemplars that carry the trace
//! and span ids of spans the same receiver got, histogram counts and sums equal to those of the spans received,
//! counters that never go back across reloads, and a dead collector that costs counted drops, never the app.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Fixture;
use common::receiver::Receiver;
use livetel::Telemetry;
use serde_json::Value;

/// Histogram bounds of these tests, in seconds.
const BOUNDS: [f64; 3] = [0.001, 0.01, 0.1];

/// An `otlp` config with metrics on, exported every 100 ms unless `metrics` (more keys of the table) says.
fn body(protocol: &str, endpoint: &str, metrics: &str) -> String {
    let interval = match metrics.contains("export_interval_ms") {
        true => "",
        false => "export_interval_ms = 100\n",
    };
    format!(
        "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nprotocol = \"{protocol}\"\nendpoint = \"{endpoint}\"\n\
         [telemetry.otlp.batch]\nscheduled_delay_ms = 20\n\
         [telemetry.metrics]\nenabled = true\nbuckets = [0.001, 0.01, 0.1]\n{interval}{metrics}\n"
    )
}

/// `body` with the OTLP headers from a vault file (`x-tenant: agents`, and an authorization).
fn authed(f: &Fixture, body: &str) -> String {
    let path = f.dir.path().join("otlp.secret");
    if !path.exists() {
        std::fs::write(
            &path,
            r#"{"Authorization": "Bearer metrics-7f3a", "x-tenant": "agents"}"#,
        )
        .expect("write the secret");
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        std::fs::set_permissions(&path, mode).expect("secret permissions");
    }
    let vault = format!(
        "[telemetry.vault]\nsource = \"file\"\npath = {:?}\n",
        path.display().to_string()
    );
    let with_key = body.replacen(
        "[telemetry.otlp.batch]",
        "headers_vault_key = \"OTLP_AUTH\"\nheaders_required = true\n[telemetry.otlp.batch]",
        1,
    );
    format!("{with_key}{vault}")
}

/// `n` spans `work` on a thread of the app, sleeping 0, 2 and 15 ms in turn: they fall in several buckets.
fn work(t: &Telemetry, n: u64) {
    let d = t.dispatch().expect("own subscriber").clone();
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&d, || {
            for i in 0..n {
                tracing::info_span!("work", i).in_scope(|| {
                    std::thread::sleep(Duration::from_millis([0, 2, 15][(i % 3) as usize]));
                });
            }
        });
    })
    .join()
    .expect("the app thread");
}

/// The points of metric `name` whose `span.name` attribute (when `span` is given) is `span`.
fn points<'a>(all: &'a [Value], name: &str, span: Option<&str>) -> Vec<&'a Value> {
    all.iter()
        .filter(|p| p["name"] == name)
        .filter(|p| span.is_none_or(|s| p["attributes"]["span.name"] == s))
        .collect()
}

/// The value of the last `livetel.span.calls` point of span `work`.
fn last_calls(all: &[Value]) -> Option<u64> {
    points(all, "livetel.span.calls", Some("work"))
        .last()
        .and_then(|p| p["value"].as_u64())
}

fn request_of(all: &[Value], request: u64) -> Vec<Value> {
    all.iter().filter(|p| p["request"] == request).cloned().collect()
}

/// Each `work` span the receiver got: trace id, span id, duration in ns.
fn received_work(rx: &Receiver) -> Vec<(String, String, u64)> {
    rx.spans()
        .iter()
        .filter(|s| s["name"] == "work")
        .map(|s| {
            let d = s["end"].as_u64().unwrap_or(0) - s["start"].as_u64().unwrap_or(0);
            let id = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
            (id("trace_id"), id("span_id"), d)
        })
        .collect()
}

/// Bucket counts of `durations` (ns) under [`BOUNDS`] (`le`, as the store counts), `+Inf` last.
fn buckets_of(durations: impl Iterator<Item = u64>) -> Vec<u64> {
    let bounds_ns: Vec<u64> = BOUNDS.iter().map(|b| (b * 1e9).round() as u64).collect();
    let mut out = vec![0; BOUNDS.len() + 1];
    for d in durations {
        out[bounds_ns.partition_point(|&b| b < d)] += 1;
    }
    out
}

fn as_u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

#[test]
fn http_cumulative_points_match_the_spans_received_and_carry_their_exemplars() {
    let rx = Receiver::start();
    let f = Fixture::new("");
    f.write(&authed(&f, &body("http/protobuf", &rx.http_endpoint(), "")));
    let t = f.start();
    work(&t, 12);
    common::wait_settled(&t);
    let spans = rx.wait_spans(12);
    assert_eq!(received_work(&rx).len(), 12, "{spans:?}");
    let all = rx.wait_metrics("12 calls of work", |all| last_calls(all) == Some(12));
    let request = points(&all, "livetel.span.calls", Some("work"))
        .last()
        .and_then(|p| p["request"].as_u64())
        .expect("a request");
    let one = request_of(&all, request);

    let hist = points(&one, "livetel.span.duration", Some("work"));
    assert_eq!(hist.len(), 1, "one series: {hist:?}");
    let h = hist[0];
    assert_eq!(
        (h["type"].as_str(), h["unit"].as_str()),
        (Some("histogram"), Some("s"))
    );
    assert_eq!(h["temporality"], "cumulative");
    assert_eq!(h["attributes"]["otel.kind"], "internal");
    assert_eq!(h["attributes"]["status"], "ok");
    assert_eq!(h["attributes"]["service.name"], "test");
    assert_eq!(h["resource"]["service.name"], "test");
    assert_eq!(h["protocol"], "http/protobuf");
    assert_eq!(h["headers"]["x-tenant"], "agents", "the vault's headers");
    // The histogram is exactly the spans the receiver got: counts per bucket and the sum of their durations.
    let work = received_work(&rx);
    assert_eq!(as_u64s(&h["bucket_counts"]), buckets_of(work.iter().map(|w| w.2)));
    assert_eq!(h["count"], 12);
    let total_ns: u64 = work.iter().map(|w| w.2).sum();
    let sum = h["sum"].as_f64().expect("a sum");
    assert_eq!((sum * 1e9).round() as u64, total_ns, "sum {sum} s");
    assert_eq!(h["explicit_bounds"], serde_json::json!(BOUNDS));
    // Every exemplar is a span the receiver got, in the bucket of its value.
    let exemplars = h["exemplars"].as_array().cloned().unwrap_or_default();
    assert!(!exemplars.is_empty(), "sampled spans leave exemplars: {h}");
    for e in &exemplars {
        let span = work
            .iter()
            .find(|w| e["trace_id"] == w.0.as_str() && e["span_id"] == w.1.as_str())
            .unwrap_or_else(|| panic!("exemplar {e} is no span the receiver got"));
        assert_eq!((e["value"].as_f64().unwrap_or(0.0) * 1e9).round() as u64, span.2);
    }

    let calls = points(&one, "livetel.span.calls", Some("work"))[0];
    assert_eq!(
        (calls["unit"].as_str(), calls["monotonic"].as_bool()),
        (Some("{call}"), Some(true))
    );
    assert_eq!(calls["temporality"], "cumulative");
    for name in [
        "livetel.spans.started",
        "livetel.spans.exported",
        "livetel.reloads",
    ] {
        let p = points(&one, name, None);
        assert!(
            !p.is_empty() && p.iter().all(|p| p["monotonic"] == true),
            "{name}: {p:?}"
        );
    }
    let held = points(&one, "livetel.tail.held", None);
    assert_eq!(
        (held[0]["type"].as_str(), held[0]["unit"].as_str()),
        (Some("gauge"), Some("By"))
    );

    let otlp = otlp_status(&t.refresh_status());
    assert_eq!(otlp.endpoint, format!("{}/v1/metrics", rx.http_endpoint()));
    assert_eq!((otlp.temporality, otlp.interval_ms), ("cumulative", 100));
    assert!(
        otlp.counts.points_exported > 0 && otlp.counts.exports_failed == 0,
        "{otlp:?}"
    );
}

/// Every `calls` value of `work` in request order, with the request's temporality.
fn calls_by_request(all: &[Value]) -> Vec<(u64, String, u64, u64, u64)> {
    points(all, "livetel.span.calls", Some("work"))
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().unwrap_or(0);
            let temporality = p["temporality"].as_str().unwrap_or_default().to_owned();
            (n("request"), temporality, n("value"), n("start"), n("time"))
        })
        .collect()
}

/// Status `metrics.otlp` (panics when it is missing).
fn otlp_status(s: &livetel::status::TelemetryStatus) -> livetel::status::MetricsOtlpStatus {
    s.metrics
        .as_ref()
        .and_then(|m| m.otlp.clone())
        .expect("status metrics.otlp")
}

fn reload(f: &Fixture, t: &Telemetry, body: &str) {
    f.write(body);
    let outcome = t.reload_trigger().reload_blocking();
    assert!(outcome.is_applied(), "{outcome:?}");
}

#[test]
fn grpc_delta_sums_to_the_total_and_a_live_switch_to_cumulative_resets_nothing() {
    let rx = Receiver::start();
    let endpoint = rx.grpc_endpoint();
    let f = Fixture::new("");
    let config = |metrics: &str| authed(&f, &body("grpc", &endpoint, metrics));
    f.write(&config("temporality = \"delta\""));
    let t = f.start();
    work(&t, 5);
    let delta_total = |all: &[Value]| -> u64 {
        calls_by_request(all)
            .iter()
            .filter(|c| c.1 == "delta")
            .map(|c| c.2)
            .sum()
    };
    let all = rx.wait_metrics("deltas summing to 5", |all| delta_total(all) == 5);
    let deltas: Vec<_> = calls_by_request(&all)
        .into_iter()
        .filter(|c| c.1 == "delta")
        .collect();
    assert!(deltas.iter().all(|c| c.1 == "delta"));
    // Each delta starts where the previous accepted export ended.
    for w in deltas.windows(2) {
        assert_eq!(
            w[1].3, w[0].4,
            "start of request {} = time of request {}",
            w[1].0, w[0].0
        );
    }
    let h = points(&all, "livetel.span.duration", Some("work"))[0];
    assert_eq!(
        (h["protocol"].as_str(), h["temporality"].as_str()),
        (Some("grpc"), Some("delta"))
    );
    assert_eq!(h["headers"]["x-tenant"], "agents", "the vault's headers");

    // Live switch to cumulative: the first cumulative point counts everything since the start.
    reload(&f, &t, &config("temporality = \"cumulative\""));
    work(&t, 3);
    let all = rx.wait_metrics("8 calls, cumulative", |all| {
        calls_by_request(all)
            .last()
            .is_some_and(|c| c.1 == "cumulative" && c.2 == 8)
    });
    assert_eq!(delta_total(&all), 5, "no delta after the switch");
    // Another reload (new span labels, a new interval: a new exporter): counts keep growing, never reset.
    reload(&f, &t, &config("span_labels = [\"i\"]\nexport_interval_ms = 150"));
    work(&t, 3);
    let total = |all: &[Value]| -> u64 {
        let last = points(all, "livetel.span.calls", Some("work"))
            .last()
            .and_then(|p| p["request"].as_u64());
        points(all, "livetel.span.calls", Some("work"))
            .iter()
            .filter(|p| p["request"].as_u64() == last && p["temporality"] == "cumulative")
            .filter_map(|p| p["value"].as_u64())
            .sum()
    };
    let all = rx.wait_metrics("11 calls in all", |all| total(all) == 11);
    let mut started: BTreeMap<u64, u64> = BTreeMap::new();
    for p in points(&all, "livetel.spans.started", None)
        .iter()
        .filter(|p| p["temporality"] == "cumulative")
    {
        started.insert(
            p["request"].as_u64().unwrap_or(0),
            p["value"].as_u64().unwrap_or(0),
        );
    }
    let values: Vec<u64> = started.values().copied().collect();
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "livetel.spans.started went back: {values:?}"
    );
    // Metric keys only: the span sink was never rebuilt (its own figures count every span since the start).
    common::wait_settled(&t);
    let s = t.refresh_status();
    let exported: Vec<u64> = s
        .sinks
        .iter()
        .filter_map(|r| r.otlp.as_ref())
        .map(|o| o.spans_exported)
        .collect();
    assert!(
        !exported.is_empty() && exported.iter().all(|&n| n == 11),
        "{exported:?}"
    );
    let otlp = otlp_status(&s);
    assert_eq!(
        (otlp.temporality, otlp.interval_ms, otlp.protocol),
        ("cumulative", 150, "grpc")
    );
}

#[test]
fn shutdown_makes_a_final_export_with_every_span() {
    let rx = Receiver::start();
    let metrics = "export_interval_ms = 3600000";
    let f = Fixture::new(&body("http/protobuf", &rx.http_endpoint(), metrics));
    let t = f.start();
    work(&t, 4);
    assert!(rx.metrics().is_empty(), "no export before the hour is up");
    t.shutdown();
    let all = rx.wait_metrics("the final export", |all| last_calls(all).is_some());
    assert_eq!(last_calls(&all), Some(4), "every span, in one final export");
}

#[test]
fn a_dead_collector_costs_counted_drops_and_never_the_app() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let f = Fixture::new(&body("http/protobuf", &endpoint, "listen = \"127.0.0.1:0\""));
    let t = f.start();
    // The app finishes its spans whatever the collector does (a liveness bound, not a speed).
    common::app_makes(&t, 1, 2000);
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let (s, otlp) = loop {
        let s = t.refresh_status();
        let otlp = otlp_status(&s);
        if otlp.counts.exports_failed >= 2 {
            break (s, otlp);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failed export counted: {otlp:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The same figures as livetel's own counters on `/metrics`.
    let listen = s.metrics.as_ref().and_then(|m| m.listen).expect("/metrics bound");
    let text = scrape(listen);
    let figure = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    assert!(figure("livetel_metrics_exports_failed_total ") >= 2, "{text}");
    assert!(figure("livetel_metrics_points_dropped_total ") >= 2, "{text}");
    assert_eq!(figure("livetel_metrics_points_exported_total "), 0, "{text}");
    assert_eq!((otlp.counts.exports_ok, otlp.counts.points_exported), (0, 0));
    assert!(otlp.counts.points_dropped >= 2, "{otlp:?}");
    assert!(
        otlp.last_error
            .as_deref()
            .is_some_and(|e| e.contains("metrics export failed")),
        "{otlp:?}"
    );
    common::app_makes(&t, 2, 2000);
    let counts = t.shutdown();
    assert_eq!(counts.started, 4000);
}

/// The text-format body of `GET /metrics` at `addr`.
fn scrape(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).expect("connect to /metrics");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send the request");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read the answer");
    answer
}

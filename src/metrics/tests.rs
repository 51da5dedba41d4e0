//! A known workload fed to the hook gives exact figures; the overflow series; exposition in both formats.

use std::sync::Arc;

use super::expose::render;
use super::format::Format;
use super::hook::MetricsHook;
use super::store::Store;
use crate::sinks::record::{FieldValue, Fields, SpanIds};
use crate::traces::hooks::{ClosedSpan, SpanHook};

static CALLSITE: tracing_core::callsite::DefaultCallsite =
    tracing_core::callsite::DefaultCallsite::new(&META);
static META: tracing_core::Metadata<'static> = tracing_core::metadata! {
    name: "llm.chat",
    target: "agent",
    level: tracing_core::Level::INFO,
    fields: &["otel.kind", "model"],
    callsite: &CALLSITE,
    kind: tracing_core::Kind::SPAN,
};

const BOUNDS: [f64; 3] = [0.01, 0.1, 1.0];

fn close(hook: &MetricsHook, ms: u64, error: bool, sampled: bool, fields: &Fields) {
    hook.on_close(&ClosedSpan {
        meta: &META,
        duration_ns: ms * 1_000_000,
        ids: SpanIds {
            trace_id: 0xabc + u128::from(ms),
            span_id: 0x12,
            ..SpanIds::default()
        },
        sampled,
        error,
        #[cfg(feature = "profiling")]
        meters: None,
        fields,
    });
}

fn client(model: &str) -> Fields {
    let mut f = Fields::new();
    f.push(("otel.kind", FieldValue::Str("client".into())));
    f.push(("model", FieldValue::Str(model.into())));
    f
}

#[test]
fn a_known_workload_gives_exact_buckets_count_sum_and_errors() {
    let store = Arc::new(Store::new(&BOUNDS));
    let hook = MetricsHook::new(Arc::clone(&store), "svc", &[], 10, None);
    let f = client("m");
    // 5 ms ×3 → le 0.01; 50 ms ×2 → le 0.1; 500 ms → le 1; 2 s → +Inf; 50 ms in error.
    for ms in [5, 5, 5, 50, 50, 500, 2000] {
        close(&hook, ms, false, false, &f);
    }
    close(&hook, 50, true, true, &f);
    let all = store.all();
    assert_eq!(all.len(), 2);
    let ok = all
        .iter()
        .find(|s| s.labels.as_ref().is_some_and(|l| !l.error))
        .unwrap();
    let snap = ok.snapshot();
    assert_eq!(snap.buckets, [3, 2, 1, 1]);
    assert_eq!(snap.count, 7);
    assert_eq!(snap.sum_ns, (15 + 100 + 500 + 2000) * 1_000_000);
    assert!(
        snap.exemplars.iter().all(Option::is_none),
        "unsampled spans leave no exemplar"
    );
    let err = all
        .iter()
        .find(|s| s.labels.as_ref().is_some_and(|l| l.error))
        .unwrap();
    let snap = err.snapshot();
    assert_eq!((snap.count, snap.buckets[1]), (1, 1));
    assert_eq!(snap.exemplars[1].map(|e| e.trace_id), Some(0xabc + 50));

    let text = render(&store, None, Format::Text).unwrap();
    assert!(
        text.contains("# TYPE livetel_span_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(
            "livetel_span_duration_seconds_bucket{span_name=\"llm.chat\",otel_kind=\"client\",status=\"ok\",service_name=\"svc\",le=\"0.1\"} 5"
        ),
        "{text}"
    );
    assert!(text.contains("livetel_span_calls_total{span_name=\"llm.chat\",otel_kind=\"client\",status=\"ok\",service_name=\"svc\"} 7"), "{text}");
    assert!(
        text.contains(
            "livetel_span_errors_total{span_name=\"llm.chat\",otel_kind=\"client\",service_name=\"svc\"} 1"
        ),
        "{text}"
    );
    assert!(!text.contains("trace_id"), "0.0.4 carries no exemplars");
    let om = render(&store, None, Format::OpenMetrics).unwrap();
    let exemplar = format!(
        "# {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} 0.05",
        0xabc + 50,
        0x12
    );
    assert!(om.contains(&exemplar), "{om}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("livetel_span_calls_total{"), "{om}");
}

#[test]
fn label_sets_beyond_max_series_count_in_one_overflow_series() {
    let store = Arc::new(Store::new(&BOUNDS));
    let hook = MetricsHook::new(Arc::clone(&store), "svc", &["model".to_owned()], 3, None);
    for i in 0..10 {
        close(&hook, 5, false, false, &client(&format!("m{i}")));
        close(&hook, 5, false, false, &client(&format!("m{i}")));
    }
    assert_eq!(store.len(), 3);
    assert!(store.overflowed());
    let all = store.all();
    let overflow = all.last().unwrap();
    assert!(overflow.labels.is_none());
    assert_eq!(overflow.snapshot().count, 14);
    let total: u64 = all.iter().map(|s| s.snapshot().count).sum();
    assert_eq!(total, 20, "no span is lost to the limit");
    let text = render(&store, None, Format::Text).unwrap();
    assert!(
        text.contains("livetel_span_calls_total{otel_metric_overflow=\"true\"} 14"),
        "{text}"
    );
    assert!(text.contains("model=\"m0\""), "{text}");
}

#[test]
fn a_hook_built_by_a_reload_counts_on_in_the_same_store() {
    let store = Arc::new(Store::new(&BOUNDS));
    let first = MetricsHook::new(Arc::clone(&store), "svc", &[], 10, None);
    close(&first, 5, false, false, &client("m"));
    drop(first);
    let second = MetricsHook::new(Arc::clone(&store), "svc", &[], 10, None);
    close(&second, 5, false, false, &client("m"));
    let all = store.all();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].snapshot().count, 2);
}

#[test]
fn accept_headers_choose_the_format() {
    let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
    assert_eq!(Format::from_accept(Some("text/plain")), Format::Text);
    assert_eq!(Format::from_accept(None), Format::Text);
}

/// Sends `request` to `addr`; the status line of the answer, and its body.
fn ask(addr: std::net::SocketAddr, request: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[test]
fn the_server_answers_get_of_metrics_only_and_stops_when_dropped() {
    let render: super::server::Render = Arc::new(|f: Format| Ok(format!("# {f:?}\n")));
    let server = super::server::Server::start("127.0.0.1:0", render).unwrap();
    let addr = server.bound;
    let get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_eq!(
        ask(addr, get),
        ("HTTP/1.1 200 OK".to_owned(), "# Text\n".to_owned())
    );
    let om = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text\r\n\r\n";
    assert_eq!(ask(addr, om).1, "# OpenMetrics\n");
    let post = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab";
    assert!(ask(addr, post).0.starts_with("HTTP/1.1 405"));
    let body = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab";
    assert!(ask(addr, body).0.starts_with("HTTP/1.1 400"));
    let other = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(ask(addr, other).0.starts_with("HTTP/1.1 404"));
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 << 10)
    );
    assert!(
        !ask(addr, &huge).0.starts_with("HTTP/1.1 200"),
        "headers over the buffer are refused"
    );
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens after the drop"
    );
}

#[test]
fn a_bad_or_taken_address_is_an_error_not_a_panic() {
    let render: super::server::Render = Arc::new(|_| Ok(String::new()));
    assert!(super::server::Server::start("nowhere", Arc::clone(&render)).is_err());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let e = super::server::Server::start(&addr, render).err().unwrap();
    assert!(e.to_string().starts_with("cannot listen on"), "{e}");
}

#[test]
fn own_counters_are_by_backend_and_their_totals_agree() {
    use crate::config::Backend;
    use crate::counters::Counters;
    let store = Arc::new(Store::new(&BOUNDS));
    let c = Counters::default();
    c.spans_exported(Backend::Local, 5);
    c.spans_exported(Backend::Otlp, 7);
    c.spans_dropped(Backend::Otlp, 2);
    c.logs_exported(Backend::Local, 3);
    c.logs_dropped(Backend::Local, 1);
    c.backend(Backend::Otlp).export_errors.add(4);
    c.console.failed.add(6);
    assert_eq!((c.exported.get(), c.dropped.get()), (12, 2), "the totals follow");
    assert_eq!((c.logs_exported.get(), c.logs_dropped.get()), (3, 1));
    let text = render(&store, Some(&c), Format::Text).unwrap();
    for line in [
        "livetel_spans_exported_total{backend=\"local\"} 5",
        "livetel_spans_exported_total{backend=\"otlp\"} 7",
        "livetel_spans_dropped_total{backend=\"local\"} 0",
        "livetel_spans_dropped_total{backend=\"otlp\"} 2",
        "livetel_log_records_exported_total{backend=\"local\"} 3",
        "livetel_log_records_dropped_total{backend=\"local\"} 1",
        "livetel_export_errors_total{backend=\"otlp\"} 4",
        "livetel_console_lines_dropped_total 6",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}

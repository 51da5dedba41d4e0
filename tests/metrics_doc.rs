//! docs/METRICS.md lists every metric `/metrics` serves, with its type, and nothing else: a workload with
//! metrics on, spans of several kinds and an error, two backends, tail sampling and a time budget is scraped (text 0.0.4), and
//! its `# TYPE` lines are compared with the table's rows.

#![cfg(feature = "profiling")]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Fixture, wait_status};

/// `(name, type)` of every row of METRICS.md's tables whose first cell is a metric name in backticks.
fn documented() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/METRICS.md"))
        .expect("docs/METRICS.md");
    doc.lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim).skip(1);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let kind = cells.next()?;
            let ours = name.starts_with("livetel_") || name.starts_with("process_");
            ours.then(|| (name.to_owned(), kind.to_owned()))
        })
        .collect()
}

/// `(name, type)` of every `# TYPE` line `/metrics` serves.
fn served(body: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
        .collect()
}

#[test]
fn metrics_md_lists_exactly_what_metrics_serves() {
    let f = Fixture::new(
        "watch = false\nbackend = [\"local\", \"otlp\"]\notlp.endpoint = \"http://127.0.0.1:9\"\n\
         sampling.always_sample_errors = true\n\
         [telemetry.metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n\
         [telemetry.budgets]\n\"doc.op\" = \"1h\"\n\
         [telemetry.profiling]\ncpu_time = true\nsystem_metrics_interval_secs = 1\n",
    );
    let tel = f.start();
    let d = tel.dispatch().expect("own subscriber").clone();
    // Profiling's families too: an attributed span, a counted channel, a process sample.
    let (tx, _rx) = tracing::dispatcher::with_default(&d, || {
        tracing::info_span!("doc.op", otel.kind = "server", agent.name = "doc").in_scope(|| {
            tracing::info_span!("doc.child", error = true).in_scope(|| {});
        });
        livetel::channel::mpsc::channel::<u8>("doc", 4)
    });
    tx.try_send(1).expect("room");
    let status = wait_status(&tel, "metrics served and a process sample", |s| {
        s.metrics
            .as_ref()
            .is_some_and(|m| m.listen.is_some() && m.series >= 2)
            && s.profiling
                .as_ref()
                .is_some_and(|p| p.process.is_some() && !p.top.is_empty())
    });
    let addr = status.metrics.as_ref().and_then(|m| m.listen).expect("bound");
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let served = served(&answer);
    let documented = documented();
    let missing: Vec<_> = served
        .iter()
        .filter(|(n, t)| documented.get(*n) != Some(t))
        .collect();
    let stale: Vec<_> = documented
        .iter()
        .filter(|(n, t)| served.get(*n) != Some(t))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "served but not in docs/METRICS.md (or with another type): {missing:?}\n\
         in docs/METRICS.md but not served: {stale:?}"
    );
}

//! Time budgets end to end: livetel as one layer beside a test layer that counts the budget events it sees.
//!
//! Durations are controlled without measuring anything: a budget of `1ns` is exceeded by every span (two clock
//! reads with a span's whole life between them), a budget of `1h` by none made here, and the soft band of a
//! `10s` budget at `soft_limit_pct = 1` (past 100 ms, within 10 s) is reached by a span that sleeps 110 ms (a
//! sleep never ends early; 10 s is the liveness slack, as in `tail_sampling.rs`). Every assertion is a count.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Fixture, wait_settled};
use livetel::status::BudgetStatus;
use livetel::{ReloadOutcome, Telemetry};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// (span name, level) → events seen, and how many of them had a parent span.
#[derive(Default)]
struct Seen {
    by: BTreeMap<(String, Level), u64>,
    with_parent: u64,
}

/// The user's other layer: counts the `livetel::budget` events that reach it.
#[derive(Clone, Default)]
struct Counting(Arc<Mutex<Seen>>);

struct SpanName(String);

impl tracing::field::Visit for SpanName {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "span.name" {
            self.0 = value.to_owned();
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S> for Counting {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "livetel::budget" {
            return;
        }
        let mut name = SpanName(String::new());
        event.record(&mut name);
        let mut seen = self.0.lock().expect("seen");
        *seen.by.entry((name.0, *event.metadata().level())).or_default() += 1;
        if ctx.event_span(event).is_some() {
            seen.with_parent += 1;
        }
    }
}

impl Counting {
    fn count(&self, name: &str, level: Level) -> u64 {
        let seen = self.0.lock().expect("seen");
        seen.by.get(&(name.to_owned(), level)).copied().unwrap_or(0)
    }
}

/// livetel beside the counting layer, as the calling thread's default while `f` runs.
fn with_stack<T>(f: &Fixture, body: impl FnOnce(&Telemetry, &Counting) -> T) -> T {
    let counting = Counting::default();
    let (layer, t) = f.builder().build_layer().expect("livetel starts");
    let subscriber = tracing_subscriber::registry().with(counting.clone()).with(layer);
    let out = tracing::subscriber::with_default(subscriber, || body(&t, &counting));
    drop(t);
    out
}

/// A root span `name` with a child `t.child`, the child sleeping `sleep` (the root spans it).
fn trace(name: &'static str, sleep: Duration) {
    let root = match name {
        "t.fast" => tracing::info_span!("t.fast"),
        "t.soft" => tracing::info_span!("t.soft"),
        "t.over" => tracing::info_span!("t.over"),
        _ => tracing::info_span!("t.op"),
    };
    root.in_scope(|| {
        tracing::info_span!("t.child").in_scope(|| {
            if !sleep.is_zero() {
                std::thread::sleep(sleep);
            }
        });
    });
}

fn row<'a>(rows: &'a [BudgetStatus], name: &str) -> &'a BudgetStatus {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} in {rows:?}"))
}

const FAST: u64 = 20;
const SOFT: u64 = 3;
const OVER: u64 = 10;

#[test]
fn budget_events_are_counted_exactly_reach_the_other_layer_and_keep_their_traces() {
    let f = Fixture::new(
        "watch = false\nbackend = \"local\"\nsample_rate = 0.0\nfilter = \"trace\"\n\
         sampling.always_sample_errors = true\n\
         [telemetry.metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n\
         [telemetry.budgets]\nsoft_limit_pct = 1\n\"t.fast\" = \"1h\"\n\"t.soft\" = \"10s\"\n\"t.over\" = \"1ns\"\n",
    );
    with_stack(&f, |t, counting| {
        for _ in 0..FAST {
            trace("t.fast", Duration::ZERO);
        }
        for _ in 0..SOFT {
            trace("t.soft", Duration::from_millis(110));
        }
        for _ in 0..OVER {
            trace("t.over", Duration::ZERO);
        }
        // The other layer saw exactly one event per span past its limit, each an explicit root.
        assert_eq!(counting.count("t.soft", Level::WARN), SOFT);
        assert_eq!(counting.count("t.over", Level::ERROR), OVER);
        assert_eq!(
            counting.count("t.fast", Level::WARN) + counting.count("t.fast", Level::ERROR),
            0
        );
        assert_eq!(
            counting.count("t.soft", Level::ERROR) + counting.count("t.over", Level::WARN),
            0
        );
        assert_eq!(counting.0.lock().expect("seen").with_parent, 0);

        let counts = wait_settled(t);
        let status = t.refresh_status();
        let budgets = status.budgets.as_ref().expect("budgets in status");
        assert!(budgets.enabled);
        assert_eq!(budgets.soft_limit_pct, Some(1));
        let (fast, soft, over) = (
            row(&budgets.spans, "t.fast"),
            row(&budgets.spans, "t.soft"),
            row(&budgets.spans, "t.over"),
        );
        assert_eq!((fast.soft_exceeded, fast.exceeded), (0, 0));
        assert_eq!((soft.soft_exceeded, soft.exceeded), (SOFT, 0));
        assert_eq!((over.soft_exceeded, over.exceeded), (0, OVER));
        assert_eq!(over.budget.as_deref(), Some("1ns"));

        // Tail on, head keeping nothing: the traces over a limit are kept whole (root and child), the rest not.
        let traces = status.sampling.traces;
        assert_eq!(traces.kept_by_latency, SOFT + OVER, "{traces:?}");
        assert_eq!(traces.kept_by_error, 0, "{traces:?}");
        assert_eq!(traces.dropped_by_sampling, FAST, "{traces:?}");
        assert_eq!(counts.exported, 2 * (SOFT + OVER), "{counts:?}");
        assert_eq!(counts.sampled_out, 2 * FAST, "{counts:?}");

        // And on /metrics, by span name.
        let addr = status
            .metrics
            .as_ref()
            .and_then(|m| m.listen)
            .expect("/metrics bound");
        let body = scrape(addr);
        assert!(
            body.contains("livetel_budget_exceeded_total{span_name=\"t.over\"} 10"),
            "{body}"
        );
        assert!(
            body.contains("livetel_budget_soft_exceeded_total{span_name=\"t.soft\"} 3"),
            "{body}"
        );
        assert!(
            body.contains("livetel_budget_exceeded_total{span_name=\"t.fast\"} 0"),
            "{body}"
        );
    });
}

#[test]
fn a_budget_changed_live_applies_to_the_next_spans_and_counts_are_kept() {
    let f = Fixture::new("watch = false\nbackend = \"local\"\n[telemetry.budgets]\n\"t.op\" = \"1h\"\n");
    let section = |budgets: &str| f.section(&format!("watch = false\nbackend = \"local\"\n{budgets}"));
    with_stack(&f, |t, counting| {
        let handle = t.handle();
        let made = |n| (0..n).for_each(|_| trace("t.op", Duration::ZERO));
        made(5);
        assert_eq!(counting.count("t.op", Level::ERROR), 0);

        let applied = handle.apply_toml_blocking(section("[telemetry.budgets]\n\"t.op\" = \"1ns\"\n"));
        assert!(matches!(applied, ReloadOutcome::Applied { .. }), "{applied:?}");
        made(5);
        assert_eq!(counting.count("t.op", Level::ERROR), 5);
        let status = t.refresh_status();
        let budgets = status.budgets.as_ref().expect("budgets");
        assert_eq!(row(&budgets.spans, "t.op").exceeded, 5);
        assert!(
            status
                .last_reload
                .as_ref()
                .expect("a reload")
                .changed
                .contains(&"budgets.t.op".to_owned())
        );

        // A bad budget is rejected at its line and column; the running one stays.
        let rejected = handle.apply_toml_blocking(section("[telemetry.budgets]\n\"t.op\" = \"soon\"\n"));
        let ReloadOutcome::Rejected { error } = rejected else {
            panic!("{rejected:?}");
        };
        let at = error.position.expect("placed");
        assert_eq!((at.line, at.column), (7, 10), "{error}");

        // Budgets off: no more events, the counts stay.
        let off = handle.apply_toml_blocking(section(""));
        assert!(matches!(off, ReloadOutcome::Applied { .. }), "{off:?}");
        made(5);
        assert_eq!(counting.count("t.op", Level::ERROR), 5);
        let status = t.refresh_status();
        let budgets = status.budgets.as_ref().expect("counts kept");
        assert!(!budgets.enabled);
        let op = row(&budgets.spans, "t.op");
        assert_eq!((op.exceeded, op.budget.as_deref()), (5, None));
    });
}

#[test]
fn livetel_check_accepts_budgets_and_places_a_bad_one() {
    let good = "[telemetry.budgets]\n\"agent.turn\" = \"50ms\"\nsoft_limit_pct = 90\n";
    assert!(livetel::config::parse_str("good.toml", good).is_ok());
    let bad = "[telemetry.budgets]\nsoft_limit_pct = 101\n";
    let e = livetel::config::parse_str("bad.toml", bad).expect_err("101 %");
    assert_eq!(e.key.as_deref(), Some("telemetry.budgets.soft_limit_pct"));
    let at = e.position.expect("placed");
    assert_eq!((at.line, at.column), (2, 18));
}

/// `GET /metrics` (text) over plain TCP: the body.
fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("response");
    out
}

#[test]
fn livetel_s_own_console_gets_the_budget_events() {
    let f = Fixture::new("watch = false");
    let log = f.dir.path().join("logs").join("app.log");
    f.write(&format!(
        "watch = false\nbackend = \"local\"\n[telemetry.console]\nenabled = true\nansi = false\n\
         filter = \"livetel::budget=warn\"\nfile = {:?}\n[telemetry.budgets]\n\"t.over\" = \"1ns\"\n",
        log.display().to_string()
    ));
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        (0..4).for_each(|_| trace("t.over", Duration::ZERO));
    });
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let file = loop {
        let s = t.refresh_status();
        let file = s
            .console
            .as_ref()
            .and_then(|c| c.file.clone())
            .expect("a log file");
        if file.lines_written + file.lines_dropped >= 4 {
            break file;
        }
        assert!(std::time::Instant::now() < deadline, "{file:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!((file.lines_written, file.lines_dropped), (4, 0));
    let text = std::fs::read_to_string(&file.path).expect("log file");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    for v in &lines {
        assert_eq!(
            (v["target"].as_str(), v["level"].as_str()),
            (Some("livetel::budget"), Some("ERROR")),
            "{v}"
        );
        assert_eq!(v["fields"]["span.name"], "t.over", "{v}");
        assert_eq!(v["fields"]["budget_ms"], 1e-6, "{v}");
    }
    t.shutdown();
}

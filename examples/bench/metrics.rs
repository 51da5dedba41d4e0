//! P1m: the metrics signal's cost per span. P1's trees through livetel's local backend with
//! `[telemetry.metrics] enabled` on and off, side by side (no `/metrics` listener: the scrape is not in it).
//! P1m_static: livetel's span metrics alone (backend `none`) against the same RED metrics hand-built on
//! `opentelemetry_sdk` ([`crate::metrics_static`]). P1m_scrape: one `/metrics` scrape at 200 span names.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::figures::{Scale, livetel_pair, per_span};
use crate::measure::{Figure, ab, median};
use crate::metrics_static::otel_metrics_baseline;
use crate::stacks::Livetel;

const OFF: &str = "backend = \"local\"";
const ON: &str = "backend = \"local\"\nmetrics.enabled = true";

/// P1m: per-span cost with span metrics on / off (goal ≤ 1.10).
pub fn cost(s: &Scale) -> Figure {
    let on = Livetel::start(ON, false);
    let off = Livetel::start(OFF, false);
    let m = livetel_pair(s, &on, &off);
    let series = on.tel.refresh_status().metrics.as_ref().map_or(0, |m| m.series);
    let note = format!("metrics on / off, local backend, P1's trees; {series} series");
    Figure::paired("P1m", m, "cpu ns/span", "<= 1.10", note)
}

/// P1m_static: per-span cost of livetel's span metrics (backend `none`: metrics only) / the hand-built static
/// stack recording the same histogram and counters through `opentelemetry_sdk` (goal ≤ 0.5).
pub fn static_cost(s: &Scale) -> Figure {
    let on = Livetel::start("backend = \"none\"\nmetrics.enabled = true", false);
    let (baseline, provider) = otel_metrics_baseline();
    let m = ab(
        s.rounds,
        || per_span(on.dispatch(), s.trees),
        || per_span(&baseline, s.trees),
    );
    drop(provider);
    let what = "vs Registry + EnvFilter + a RED layer on opentelemetry_sdk metrics (histogram + counters)";
    Figure::paired("P1m_static", m, "cpu ns/span", "<= 0.5", what.into())
}

/// P1m_scrape: wall time of one `GET /metrics` (text 0.0.4) at 200 operations × 3 label sets (600 histogram
/// series: one span name with `span_labels = ["op"]`, which costs the scrape what 200 names would), median of
/// `rounds` scrapes (goal ≤ 5 ms).
pub fn scrape_time(rounds: usize) -> Figure {
    let on = Livetel::start(
        "backend = \"none\"\nmetrics.enabled = true\nmetrics.listen = \"127.0.0.1:0\"\nmetrics.max_series = 10000\nmetrics.span_labels = [\"op\"]",
        false,
    );
    tracing::dispatcher::with_default(on.dispatch(), || {
        for name in 0..200 {
            for kind in ["internal", "client", "server"] {
                drop(tracing::info_span!("scrape.op", op = name, otel.kind = kind).entered());
            }
        }
    });
    let status = on.tel.refresh_status();
    let metrics = status.metrics.as_ref().expect("metrics on");
    let addr = metrics.listen.expect("a bound /metrics");
    let series = metrics.series;
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        bytes = scrape(addr).len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Figure::absolute(
        "P1m_scrape",
        median(times),
        "ms/scrape",
        "<= 5",
        format!("{series} label sets, {bytes} bytes of text 0.0.4"),
    )
}

fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect /metrics");
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").expect("request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    out
}

//! `livetel report TRACE.json`: latency per span name, and where the time went.
//!
//! - Percentiles are nearest-rank: for `n` durations sorted ascending, pN is the value at rank
//!   `ceil(N / 100 * n)` (1-based), always a duration that occurred; `max` is p100.
//! - Busy is the time a span was entered (on-CPU on its thread between enter and exit, `args.busy_ns`), idle is
//!   duration − busy; the shares are summed over the name's spans that record busy time.
//! - Class (ACGS-2's ModelProfiler decision in span terms): busy share ≥ 0.8 `cpu-bound`, ≤ 0.2 `io-bound`,
//!   else `mixed`; `unknown` when no span of that name records its busy time (a plain Chrome trace, or a
//!   livetel trace from before busy time was recorded).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::trace::Span;

/// Busy share at or above which a span name is CPU-bound.
pub const CPU_BOUND_FROM: f64 = 0.8;
/// Busy share at or below which a span name is I/O-bound.
pub const IO_BOUND_UNTIL: f64 = 0.2;

/// The figures of one span name; durations in nanoseconds.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Span name.
    pub name: String,
    /// Spans of that name.
    pub count: usize,
    /// Nearest-rank percentiles and the maximum.
    pub p50_ns: u64,
    /// 95th percentile.
    pub p95_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Longest.
    pub max_ns: u64,
    /// Busy time / duration over the spans that record busy time.
    pub busy_share: Option<f64>,
    /// 1 − busy share.
    pub idle_share: Option<f64>,
    /// `cpu-bound`, `io-bound`, `mixed` or `unknown`.
    pub class: &'static str,
}

/// One row per span name, sorted by name.
pub fn rows(spans: &[Span]) -> Vec<Row> {
    let mut by_name: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
    for span in spans {
        by_name.entry(&span.name).or_default().push(span);
    }
    by_name
        .into_iter()
        .map(|(name, spans)| row(name, &spans))
        .collect()
}

fn row(name: &str, spans: &[&Span]) -> Row {
    let mut durations: Vec<u64> = spans.iter().map(|s| s.dur_ns).collect();
    durations.sort_unstable();
    let (busy, total) = spans
        .iter()
        .filter_map(|s| s.busy_ns.map(|b| (b.min(s.dur_ns), s.dur_ns)))
        .fold((0u128, 0u128), |(b, t), (sb, st)| {
            (b + u128::from(sb), t + u128::from(st))
        });
    let with_busy = spans.iter().any(|s| s.busy_ns.is_some());
    let busy_share = with_busy.then(|| {
        if total == 0 {
            1.0
        } else {
            busy as f64 / total as f64
        }
    });
    Row {
        name: name.to_owned(),
        count: spans.len(),
        p50_ns: nearest_rank(&durations, 50),
        p95_ns: nearest_rank(&durations, 95),
        p99_ns: nearest_rank(&durations, 99),
        max_ns: durations.last().copied().unwrap_or(0),
        busy_share,
        idle_share: busy_share.map(|b| 1.0 - b),
        class: class(busy_share),
    }
}

/// The value at rank `ceil(p / 100 * n)` of `sorted` (ascending, non-empty), 0 when empty.
pub fn nearest_rank(sorted: &[u64], p: u32) -> u64 {
    let n = sorted.len();
    let rank = (usize::try_from(p).unwrap_or(100) * n).div_ceil(100).max(1);
    sorted.get(rank.min(n).saturating_sub(1)).copied().unwrap_or(0)
}

/// The class of a busy share.
pub fn class(busy_share: Option<f64>) -> &'static str {
    match busy_share {
        None => "unknown",
        Some(b) if b >= CPU_BOUND_FROM => "cpu-bound",
        Some(b) if b <= IO_BOUND_UNTIL => "io-bound",
        Some(_) => "mixed",
    }
}

/// The rows as an aligned text table (durations in microseconds with nanosecond digits).
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$} {:>8} {:>14} {:>14} {:>14} {:>14} {:>6} {:>6}  class",
        "span", "count", "p50 µs", "p95 µs", "p99 µs", "max µs", "busy", "idle"
    );
    for r in rows {
        let share = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{:.0}%", s * 100.0));
        let _ = writeln!(
            out,
            "{:<width$} {:>8} {:>14} {:>14} {:>14} {:>14} {:>6} {:>6}  {}",
            r.name,
            r.count,
            micros(r.p50_ns),
            micros(r.p95_ns),
            micros(r.p99_ns),
            micros(r.max_ns),
            share(r.busy_share),
            share(r.idle_share),
            r.class
        );
    }
    out
}

fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_an_observed_value() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 50), 50);
        assert_eq!(nearest_rank(&v, 95), 95);
        assert_eq!(nearest_rank(&v, 99), 99);
        assert_eq!(nearest_rank(&[7], 99), 7);
        assert_eq!(nearest_rank(&[1, 2, 3], 50), 2);
        assert_eq!(nearest_rank(&[], 50), 0);
    }

    #[test]
    fn classes_follow_the_thresholds() {
        assert_eq!(class(Some(0.8)), "cpu-bound");
        assert_eq!(class(Some(0.2)), "io-bound");
        assert_eq!(class(Some(0.5)), "mixed");
        assert_eq!(class(None), "unknown");
    }
}

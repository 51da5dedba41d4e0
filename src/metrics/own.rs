//! livetel's own counters on `/metrics`, read from [`Counters`] at scrape time: spans and log records by
//! outcome (exported, dropped and export errors by backend), tail decisions, bytes held for them, console lines
//! dropped, and reloads by outcome. All live in `Counters`, not in a sink or a console, so none goes down when
//! a reload replaces one.

use fastmetrics::encoder::{EncodeMetric, MetricEncoder};
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};
use fastmetrics::registry::{Registry, Unit};

use super::format::{Format, Total};
use crate::config::Backend;
use crate::counters::{BackendCounters, Counters};

/// Registers livetel's own counters, read now.
///
/// # Errors
/// A name fastmetrics refuses (a bug: every name here is fixed and valid).
pub(crate) fn register(
    registry: &mut Registry,
    c: &Counters,
    format: Format,
) -> Result<(), fastmetrics::error::Error> {
    let spans = c.snapshot();
    let logs = c.log_snapshot();
    let traces = c.traces.snapshot();
    let counters: [(&'static str, &'static str, u64); 10] = [
        (
            "livetel_spans_started",
            "Spans created while a backend recorded",
            spans.started,
        ),
        (
            "livetel_spans_sampled_out",
            "Spans of traces the sampler did not keep",
            spans.sampled_out,
        ),
        (
            "livetel_spans_dropped_by_bound",
            "Spans of traces a tail bound dropped whole",
            spans.dropped_by_bound,
        ),
        (
            "livetel_log_records_made",
            "Log records handed to a backend",
            logs.made,
        ),
        (
            "livetel_traces_kept_by_head",
            "Traces kept by the head decision",
            traces.kept_by_head,
        ),
        (
            "livetel_traces_kept_by_error",
            "Traces kept at their tail for an error",
            traces.kept_by_error,
        ),
        (
            "livetel_traces_kept_by_latency",
            "Traces kept at their tail for latency",
            traces.kept_by_latency,
        ),
        (
            "livetel_traces_dropped_by_sampling",
            "Traces not kept",
            traces.dropped_by_sampling,
        ),
        (
            "livetel_traces_dropped_by_bound",
            "Traces a tail bound dropped whole",
            traces.dropped_by_bound,
        ),
        (
            "livetel_console_lines_dropped",
            "Console lines its log file could not take (queue full, write failed)",
            c.console.lines_dropped(),
        ),
    ];
    for (name, help, value) in counters {
        registry.register(format.counter(name), help, Total(value))?;
    }
    let by_backend: [(&'static str, &'static str, ReadBackend); 5] = [
        (
            "livetel_spans_exported",
            "Spans written or accepted, by backend",
            |b| b.spans_exported.get(),
        ),
        (
            "livetel_spans_dropped",
            "Spans a backend could not take, by backend",
            |b| b.spans_dropped.get(),
        ),
        (
            "livetel_log_records_exported",
            "Log records written or accepted, by backend",
            |b| b.logs_exported.get(),
        ),
        (
            "livetel_log_records_dropped",
            "Log records a backend could not take, by backend",
            |b| b.logs_dropped.get(),
        ),
        (
            "livetel_export_errors",
            "Failed writes or export attempts, retried or not, by backend",
            |b| b.export_errors.get(),
        ),
    ];
    for (name, help, read) in by_backend {
        let values = ByLabel("backend", RECORDING.map(|b| (b.as_str(), read(c.backend(b)))));
        registry.register(format.counter(name), help, values)?;
    }
    let r = &c.reloads;
    let reloads = ByLabel(
        "outcome",
        [
            ("applied", r.applied.get()),
            ("unchanged", r.unchanged.get()),
            ("rejected", r.rejected.get()),
        ],
    );
    let help = "Reload attempts since start-up, by outcome";
    registry.register(format.counter("livetel_reloads"), help, reloads)?;
    let held = i64::try_from(traces.buffered_bytes).unwrap_or(i64::MAX);
    let help = "Estimated bytes of the spans held for tail decisions";
    registry.register_with_unit("livetel_tail_held", help, Unit::Bytes, Level(held))?;
    Ok(())
}

/// Reads one figure of a backend's counters.
type ReadBackend = fn(&BackendCounters) -> u64;

/// The backends whose sinks record (`none` has none).
const RECORDING: [Backend; 2] = [Backend::Local, Backend::Otlp];

/// A counter with one series per value of one label (`outcome`, `backend`).
struct ByLabel<const N: usize>(&'static str, [(&'static str, u64); N]);

impl<const N: usize> TypedMetric for ByLabel<N> {
    const TYPE: MetricType = MetricType::Counter;
}

impl<const N: usize> MetricLabelSet for ByLabel<N> {
    type LabelSet = ();
}

impl<const N: usize> EncodeMetric for ByLabel<N> {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (value, n) in self.1 {
            encoder.encode(&[(self.0, value)], &Total(n))?;
        }
        Ok(())
    }
}

/// A gauge's value.
struct Level(i64);

impl TypedMetric for Level {
    const TYPE: MetricType = MetricType::Gauge;
}

impl MetricLabelSet for Level {
    type LabelSet = ();
}

impl EncodeMetric for Level {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode_gauge(&self.0)
    }
}

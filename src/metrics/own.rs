//! livetel's own counters on `/metrics`, read from [`Counters`] at scrape time: spans and log records by
//! outcome, tail decisions, bytes held for them, and reloads by outcome.

use fastmetrics::encoder::{EncodeMetric, MetricEncoder};
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};
use fastmetrics::registry::{Registry, Unit};

use super::format::{Format, Total};
use crate::counters::Counters;

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
    let counters: [(&'static str, &'static str, u64); 13] = [
        (
            "livetel_spans_started",
            "Spans created while a backend recorded",
            spans.started,
        ),
        (
            "livetel_spans_exported",
            "Spans written or accepted by their backend",
            spans.exported,
        ),
        (
            "livetel_spans_dropped",
            "Spans a backend could not take",
            spans.dropped,
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
            "livetel_log_records_exported",
            "Log records written or accepted",
            logs.exported,
        ),
        (
            "livetel_log_records_dropped",
            "Log records a backend could not take",
            logs.dropped,
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
    ];
    for (name, help, value) in counters {
        registry.register(format.counter(name), help, Total(value))?;
    }
    let r = &c.reloads;
    let reloads = Reloads([
        ("applied", r.applied.get()),
        ("unchanged", r.unchanged.get()),
        ("rejected", r.rejected.get()),
    ]);
    let help = "Reload attempts since start-up, by outcome";
    registry.register(format.counter("livetel_reloads"), help, reloads)?;
    let held = i64::try_from(traces.buffered_bytes).unwrap_or(i64::MAX);
    let help = "Estimated bytes of the spans held for tail decisions";
    registry.register_with_unit("livetel_tail_held", help, Unit::Bytes, Level(held))?;
    Ok(())
}

/// `livetel_reloads_total`, one series per outcome.
struct Reloads([(&'static str, u64); 3]);

impl TypedMetric for Reloads {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for Reloads {
    type LabelSet = ();
}

impl EncodeMetric for Reloads {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (outcome, n) in self.0 {
            encoder.encode(&[("outcome", outcome)], &Total(n))?;
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

//! livetel's own counters, read from [`Counters`] when `/metrics` is scraped or an OTLP export is built: spans
//! and log records by outcome (exported, dropped and export errors by backend), tail decisions, bytes held for
//! them, console lines dropped, reloads by outcome, spans over their time budget by span name (once a name is
//! budgeted), and OTLP metric exports by outcome. All live in `Counters`, not in a sink, a console, a hook or an
//! exporter, so none goes down when a reload replaces one.
//!
//! One table ([`counters`]) serves both outputs: its names are OpenTelemetry's (`livetel.spans.started`), and
//! `/metrics` writes each with `_` for `.` and `_total` added (`livetel_spans_started_total`), as
//! OpenTelemetry's Prometheus translation does.

use fastmetrics::encoder::{EncodeMetric, MetricEncoder};
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};
use fastmetrics::registry::{Registry, Unit};

use super::format::{Format, Total};
use crate::config::Backend;
use crate::counters::{BackendCounters, Counters};

/// One of livetel's own counters, read now.
pub(crate) struct Own {
    /// Its OpenTelemetry name (`livetel.spans.started`).
    pub(crate) name: &'static str,
    /// Its OTLP unit (an annotation: Prometheus names leave it out).
    pub(crate) unit: &'static str,
    pub(crate) help: &'static str,
    pub(crate) series: Series,
}

/// The values of a counter.
pub(crate) enum Series {
    /// One value, no label.
    One(u64),
    /// One value per value of a label (`backend`, `outcome`, `span_name`).
    By(&'static str, Vec<(String, u64)>),
}

/// Help of the gauge of bytes held for tail decisions (`livetel.tail.held`, unit `By`; [`held_bytes`]).
pub(crate) const HELD_HELP: &str = "Estimated bytes of the spans held for tail decisions";

/// The bytes held for tail decisions now.
pub(crate) fn held_bytes(c: &Counters) -> u64 {
    c.traces.snapshot().buffered_bytes
}

/// livetel's own counters, read now.
pub(crate) fn counters(c: &Counters) -> Vec<Own> {
    let spans = c.snapshot();
    let logs = c.log_snapshot();
    let traces = c.traces.snapshot();
    let export = c.metrics_export.snapshot();
    let one = |name, unit, help, value| Own {
        name,
        unit,
        help,
        series: Series::One(value),
    };
    let by_backend = |name, unit, help, read: ReadBackend| Own {
        name,
        unit,
        help,
        series: Series::By(
            "backend",
            RECORDING
                .iter()
                .map(|b| (b.as_str().to_owned(), read(c.backend(*b))))
                .collect(),
        ),
    };
    let r = &c.reloads;
    let mut all = vec![
        one(
            "livetel.spans.started",
            "{span}",
            "Spans created while a backend recorded",
            spans.started,
        ),
        one(
            "livetel.spans.sampled_out",
            "{span}",
            "Spans of traces the sampler did not keep",
            spans.sampled_out,
        ),
        one(
            "livetel.spans.dropped_by_bound",
            "{span}",
            "Spans of traces a tail bound dropped whole",
            spans.dropped_by_bound,
        ),
        one(
            "livetel.span_events.dropped",
            "{event}",
            "Span events not held with their span (at most 128 a span)",
            spans.events_dropped,
        ),
        one(
            "livetel.log_records.made",
            "{record}",
            "Log records handed to a backend",
            logs.made,
        ),
        one(
            "livetel.traces.kept_by_head",
            "{trace}",
            "Traces kept by the head decision",
            traces.kept_by_head,
        ),
        one(
            "livetel.traces.kept_by_error",
            "{trace}",
            "Traces kept at their tail for an error",
            traces.kept_by_error,
        ),
        one(
            "livetel.traces.kept_by_latency",
            "{trace}",
            "Traces kept at their tail for latency",
            traces.kept_by_latency,
        ),
        one(
            "livetel.traces.dropped_by_sampling",
            "{trace}",
            "Traces not kept",
            traces.dropped_by_sampling,
        ),
        one(
            "livetel.traces.dropped_by_bound",
            "{trace}",
            "Traces a tail bound dropped whole",
            traces.dropped_by_bound,
        ),
        one(
            "livetel.console.lines_dropped",
            "{line}",
            "Console lines its log file could not take (queue full, write failed)",
            c.console.lines_dropped(),
        ),
        by_backend(
            "livetel.spans.exported",
            "{span}",
            "Spans written or accepted, by backend",
            |b| b.spans_exported.get(),
        ),
        by_backend(
            "livetel.spans.dropped",
            "{span}",
            "Spans a backend could not take, by backend",
            |b| b.spans_dropped.get(),
        ),
        by_backend(
            "livetel.log_records.exported",
            "{record}",
            "Log records written or accepted, by backend",
            |b| b.logs_exported.get(),
        ),
        by_backend(
            "livetel.log_records.dropped",
            "{record}",
            "Log records a backend could not take, by backend",
            |b| b.logs_dropped.get(),
        ),
        by_backend(
            "livetel.export_errors",
            "{error}",
            "Failed writes or export attempts, retried or not, by backend",
            |b| b.export_errors.get(),
        ),
        Own {
            name: "livetel.reloads",
            unit: "{reload}",
            help: "Reload attempts since start-up, by outcome",
            series: Series::By(
                "outcome",
                vec![
                    ("applied".to_owned(), r.applied.get()),
                    ("unchanged".to_owned(), r.unchanged.get()),
                    ("rejected".to_owned(), r.rejected.get()),
                ],
            ),
        },
        one(
            "livetel.metrics.points_exported",
            "{point}",
            "Metric points the OTLP collector accepted",
            export.points_exported,
        ),
        one(
            "livetel.metrics.points_dropped",
            "{point}",
            "Metric points of OTLP exports given up",
            export.points_dropped,
        ),
        one(
            "livetel.metrics.exports_failed",
            "{export}",
            "OTLP metric exports given up after their retries",
            export.exports_failed,
        ),
    ];
    all.extend(budgets(c));
    all
}

/// `livetel.budget.soft_exceeded` and `livetel.budget.exceeded` by `span_name`, once some name is budgeted.
fn budgets(c: &Counters) -> Vec<Own> {
    let budgets = c.budgets.snapshot();
    if budgets.is_empty() {
        return Vec::new();
    }
    let soft = budgets.iter().map(|(n, s, _)| (n.clone(), *s)).collect();
    let exceeded = budgets.into_iter().map(|(n, _, e)| (n, e)).collect();
    vec![
        Own {
            name: "livetel.budget.soft_exceeded",
            unit: "{span}",
            help: "Spans that closed past the soft limit of their time budget, within it, by span name",
            series: Series::By("span_name", soft),
        },
        Own {
            name: "livetel.budget.exceeded",
            unit: "{span}",
            help: "Spans that closed past their time budget, by span name",
            series: Series::By("span_name", exceeded),
        },
    ]
}

/// Registers livetel's own counters, read now.
///
/// # Errors
/// A name fastmetrics refuses (a bug: every name here is fixed and valid).
pub(crate) fn register(
    registry: &mut Registry,
    c: &Counters,
    format: Format,
) -> Result<(), fastmetrics::error::Error> {
    for own in counters(c) {
        let name = format.counter(&own.name.replace('.', "_"));
        match own.series {
            Series::One(value) => registry.register(name, own.help, Total(value))?,
            Series::By(label, values) => registry.register(name, own.help, ByLabel(label, values))?,
        };
    }
    let held = i64::try_from(held_bytes(c)).unwrap_or(i64::MAX);
    registry.register_with_unit("livetel_tail_held", HELD_HELP, Unit::Bytes, Level(held))?;
    Ok(())
}

/// Reads one figure of a backend's counters.
type ReadBackend = fn(&BackendCounters) -> u64;

/// The backends whose sinks record (`none` has none).
const RECORDING: [Backend; 2] = [Backend::Local, Backend::Otlp];

/// A counter with one series per value of one label (`outcome`, `backend`).
struct ByLabel(&'static str, Vec<(String, u64)>);

impl TypedMetric for ByLabel {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for ByLabel {
    type LabelSet = ();
}

impl EncodeMetric for ByLabel {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (value, n) in &self.1 {
            encoder.encode(&[(self.0, value.as_str())], &Total(*n))?;
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

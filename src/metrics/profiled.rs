//! Profiling's figures on `/metrics`, read from [`Counters`] at scrape time while profiling is on: the process's
//! last sample as gauges (`process_memory_rss_bytes`, `process_cpu_utilization`, `process_thread_count`,
//! `process_open_file_descriptor_count`), and the cost summed per `agent.name` / `session.id` as counters with
//! the labels `attribute` (the field) and `value` (`livetel_attributed_{spans,cpu_microseconds,allocations,
//! alloc_bytes}_total`; the overflow row has `attribute="*"`).

use fastmetrics::encoder::{EncodeMetric, MetricEncoder};
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};
use fastmetrics::registry::{Registry, Unit};

use super::format::{Format, Total};
use crate::counters::Counters;
use crate::figures::Attributed;

/// Registers profiling's figures, read now, when profiling is on.
///
/// # Errors
/// A name fastmetrics refuses (a bug: every name here is fixed and valid).
pub(crate) fn register(
    registry: &mut Registry,
    c: &Counters,
    format: Format,
) -> Result<(), fastmetrics::error::Error> {
    let figures = &c.figures;
    if !figures.published() {
        return Ok(());
    }
    if let Some(p) = figures.process.last() {
        let help = "Resident memory of the process (process.memory.rss)";
        registry.register_with_unit(
            "process_memory_rss",
            help,
            Unit::Bytes,
            Gauge(p.memory_rss as f64),
        )?;
        let help = "CPU used by the process over wall time and cores since the previous sample";
        registry.register("process_cpu_utilization", help, Gauge(p.cpu_utilization))?;
        let help = "Threads of the process";
        registry.register("process_thread_count", help, Gauge(p.thread_count as f64))?;
        let help = "File descriptors the process holds open";
        let fds = Gauge(p.open_file_descriptors as f64);
        registry.register("process_open_file_descriptor_count", help, fds)?;
    }
    let rows = figures.attribution.rows(None);
    if rows.is_empty() {
        return Ok(());
    }
    let families: [Family; 4] = [
        (
            "livetel_attributed_spans",
            "Spans carrying the attribute's value",
            |r| r.spans,
        ),
        (
            "livetel_attributed_cpu_microseconds",
            "Thread CPU time while those spans were entered",
            |r| r.cpu_micros,
        ),
        (
            "livetel_attributed_allocations",
            "Allocations while those spans were entered",
            |r| r.alloc_count,
        ),
        (
            "livetel_attributed_alloc_bytes",
            "Bytes allocated while those spans were entered",
            |r| r.alloc_bytes,
        ),
    ];
    for (name, help, value) in families {
        let series = PerValue(
            rows.iter()
                .map(|r| (r.field, r.value.clone(), value(r)))
                .collect(),
        );
        registry.register(format.counter(name), help, series)?;
    }
    Ok(())
}

/// A counter family of the attribution table: its name, help, and which figure of a row it counts.
type Family = (&'static str, &'static str, fn(&Attributed) -> u64);

/// A gauge's value.
struct Gauge(f64);

impl TypedMetric for Gauge {
    const TYPE: MetricType = MetricType::Gauge;
}

impl MetricLabelSet for Gauge {
    type LabelSet = ();
}

impl EncodeMetric for Gauge {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode_gauge(&self.0)
    }
}

/// One counter series per attributed value.
struct PerValue(Vec<(&'static str, String, u64)>);

impl TypedMetric for PerValue {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for PerValue {
    type LabelSet = ();
}

impl EncodeMetric for PerValue {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (field, value, n) in &self.0 {
            encoder.encode(&[("attribute", *field), ("value", value.as_str())], &Total(*n))?;
        }
        Ok(())
    }
}

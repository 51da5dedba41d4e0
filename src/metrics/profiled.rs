//! Profiling's figures on `/metrics`, read from [`Counters`] at scrape time while profiling is on: the process's
//! last sample as gauges (`process_memory_rss_bytes`, `process_cpu_utilization`, `process_threads`,
//! `process_open_fds`: the semantic conventions' `process.thread.count` and `process.open_file_descriptor.count`
//! under the names Prometheus' own process collector uses, as promtool's lint asks), the cost summed per
//! `agent.name` / `session.id` as counters with the labels `attribute` (the field) and `value`
//! (`livetel_attributed_{spans,cpu_seconds,allocations,alloc_bytes}_total`; the overflow row has
//! `attribute="*"`), and the instrumented channels' counts (`livetel_channel_*`, label `channel`).

use fastmetrics::encoder::{EncodeMetric, MetricEncoder};
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};
use fastmetrics::registry::{Registry, Unit};

use super::format::{Format, Total};
use crate::counters::Counters;
use crate::figures::{Attributed, ChannelCounts};

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
        registry.register_with_unit("process_memory_rss", help, Unit::Bytes, Count(p.memory_rss))?;
        let help = "CPU used by the process over wall time and cores since the previous sample (process.cpu.utilization)";
        registry.register("process_cpu_utilization", help, Gauge(p.cpu_utilization))?;
        let help = "Threads of the process (process.thread.count)";
        registry.register("process_threads", help, Count(p.thread_count))?;
        let help = "File descriptors the process holds open (process.open_file_descriptor.count)";
        let fds = Count(p.open_file_descriptors);
        registry.register("process_open_fds", help, fds)?;
    }
    register_channels(registry, &figures.channels.counts(), format)?;
    let rows = figures.attribution.rows(None);
    if rows.is_empty() {
        return Ok(());
    }
    let families: [Family<Attributed>; 4] = [
        (
            "livetel_attributed_spans",
            "Spans carrying the attribute's value",
            |r| r.spans,
        ),
        (
            "livetel_attributed_cpu_seconds",
            "Thread CPU time while those spans were entered (from microseconds)",
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
        let series = rows
            .iter()
            .map(|r| {
                let labels = vec![("attribute", r.field.to_owned()), ("value", r.value.clone())];
                (labels, value(r))
            })
            .collect();
        let micros = name.ends_with("_seconds");
        registry.register(format.counter(name), help, Totals { rows: series, micros })?;
    }
    Ok(())
}

/// The instrumented channels' counts: one series per channel, label `channel`.
fn register_channels(
    registry: &mut Registry,
    channels: &[ChannelCounts],
    format: Format,
) -> Result<(), fastmetrics::error::Error> {
    if channels.is_empty() {
        return Ok(());
    }
    let counters: [Family<ChannelCounts>; 5] = [
        ("livetel_channel_sent", "Send attempts (channel.sent)", |c| c.sent),
        (
            "livetel_channel_received",
            "Values received (channel.received)",
            |c| c.received,
        ),
        (
            "livetel_channel_dropped",
            "Values that never reached a receiver (channel.dropped)",
            |c| c.dropped,
        ),
        (
            "livetel_channel_backpressure_waits",
            "Sends that waited for room",
            |c| c.backpressure_waits,
        ),
        (
            "livetel_channel_backpressure_latency_seconds",
            "Time sends waited for room (channel.backpressure_latency_us, in seconds)",
            |c| c.backpressure_latency_us,
        ),
    ];
    let per = |value: fn(&ChannelCounts) -> u64| -> Rows {
        channels
            .iter()
            .map(|c| (vec![("channel", c.name.to_owned())], value(c)))
            .collect()
    };
    for (name, help, value) in counters {
        let (rows, micros) = (per(value), name.ends_with("_seconds"));
        registry.register(format.counter(name), help, Totals { rows, micros })?;
    }
    let help = "Values queued now (channel.queue_depth)";
    let depths = Levels(per(|c| c.queue_depth));
    registry.register("livetel_channel_queue_depth", help, depths)?;
    Ok(())
}

/// A counter family: its name, help, and which figure of a row it counts.
type Family<R> = (&'static str, &'static str, fn(&R) -> u64);

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

/// A counter in seconds.
struct Seconds(f64);

impl TypedMetric for Seconds {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for Seconds {
    type LabelSet = ();
}

impl EncodeMetric for Seconds {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode_counter(&self.0, None, None)
    }
}

/// A gauge's whole value (a size, a count).
struct Count(u64);

impl TypedMetric for Count {
    const TYPE: MetricType = MetricType::Gauge;
}

impl MetricLabelSet for Count {
    type LabelSet = ();
}

impl EncodeMetric for Count {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode_gauge(&i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

/// Label sets, each with its value.
type Rows = Vec<(Vec<(&'static str, String)>, u64)>;

/// A counter family: one series per label set; `micros`: the figures are microseconds, served as seconds.
struct Totals {
    rows: Rows,
    micros: bool,
}

impl TypedMetric for Totals {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for Totals {
    type LabelSet = ();
}

impl EncodeMetric for Totals {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (labels, n) in &self.rows {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if self.micros {
                encoder.encode(&labels, &Seconds(*n as f64 / 1e6))?;
            } else {
                encoder.encode(&labels, &Total(*n))?;
            }
        }
        Ok(())
    }
}

/// A gauge family: one series per label set.
struct Levels(Rows);

impl TypedMetric for Levels {
    const TYPE: MetricType = MetricType::Gauge;
}

impl MetricLabelSet for Levels {
    type LabelSet = ();
}

impl EncodeMetric for Levels {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (labels, n) in &self.0 {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            encoder.encode(&labels, &Count(*n))?;
        }
        Ok(())
    }
}

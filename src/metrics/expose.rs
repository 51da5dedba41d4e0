//! `/metrics` bodies: the store (and livetel's own counters) written by fastmetrics, in Prometheus text 0.0.4
//! or OpenMetrics 1.0 (with exemplars).
//!
//! Each scrape builds a small fastmetrics `Registry` of adapters that read the store as it is then; nothing is
//! copied into fastmetrics' own metric types, so the hot path never touches them. Counter names differ by
//! format: fastmetrics adds `_total` to a counter's samples in OpenMetrics (and names the family without it, as
//! the format wants), and adds nothing in 0.0.4, where the family itself must end in `_total`.

use std::sync::Arc;

use fastmetrics::encoder::{
    EncodeExemplar, EncodeLabelSet, EncodeMetric, ExemplarEncoder, LabelSetEncoder, MetricEncoder,
};
use fastmetrics::format::text;
use fastmetrics::raw::bucket::Bucket;
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};
use fastmetrics::registry::{Registry, Unit};

use super::format::{Format, Total};
use super::store::{Exemplar, Labels, Series, Snapshot, Store};
use crate::counters::Counters;

/// The body of a scrape.
///
/// # Errors
/// A name or value fastmetrics refuses (a bug: every name here is fixed and valid).
pub(crate) fn render(
    store: &Store,
    counters: Option<&Counters>,
    format: Format,
) -> Result<String, fastmetrics::error::Error> {
    let series: Arc<[(Arc<Series>, Snapshot)]> = store
        .all()
        .into_iter()
        .map(|s| {
            let snap = s.snapshot();
            (s, snap)
        })
        .collect();
    let mut registry = Registry::default();
    let durations = Durations {
        series: Arc::clone(&series),
        bounds: store.bounds().into(),
    };
    let help = "Duration of spans, by span name, kind and status";
    registry.register_with_unit("livetel_span_duration", help, Unit::Seconds, durations)?;
    let calls = Counts {
        series: Arc::clone(&series),
        errors_only: false,
    };
    let help = "Spans closed, by span name, kind and status";
    registry.register(format.counter("livetel_span_calls"), help, calls)?;
    let errors = Counts {
        series,
        errors_only: true,
    };
    let help = "Spans closed in error, by span name and kind";
    registry.register(format.counter("livetel_span_errors"), help, errors)?;
    if let Some(c) = counters {
        super::own::register(&mut registry, c, format)?;
        #[cfg(feature = "profiling")]
        super::profiled::register(&mut registry, c, format)?;
    }
    let mut body = String::with_capacity(4096);
    text::encode(&mut body, &registry, format.profile())?;
    Ok(body)
}

/// `livetel_span_duration_seconds`: one histogram per series, with exemplars in OpenMetrics.
struct Durations {
    series: Arc<[(Arc<Series>, Snapshot)]>,
    bounds: Box<[f64]>,
}

impl TypedMetric for Durations {
    const TYPE: MetricType = MetricType::Histogram;
}

impl MetricLabelSet for Durations {
    type LabelSet = ();
}

impl EncodeMetric for Durations {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (series, snap) in self.series.iter() {
            encoder.encode(
                &SeriesLabels(series.labels.as_ref()),
                &OneHistogram(snap, &self.bounds),
            )?;
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// One series' histogram.
struct OneHistogram<'a>(&'a Snapshot, &'a [f64]);

impl EncodeMetric for OneHistogram<'_> {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        let (snap, bounds) = (self.0, self.1);
        let buckets: Vec<Bucket> = bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(&snap.buckets)
            .map(|(le, n)| Bucket::new(le, *n))
            .collect();
        let exemplars: Vec<Option<TraceRef>> = snap.exemplars.iter().map(|e| e.map(TraceRef)).collect();
        let refs: Vec<Option<&dyn EncodeExemplar>> = exemplars
            .iter()
            .map(|e| e.as_ref().map(|e| e as &dyn EncodeExemplar))
            .collect();
        let sum = snap.sum_ns as f64 / 1e9;
        encoder.encode_histogram(&buckets, Some(&refs), snap.count, sum, None)
    }
}

/// `livetel_span_calls_total` (every series) or `livetel_span_errors_total` (the `status="error"` ones).
struct Counts {
    series: Arc<[(Arc<Series>, Snapshot)]>,
    errors_only: bool,
}

impl Counts {
    fn rows(&self) -> impl Iterator<Item = &(Arc<Series>, Snapshot)> {
        let errors_only = self.errors_only;
        self.series
            .iter()
            .filter(move |(s, _)| !errors_only || s.labels.as_ref().is_some_and(|l| l.error))
    }
}

impl TypedMetric for Counts {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for Counts {
    type LabelSet = ();
}

impl EncodeMetric for Counts {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        for (series, snap) in self.rows() {
            let labels = SeriesLabels(series.labels.as_ref());
            let labels: &dyn EncodeLabelSet = match self.errors_only {
                true => &NoStatus(labels),
                false => &labels,
            };
            encoder.encode(labels, &Total(snap.count))?;
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.rows().next().is_none()
    }
}

/// A series' labels on `/metrics` (`None`: the overflow series).
#[derive(Clone, Copy)]
struct SeriesLabels<'a>(Option<&'a Labels>);

impl SeriesLabels<'_> {
    fn write(&self, enc: &mut dyn LabelSetEncoder, status: bool) -> fastmetrics::error::Result<()> {
        let Some(l) = self.0 else {
            return enc.encode(&("otel_metric_overflow", "true"));
        };
        enc.encode(&("span_name", l.span_name))?;
        enc.encode(&("otel_kind", l.kind.as_str()))?;
        if status {
            enc.encode(&("status", if l.error { "error" } else { "ok" }))?;
        }
        enc.encode(&("service_name", &*l.service))?;
        for (name, value) in l.extra.iter() {
            enc.encode(&(&**name, value.as_str()))?;
        }
        Ok(())
    }
}

impl EncodeLabelSet for SeriesLabels<'_> {
    fn encode(&self, enc: &mut dyn LabelSetEncoder) -> fastmetrics::error::Result<()> {
        self.write(enc, true)
    }
}

/// The labels of an error counter: its status is always `error`, so it is left out.
struct NoStatus<'a>(SeriesLabels<'a>);

impl EncodeLabelSet for NoStatus<'_> {
    fn encode(&self, enc: &mut dyn LabelSetEncoder) -> fastmetrics::error::Result<()> {
        self.0.write(enc, false)
    }
}

/// An exemplar: the trace and span ids of a recent sampled span of the bucket, and its duration.
struct TraceRef(Exemplar);

impl EncodeExemplar for TraceRef {
    fn encode(&self, encoder: &mut dyn ExemplarEncoder) -> fastmetrics::error::Result<()> {
        let trace_id = format!("{:032x}", self.0.trace_id);
        let span_id = format!("{:016x}", self.0.span_id);
        let labels = [("trace_id", trace_id.as_str()), ("span_id", span_id.as_str())];
        encoder.encode(&labels, self.0.duration_ns as f64 / 1e9, None)
    }
}

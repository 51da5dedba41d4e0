//! P1m_static's baseline: what a user hand-builds for span RED metrics from the same crates, statically — a
//! `Layer` on `Registry` + `EnvFilter` that times each span and, when it closes, records its duration in an
//! `opentelemetry_sdk` histogram (seconds, livetel's default bounds) and adds one to a call counter (and an
//! error counter when it ended in error), with the labels livetel uses: span name, `otel.kind`, status,
//! `service.name`. The provider's reader is a `PeriodicReader` whose interval is an hour, to an exporter that
//! drops what it gets: no export in the measured path, as livetel's side serves `/metrics` only when scraped.

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// livetel's default duration buckets, in seconds.
const BOUNDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The hand-built RED layer.
struct SpanMetrics {
    duration: Histogram<f64>,
    calls: Counter<u64>,
    errors: Counter<u64>,
    service: KeyValue,
}

/// What the layer keeps per span: its start, `otel.kind`, whether it ended in error.
struct Timing {
    start: Instant,
    kind: Option<String>,
    error: bool,
}

impl Visit for Timing {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "otel.kind" => self.kind = Some(value.to_owned()),
            "otel.status_code" => self.error |= value == "ERROR",
            "error" => self.error = true,
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, _: &dyn std::fmt::Debug) {
        if field.name() == "error" {
            self.error = true;
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanMetrics {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut timing = Timing {
            start: Instant::now(),
            kind: None,
            error: false,
        };
        attrs.record(&mut timing);
        span.extensions_mut().insert(timing);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(timing) = span.extensions_mut().get_mut::<Timing>()
        {
            values.record(timing);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(timing) = ext.get::<Timing>() else {
            return;
        };
        let attrs = [
            KeyValue::new("span_name", span.name()),
            KeyValue::new(
                "otel_kind",
                timing.kind.clone().unwrap_or_else(|| "internal".into()),
            ),
            KeyValue::new("status", if timing.error { "error" } else { "ok" }),
            self.service.clone(),
        ];
        self.duration.record(timing.start.elapsed().as_secs_f64(), &attrs);
        self.calls.add(1, &attrs);
        if timing.error {
            self.errors.add(1, &attrs);
        }
    }
}

/// Registry + EnvFilter (`info`) + the RED layer, and the provider that holds the instruments.
pub fn otel_metrics_baseline() -> (Dispatch, SdkMeterProvider) {
    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(Discard)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let meter = provider.meter("bench");
    let layer = SpanMetrics {
        duration: meter
            .f64_histogram("livetel.span.duration")
            .with_unit("s")
            .with_boundaries(BOUNDS.to_vec())
            .build(),
        calls: meter.u64_counter("livetel.span.calls").build(),
        errors: meter.u64_counter("livetel.span.errors").build(),
        service: KeyValue::new("service_name", "bench"),
    };
    let subscriber = Registry::default().with(EnvFilter::new("info")).with(layer);
    (Dispatch::new(subscriber), provider)
}

/// An exporter that drops what it is given.
struct Discard;

impl PushMetricExporter for Discard {
    async fn export(&self, _: &ResourceMetrics) -> OTelSdkResult {
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

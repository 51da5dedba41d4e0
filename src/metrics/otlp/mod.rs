//! OTLP metrics: the store and livetel's own counters, sent to the `otlp` backend's collector every
//! `[telemetry.metrics] export_interval_ms`, live.
//!
//! While `otlp` is among the backends and metrics are on, an [`Exporter`] sends one
//! `ExportMetricsServiceRequest` per interval to the backend's endpoint with the vault's headers: over gRPC with
//! tonic's generated `MetricsService` client (to the endpoint itself), over HTTP/protobuf as a `POST` to
//! `/v1/metrics`, derived from the traces URL as for logs (`http://host:4318` and `http://host:4318/v1/traces`
//! both give `http://host:4318/v1/metrics`). Histograms carry each bucket's exemplar (trace and span id, value,
//! time); sums are monotonic; the resource has `service.name`, `service.version` and `[telemetry.resource]`.
//! Names and attributes: [`points`]; the worker, its bounds and its stop: [`exporter`].
//!
//! **Temporality.** `cumulative` (the default): every point counts since the process began, with that start
//! time; since the store is never reset, a reload never resets a point. `delta`: each point is the change since
//! the last export the collector accepted, with that export's time as its start ([`delta`]); the store itself
//! stays cumulative, so `/metrics` and a later switch back are unaffected. Changing `temporality`,
//! `export_interval_ms` or anything of `[telemetry.otlp]` replaces the exporter on the next reload and resets
//! nothing; the traces signal is not rebuilt for a metrics key.
//!
//! # Why not OpenTelemetry's SDK
//! Weighed for this output:
//! - `opentelemetry_sdk` 0.33 metrics with `opentelemetry-otlp`'s `MetricExporter`: every aggregator writes
//!   `exemplars: vec![]` (opentelemetry-rust #3369), so no bucket would link to a trace; each instrument is tied
//!   to the provider that made it (a provider per reload resets every counter, as Apollo Router's metrics notes
//!   warn); and its `ResourceMetrics` cannot be built from outside the SDK, so our never-reset store could not
//!   be handed to the exporter without recording every span a second time into SDK instruments (the per-span
//!   cost the store's design avoids).
//! - `opentelemetry-prometheus` 0.33.1: a pull exporter over the SDK (same provider lifetime), no exemplars, no
//!   OTLP.
//! - `prometheus-client` 0.26 and `fastmetrics` 0.7: exposition formats for `/metrics` (fastmetrics writes it,
//!   see [`crate::metrics`]); neither speaks OTLP.
//!
//! So the messages are `opentelemetry-proto` 0.33's (the official protos, prost-generated), filled from the
//! store at export time; nothing here writes protobuf by hand.
//!
//! # Limits
//! - An exporter replaced by a newer one makes no final export: the newer one carries every count on.
//! - Over gRPC and HTTP alike, TLS is what the crate's tonic and reqwest builds have (none by default): the same
//!   as the span exporter's.

mod delta;
mod exporter;
mod points;
mod transport;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use exporter::Exporter;

use crate::config::{Backend, OtlpProtocol, TelemetryConfig, Temporality};
use crate::counters::Counters;
use crate::vault::SecretHeaders;

/// What an exporter is built from: a reload that changes any of it makes a new exporter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) protocol: OtlpProtocol,
    /// The collector's address (gRPC) or the `/v1/metrics` URL (HTTP).
    pub(crate) url: String,
    pub(crate) timeout: Duration,
    pub(crate) interval: Duration,
    pub(crate) temporality: Temporality,
    /// Resource attributes, `service.name` first.
    pub(crate) resource: Vec<(String, String)>,
    /// `span_labels` (the store holds their label names; points are named by the fields).
    pub(crate) span_labels: Vec<String>,
    pub(crate) headers: Option<SecretHeaders>,
}

impl Settings {
    /// What `cfg` asks for, when `otlp` is among its backends.
    pub(crate) fn of(cfg: &TelemetryConfig, headers: Option<&SecretHeaders>) -> Option<Settings> {
        if !cfg.backend.contains(Backend::Otlp) {
            return None;
        }
        let mut resource = vec![("service.name".to_owned(), cfg.service_name.clone())];
        if let Some(v) = &cfg.service_version {
            resource.push(("service.version".to_owned(), v.clone()));
        }
        resource.extend(
            cfg.resource
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "service.name" | "service.version"))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let protocol = cfg.otlp.protocol;
        Some(Settings {
            protocol,
            url: crate::sinks::otlp::signal_url(&cfg.otlp.traces_url(), protocol, "metrics"),
            timeout: Duration::from_millis(cfg.otlp.timeout_ms),
            interval: Duration::from_millis(cfg.metrics.export_interval_ms),
            temporality: cfg.metrics.temporality,
            resource,
            span_labels: cfg.metrics.span_labels.clone(),
            headers: headers.cloned(),
        })
    }
}

/// What every exporter of one `Telemetry` shares: the counters, the delta baseline, which exporters are alive,
/// the last error. Lives as long as the metrics signal.
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    /// Held through each export, so exporters never interleave a build and its acceptance.
    baseline: tokio::sync::Mutex<delta::Baseline>,
    next_seq: AtomicU64,
    alive: Mutex<BTreeSet<u64>>,
    last_error: Mutex<Option<String>>,
    /// Unix nanoseconds when counting began: the start time of cumulative points.
    start_ns: u64,
}

impl Shared {
    /// Shared state counting into `counters`.
    pub(crate) fn new(counters: Arc<Counters>) -> Shared {
        Shared {
            counters,
            baseline: tokio::sync::Mutex::new(delta::Baseline::default()),
            next_seq: AtomicU64::new(0),
            alive: Mutex::new(BTreeSet::new()),
            last_error: Mutex::new(None),
            start_ns: points::unix_now_ns(),
        }
    }

    /// The last export's error, if it failed.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    fn note_error(&self, error: Option<String>) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error;
        }
    }

    /// True when an exporter made after `seq` is alive: it exports, `seq` does not.
    fn superseded(&self, seq: u64) -> bool {
        self.alive
            .lock()
            .is_ok_and(|a| a.last().is_some_and(|&newest| newest > seq))
    }

    fn forget(&self, seq: u64) {
        if let Ok(mut alive) = self.alive.lock() {
            alive.remove(&seq);
        }
    }
}

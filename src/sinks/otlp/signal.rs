//! What the export loop ([`super::worker`]) needs to know of a signal: spans (opentelemetry-otlp's
//! `SpanExporter`) and log records (its `LogExporter`). Everything else (batching, retries, time limits, counting)
//! is the same loop for both.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};

use super::{OtlpState, convert};
use crate::config::Backend;
use crate::counters::{Counters, Padded};
use crate::sinks::{LogRecord, Record};

/// A kind of record an OTLP sink exports.
pub(super) trait Signal: Send + Sync + 'static {
    /// What the sink queues.
    type Item: Send + 'static;
    /// The exporter's input for one attempt.
    type Batch: Send + 'static;
    /// What a batch holds, for error messages (`spans`, `log records`).
    const NOUN: &'static str;

    /// Converts a batch for one attempt (on the worker's thread for the first, on the export runtime for retries).
    fn convert(&self, items: &[Self::Item]) -> Self::Batch;

    /// Sends one batch.
    fn export(&self, batch: Self::Batch) -> impl Future<Output = OTelSdkResult> + Send;

    /// Shuts the exporter down (its connection closes).
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;

    /// Where its outcomes are counted.
    fn figures<'a>(counters: &'a Counters, state: &'a OtlpState) -> Figures<'a>;
}

/// A signal's outcome counters: in the counters shared by every generation, and in its sink's own figures.
pub(super) struct Figures<'a> {
    pub(super) total_exported: &'a Padded,
    pub(super) total_dropped: &'a Padded,
    /// The same, for the `otlp` backend alone (never reset when a sink is replaced).
    pub(super) backend_exported: &'a Padded,
    pub(super) backend_dropped: &'a Padded,
    pub(super) exported: &'a AtomicU64,
    pub(super) dropped: &'a AtomicU64,
}

/// The scope every record is exported under.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("livetel")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Finished spans.
pub(super) struct Spans {
    exporter: opentelemetry_otlp::SpanExporter,
    scope: InstrumentationScope,
}

impl Spans {
    pub(super) fn new(exporter: opentelemetry_otlp::SpanExporter) -> Self {
        Spans {
            exporter,
            scope: scope(),
        }
    }
}

impl Signal for Spans {
    type Item = Record;
    type Batch = Vec<SpanData>;
    const NOUN: &'static str = "spans";

    fn convert(&self, items: &[Record]) -> Vec<SpanData> {
        items.iter().map(|r| convert::span_data(r, &self.scope)).collect()
    }

    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.exporter.export(batch)
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn figures<'a>(counters: &'a Counters, state: &'a OtlpState) -> Figures<'a> {
        Figures {
            total_exported: &counters.exported,
            total_dropped: &counters.dropped,
            backend_exported: &counters.backend(Backend::Otlp).spans_exported,
            backend_dropped: &counters.backend(Backend::Otlp).spans_dropped,
            exported: &state.exported,
            dropped: &state.dropped,
        }
    }
}

/// Events as log records.
pub(super) struct Logs {
    exporter: opentelemetry_otlp::LogExporter,
    /// Only makes empty `SdkLogRecord`s (its constructor is the SDK's own): it has no processor, and nothing is
    /// emitted through it.
    logger: SdkLogger,
    scope: InstrumentationScope,
}

impl Logs {
    pub(super) fn new(exporter: opentelemetry_otlp::LogExporter) -> Self {
        // An empty resource: the default one reads the environment, and the exporter has its own resource.
        let provider = SdkLoggerProvider::builder()
            .with_resource(opentelemetry_sdk::Resource::builder_empty().build())
            .build();
        Logs {
            exporter,
            logger: provider.logger_with_scope(scope()),
            scope: scope(),
        }
    }
}

impl Signal for Logs {
    type Item = LogRecord;
    type Batch = Vec<SdkLogRecord>;
    const NOUN: &'static str = "log records";

    fn convert(&self, items: &[LogRecord]) -> Vec<SdkLogRecord> {
        items
            .iter()
            .map(|r| convert::log_record(r, &self.logger))
            .collect()
    }

    async fn export(&self, batch: Vec<SdkLogRecord>) -> OTelSdkResult {
        let data: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|r| (r, &self.scope)).collect();
        self.exporter.export(LogBatch::new(&data)).await
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn figures<'a>(counters: &'a Counters, state: &'a OtlpState) -> Figures<'a> {
        Figures {
            total_exported: &counters.logs_exported,
            total_dropped: &counters.logs_dropped,
            backend_exported: &counters.backend(Backend::Otlp).logs_exported,
            backend_dropped: &counters.backend(Backend::Otlp).logs_dropped,
            exported: &state.logs_exported,
            dropped: &state.logs_dropped,
        }
    }
}

//! The `otlp` backend: spans and log records to any OpenTelemetry collector (Tempo, Jaeger, Loki, ...) over gRPC
//! or HTTP/protobuf.
//!
//! The exporter is `opentelemetry-otlp`'s `SpanExporter`; batching and retries are livetel's own
//! ([`worker`]), not the SDK's `BatchSpanProcessor`, for two reasons: a span must be exported by the exporter
//! of the generation it began in (the SDK builds spans through whatever tracer is current), and status needs
//! exact counts (exported, dropped, failed batches, last error), which the batch processor does not expose.
//! The exporter's own retries are disabled so every attempt is counted here.
//!
//! The hot path only `try_send`s a finished span into a bounded queue (`max_queue_size`); a full queue drops
//! and counts. Exports run on livetel's export runtime, never on a thread that traces, with up to two batches
//! in flight so that one batch's transform overlaps another's transfer and the collector's answer.
//!
//! Log records go the same way through opentelemetry-otlp's `LogExporter` (same endpoint, headers, batching,
//! retries and limits): each signal has a [`lane::Lane`] of its own, a queue and a worker running the same loop
//! over a [`signal::Signal`], so a burst of logs never drops a span.

mod convert;
mod lane;
pub(crate) mod runtime;
mod signal;
mod worker;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::logs::LogExporter as _;
use opentelemetry_sdk::trace::SpanExporter as _;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use super::{BuildError, Item, LogRecord, Record, Sink, SinkContext, SinkInput, SinkKind, Takes};
use crate::config::{Backend, OtlpProtocol};
use crate::counters::Counters;
use crate::status::{OtlpStatus, SinkState, SinkStatus};

/// What an OTLP sink is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtlpSettings {
    pub(crate) protocol: OtlpProtocol,
    /// The full URL: for HTTP it ends in `/v1/traces`.
    pub(crate) endpoint: String,
    pub(crate) timeout: Duration,
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    pub(crate) resource: BTreeMap<String, String>,
    /// Auth headers from the vault; compared by value, shown by name only.
    pub(crate) headers: Option<crate::vault::SecretHeaders>,
}

impl OtlpSettings {
    /// The settings `input` asks for.
    fn of(input: &SinkInput<'_>) -> Self {
        let cfg = input.config;
        let b = &cfg.otlp.batch;
        OtlpSettings {
            protocol: cfg.otlp.protocol,
            endpoint: cfg.otlp.traces_url(),
            timeout: Duration::from_millis(cfg.otlp.timeout_ms),
            max_queue_size: b.max_queue_size,
            max_export_batch_size: b.max_export_batch_size.min(b.max_queue_size),
            scheduled_delay: Duration::from_millis(b.scheduled_delay_ms),
            service_name: cfg.service_name.clone(),
            service_version: cfg.service_version.clone(),
            resource: cfg.resource.clone(),
            headers: input.headers.cloned(),
        }
    }
}

/// What OTLP sinks of one `Telemetry` share across reloads.
#[derive(Default)]
pub(crate) struct Shared {
    /// Where exports run; started with the first OTLP sink.
    runtime: OnceLock<runtime::ExportRuntime>,
    /// Export workers of retired sinks still finishing; shutdown waits for them.
    pending: Arc<Mutex<Vec<Receiver<()>>>>,
    /// When shutdown began: retired workers then stop within [`worker::SHUTDOWN_LIMIT`] of it at the latest.
    shutting_down: Arc<OnceLock<Instant>>,
}

impl Shared {
    fn runtime(&self) -> std::io::Result<&runtime::ExportRuntime> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let rt = runtime::ExportRuntime::new()?;
        Ok(self.runtime.get_or_init(|| rt))
    }

    /// Waits, until `deadline` at the latest, for retired workers to export what they hold and shut down. From
    /// now on each stops within [`worker::SHUTDOWN_LIMIT`] at the latest, as the current sinks do.
    pub(crate) fn wait_pending(&self, deadline: Instant) {
        let _ = self.shutting_down.set(Instant::now());
        let pending = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        for done in pending {
            let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        }
    }
}

/// Builds [`OtlpSink`]s: `backend = "otlp"`.
pub(crate) struct Kind;

impl SinkKind for Kind {
    fn backend(&self) -> Backend {
        Backend::Otlp
    }

    /// Its table (endpoint, protocol, batching, and `otlp.headers`: the secret's values) and the resource it
    /// exports with.
    fn reads(&self) -> &'static [&'static str] {
        &["otlp", "service_name", "service_version", "resource"]
    }

    fn uses_secret_headers(&self) -> bool {
        true
    }

    fn build(&self, input: &SinkInput<'_>, cx: &SinkContext) -> Result<Arc<dyn Sink>, BuildError> {
        let error = |message: String| BuildError {
            key: "otlp.endpoint",
            message,
        };
        let rt = cx
            .otlp
            .runtime()
            .map_err(|e| error(format!("cannot start the export runtime: {e}")))?;
        let sink = OtlpSink::create(
            &OtlpSettings::of(input),
            rt,
            Arc::clone(&cx.counters),
            Arc::clone(&cx.on_change),
            Arc::clone(&cx.otlp.pending),
            Arc::clone(&cx.otlp.shutting_down),
        )
        .map_err(error)?;
        Ok(Arc::new(sink))
    }
}

/// What status shows of an OTLP sink.
#[derive(Debug, Default)]
pub(crate) struct OtlpState {
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) logs_exported: AtomicU64,
    pub(crate) logs_dropped: AtomicU64,
    /// Batches of either signal given up.
    pub(crate) failed_batches: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
    /// Set when the sink closes (shutdown, drain timeout): past it the worker makes no more attempts and counts
    /// the rest as dropped.
    pub(crate) deadline: Mutex<Option<Instant>>,
    /// Set when the sink is retired (no generation uses it any more): its worker exports what is left within
    /// [`worker::retirement_limit`].
    pub(crate) retired_at: Mutex<Option<Instant>>,
    /// When the collector last accepted a batch.
    pub(crate) last_export: Mutex<Option<Instant>>,
    /// When shutdown began: a retired worker's limit then ends within [`worker::SHUTDOWN_LIMIT`] of it.
    pub(crate) shutting_down: Arc<OnceLock<Instant>>,
}

// Records travel by value through a preallocated bounded queue; boxing them would allocate per span.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg<T> {
    Item(T),
    /// Answered once everything queued before it is exported (or given up on).
    Flush(mpsc::Sender<()>),
}

/// An OTLP sink: one exporter, queue and worker thread for spans, and one for log records.
pub(crate) struct OtlpSink {
    spans: lane::Lane<Record>,
    logs: lane::Lane<LogRecord>,
    closed: AtomicBool,
    settings: OtlpSettings,
    state: Arc<OtlpState>,
    /// Where a retiring sink leaves its workers' completions, for shutdown to wait on.
    pending: Arc<Mutex<Vec<Receiver<()>>>>,
}

impl OtlpSink {
    /// Builds the exporters (inside the export runtime, as tonic needs) and starts the workers.
    fn create(
        settings: &OtlpSettings,
        rt: &runtime::ExportRuntime,
        counters: Arc<Counters>,
        on_error: Arc<dyn Fn() + Send + Sync>,
        pending: Arc<Mutex<Vec<Receiver<()>>>>,
        shutting_down: Arc<OnceLock<Instant>>,
    ) -> Result<Self, String> {
        let (span_exporter, log_exporter) = {
            let _enter = rt.handle().enter();
            (build_span_exporter(settings)?, build_log_exporter(settings)?)
        };
        let state = Arc::new(OtlpState {
            shutting_down,
            ..OtlpState::default()
        });
        let links = || worker::Links {
            counters: Arc::clone(&counters),
            state: Arc::clone(&state),
            on_error: Arc::clone(&on_error),
        };
        let spans = lane::Lane::start(
            signal::Spans::new(span_exporter),
            settings,
            rt,
            links(),
            "livetel-otlp",
        )?;
        let logs = lane::Lane::start(
            signal::Logs::new(log_exporter),
            settings,
            rt,
            links(),
            "livetel-otlp-logs",
        )?;
        Ok(OtlpSink {
            spans,
            logs,
            closed: AtomicBool::new(false),
            settings: settings.clone(),
            state,
            pending,
        })
    }

    fn last_error(&self) -> Option<String> {
        self.state.last_error.lock().ok()?.clone()
    }
}

impl Sink for OtlpSink {
    fn backend(&self) -> Backend {
        Backend::Otlp
    }

    /// Spans with their events (OTLP span events), and log records on a lane of their own.
    fn takes(&self) -> Takes {
        Takes::SPANS.and(Takes::SPAN_EVENTS).and(Takes::LOGS)
    }

    /// Queues the item without blocking; a span or log record that cannot be queued is counted as dropped.
    #[inline]
    fn send(&self, item: Item, counters: &Counters) {
        let closed = self.is_closed();
        match item {
            Item::Span(record) => {
                if !self.spans.queue(closed, record) {
                    self.state.dropped.fetch_add(1, Ordering::Relaxed);
                    counters.spans_dropped(Backend::Otlp, 1);
                }
            }
            Item::Log(record) => {
                if !self.logs.queue(closed, record) {
                    self.state.logs_dropped.fetch_add(1, Ordering::Relaxed);
                    counters.logs_dropped(Backend::Otlp, 1);
                }
            }
            // Not taken (see `takes`): the set never hands one over.
            Item::Instant(_) => {}
        }
    }

    /// Waits, until `deadline` at the latest, for everything queued so far to be exported or given up on.
    fn flush(&self, deadline: Instant) {
        self.spans.flush(deadline);
        self.logs.flush(deadline);
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        if let Ok(mut d) = self.state.deadline.lock() {
            d.get_or_insert_with(|| Instant::now() + worker::SHUTDOWN_LIMIT);
        }
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn status(&self, generation: u64, state: SinkState) -> SinkStatus {
        let figure = |n: &AtomicU64| n.load(Ordering::Relaxed);
        SinkStatus {
            backend: Backend::Otlp.as_str(),
            generation,
            state: super::shown_state(self.is_closed(), state),
            trace_file: None,
            error: self.last_error(),
            logs_exported: figure(&self.state.logs_exported),
            logs_dropped: figure(&self.state.logs_dropped),
            otlp: Some(OtlpStatus {
                endpoint: self.settings.endpoint.clone(),
                protocol: self.settings.protocol.as_str(),
                spans_exported: figure(&self.state.exported),
                spans_dropped: figure(&self.state.dropped),
                failed_batches: figure(&self.state.failed_batches),
                header_names: self
                    .settings
                    .headers
                    .as_ref()
                    .map(|h| h.names())
                    .unwrap_or_default(),
            }),
        }
    }
}

impl Drop for OtlpSink {
    /// Dropping the senders lets each worker export what is queued, shut its exporter down and stop, on its own
    /// thread within its time limit ([`worker::retirement_limit`]). Nobody waits here; shutdown waits on
    /// `pending`.
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
        if let Ok(mut retired) = self.state.retired_at.lock() {
            retired.get_or_insert_with(Instant::now);
        }
        let done = [self.spans.retire(), self.logs.retire()];
        if let Ok(mut p) = self.pending.lock() {
            // Forget workers that already finished, so frequent rotations do not grow this list.
            p.retain(|w| matches!(w.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)));
            p.extend(done.into_iter().flatten());
        }
    }
}

fn build_span_exporter(s: &OtlpSettings) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::SpanExporter as E;
    let built = match s.protocol {
        OtlpProtocol::Grpc => grpc(E::builder().with_tonic(), s, &s.endpoint)?.build(),
        OtlpProtocol::HttpProtobuf => http(E::builder().with_http(), s, &s.endpoint).build(),
    };
    let mut exporter = built.map_err(|e| format!("cannot build the OTLP exporter: {e}"))?;
    exporter.set_resource(&convert::resource(s));
    Ok(exporter)
}

fn build_log_exporter(s: &OtlpSettings) -> Result<opentelemetry_otlp::LogExporter, String> {
    use opentelemetry_otlp::LogExporter as E;
    let endpoint = logs_url(&s.endpoint, s.protocol);
    let built = match s.protocol {
        OtlpProtocol::Grpc => grpc(E::builder().with_tonic(), s, &endpoint)?.build(),
        OtlpProtocol::HttpProtobuf => http(E::builder().with_http(), s, &endpoint).build(),
    };
    let mut exporter = built.map_err(|e| format!("cannot build the OTLP log exporter: {e}"))?;
    exporter.set_resource(&convert::resource(s));
    Ok(exporter)
}

/// Where log records go: the traces endpoint for gRPC (one server, another service); over HTTP, `/v1/logs`
/// beside the `/v1/traces` that `traces_url` ends in.
fn logs_url(traces_url: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => traces_url.to_owned(),
        OtlpProtocol::HttpProtobuf => {
            let base = traces_url.trim_end_matches('/');
            format!("{}/v1/logs", base.strip_suffix("/v1/traces").unwrap_or(base))
        }
    }
}

/// A gRPC exporter builder (spans or logs) with the sink's endpoint, timeout and headers, and no retries of its
/// own (the worker's are counted).
fn grpc<B: WithExportConfig + WithTonicConfig>(b: B, s: &OtlpSettings, endpoint: &str) -> Result<B, String> {
    Ok(b.with_endpoint(endpoint)
        .with_timeout(s.timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .with_metadata(grpc_metadata(s.headers.as_ref())?))
}

/// An HTTP/protobuf exporter builder (spans or logs), as [`grpc`].
fn http<B: WithExportConfig + WithHttpConfig>(b: B, s: &OtlpSettings, endpoint: &str) -> B {
    b.with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(s.timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .with_headers(http_headers(s.headers.as_ref()))
}

/// The vault's headers as gRPC metadata, each value marked sensitive. The one place values are exposed for gRPC.
fn grpc_metadata(headers: Option<&crate::vault::SecretHeaders>) -> Result<MetadataMap, String> {
    let mut map = MetadataMap::new();
    for (i, (name, value)) in headers.into_iter().flat_map(|h| h.expose()).enumerate() {
        let key = MetadataKey::from_bytes(name.as_bytes())
            .map_err(|_| format!("header {}: not a valid gRPC metadata key", i + 1))?;
        let mut value = MetadataValue::try_from(value)
            .map_err(|_| format!("header {}: its value is not valid in gRPC metadata", i + 1))?;
        value.set_sensitive(true);
        map.insert(key, value);
    }
    Ok(map)
}

/// The vault's headers for the HTTP exporter. The one place values are exposed for HTTP; the exporter keeps them
/// in its request builder.
fn http_headers(headers: Option<&crate::vault::SecretHeaders>) -> std::collections::HashMap<String, String> {
    headers
        .into_iter()
        .flat_map(|h| h.expose())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

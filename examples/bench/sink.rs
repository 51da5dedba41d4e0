//! A loopback OTLP/gRPC sink that counts spans fast enough to measure export throughput, which the Python test
//! receiver cannot.
//!
//! It serves the official service path (`opentelemetry.proto.collector.trace.v1.TraceService/Export`) and answers
//! with the official response type, but decodes requests only as far as counting needs: resource spans → scope
//! spans → spans, each span skipped field by field without being materialized. A sink decoding every span into
//! opentelemetry-proto's types took 42 % of the two cores in P7 (`perf record`), competing with the exporter it
//! measures; a collector would run on another machine. What livetel sends is checked field by field against the
//! official protos by the test receiver (`tests/otlp_receiver`), not here.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};

/// `ExportTraceServiceRequest` as far as counting needs (same field numbers).
#[derive(Clone, PartialEq, prost::Message)]
struct CountRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<CountResourceSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CountResourceSpans {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<CountScopeSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CountScopeSpans {
    #[prost(message, repeated, tag = "2")]
    spans: Vec<Skipped>,
}

/// A span, every field skipped.
#[derive(Clone, PartialEq, prost::Message)]
struct Skipped {}

struct Export(Arc<AtomicU64>);

impl tonic::server::UnaryService<CountRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = std::future::Ready<Result<tonic::Response<Self::Response>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<CountRequest>) -> Self::Future {
        let n: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.0.fetch_add(n as u64, Ordering::Relaxed);
        std::future::ready(Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        })))
    }
}

/// Counts spans (`Counter<Spans>`) or log records (`Counter<Logs>`): `ExportLogsServiceRequest` has the same
/// shape and field numbers as the trace request (resource → scope → records, each at tag 2 under tag 1), and
/// both responses are the same empty message, so one decoder and one response type serve both.
struct Counter<K>(Arc<AtomicU64>, std::marker::PhantomData<K>);

impl<K> Clone for Counter<K> {
    fn clone(&self) -> Self {
        Counter(Arc::clone(&self.0), std::marker::PhantomData)
    }
}

impl<K> Default for Counter<K> {
    fn default() -> Self {
        Counter(Arc::default(), std::marker::PhantomData)
    }
}

/// The trace service.
struct Spans;
/// The logs service.
struct Logs;

impl tonic::server::NamedService for Counter<Spans> {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl tonic::server::NamedService for Counter<Logs> {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
}

impl<K, B> Service<http::Request<B>> for Counter<K>
where
    Counter<K>: tonic::server::NamedService,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let spans = Arc::clone(&self.0);
        Box::pin(async move {
            if !req.uri().path().ends_with("Service/Export") {
                return Ok(tonic::Status::unimplemented("only Export").into_http());
            }
            let codec = tonic_prost::ProstCodec::<ExportTraceServiceResponse, CountRequest>::default();
            Ok(tonic::server::Grpc::new(codec).unary(Export(spans), req).await)
        })
    }
}

/// A running sink; it stops with its runtime when dropped.
pub struct Sink {
    pub endpoint: String,
    spans: Arc<AtomicU64>,
    logs: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

impl Sink {
    pub fn start() -> std::io::Result<Sink> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let counter = Counter::<Spans>::default();
        let spans = Arc::clone(&counter.0);
        let log_counter = Counter::<Logs>::default();
        let logs = Arc::clone(&log_counter.0);
        let listener = rt.block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))?;
        let addr = listener.local_addr()?;
        rt.spawn(async move {
            // TCP_NODELAY, as collectors set it (Go's net package does by default): without it, Nagle's
            // algorithm holds the sink's small HTTP/2 frames (window updates, responses) for the client's delayed
            // ACK, and a batch waits ~40 ms for nothing.
            let incoming =
                tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(listener), |s| {
                    s.and_then(|s| s.set_nodelay(true).map(|()| s))
                });
            let _ = tonic::transport::Server::builder()
                .add_service(counter)
                .add_service(log_counter)
                .serve_with_incoming(incoming)
                .await;
        });
        Ok(Sink {
            endpoint: format!("http://{addr}"),
            spans,
            logs,
            _rt: rt,
        })
    }

    /// Spans received.
    pub fn received(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }

    /// Log records received.
    pub fn logs_received(&self) -> u64 {
        self.logs.load(Ordering::Relaxed)
    }
}

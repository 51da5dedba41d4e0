//! A loopback OTLP/gRPC sink on the official protos (opentelemetry-proto's tonic service): decodes every request
//! in full and counts its spans, fast enough to measure export throughput, which the Python test receiver cannot.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

#[tonic::async_trait]
impl TraceService for Counter {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let n: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A running sink; it stops with its runtime when dropped.
pub struct Sink {
    pub endpoint: String,
    spans: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

impl Sink {
    pub fn start() -> std::io::Result<Sink> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let counter = Counter::default();
        let spans = Arc::clone(&counter.0);
        let listener = rt.block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))?;
        let addr = listener.local_addr()?;
        rt.spawn(async move {
            // TCP_NODELAY, as collectors set it (Go's net package does by default): without it, Nagle's
            // algorithm holds the sink's small HTTP/2 frames (window updates, responses) for the client's delayed
            // ACK, and a batch now and then waits ~40 ms for nothing.
            let incoming =
                tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(listener), |s| {
                    s.and_then(|s| s.set_nodelay(true).map(|()| s))
                });
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(counter))
                .serve_with_incoming(incoming)
                .await;
        });
        Ok(Sink {
            endpoint: format!("http://{addr}"),
            spans,
            _rt: rt,
        })
    }

    pub fn received(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}

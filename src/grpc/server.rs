//! The server side: a tower layer for tonic's `Server::builder().layer(...)` whose span per call joins the
//! caller's trace from the request's metadata.

use std::task::{Context, Poll};

use http::Request;
use tonic::transport::server::TcpConnectInfo;
use tower_layer::Layer;
use tower_service::Service;
use tracing_core::field::Value;

use super::status::{Call, ResponseFuture, Side};
use super::{Method, authority};
use crate::headers::HeaderExtractor;
use crate::propagation;
use crate::traces::codec::grpc_server_span;

/// The server layer: `Server::builder().layer(livetel::grpc::ServerLayer::new())`. Each call gets a server
/// span (target `livetel::grpc`, callsite `grpc.request`) named `{rpc.service}/{rpc.method}` through its
/// `otel.name` field, whose parent is read from the request's metadata in the live `[telemetry] propagators`
/// (W3C `traceparent`/`tracestate`/`baggage`, B3). The handler runs inside it, and the span stays open until
/// the response body ends, so a streaming call's span covers its stream.
///
/// Its attributes: `otel.kind = "server"`, `rpc.system = "grpc"`, `rpc.service`, `rpc.method`,
/// `server.address` and `server.port` (the request's `:authority`), `network.peer.address` and
/// `network.peer.port` (tonic's `TcpConnectInfo`, which its server sets on plain TCP connections; absent
/// behind its TLS), and with the response `rpc.grpc.status_code`, read from the response's headers (a
/// trailers-only response) or from the trailers at the end of its body. UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS set `otel.status_code = "ERROR"` (the server's own
/// failures; NOT_FOUND and the other codes are the caller's); an error from the service itself sets it with
/// `error.type = "_OTHER"`.
///
/// The span is livetel's own callsite, admitted whatever livetel's config: where livetel records nothing
/// (`backend = "none"`, `enabled = false`, a filter that leaves `livetel::grpc` out) it still forwards the
/// caller's context to the calls the handler makes ([`crate::propagation`]).
///
/// ```
/// let router = tonic::transport::Server::builder()
///     .layer(livetel::grpc::ServerLayer::new())
///     .add_routes(tonic::service::Routes::default());
/// # let _ = router;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer;

impl ServerLayer {
    /// The layer.
    pub fn new() -> ServerLayer {
        ServerLayer
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = TracedServer<S>;

    fn layer(&self, inner: S) -> TracedServer<S> {
        TracedServer { inner }
    }
}

/// The service of [`ServerLayer`] around a tonic server's routes.
#[derive(Debug, Clone)]
pub struct TracedServer<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for TracedServer<S>
where
    S: Service<Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<super::TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let span = call_span(&request);
        let caller = propagation::extract(&HeaderExtractor(request.headers()));
        propagation::set_parent(&span, &caller);
        let future = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(future, Call::new(span, Side::Server))
    }
}

/// The server span of `request`, its attributes set.
fn call_span<B>(request: &Request<B>) -> tracing::Span {
    let method = Method::of(request.uri().path());
    let name = method.name();
    let name = name.as_str();
    let (host, port) = authority(request.uri());
    let peer = request
        .extensions()
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr);
    let peer_address = peer.map(|p| p.ip().to_string());
    let peer_address = peer_address.as_deref();
    let peer_port = peer.map(|p| p.port());
    fn some<T: Value>(v: &Option<T>) -> Option<&dyn Value> {
        v.as_ref().map(|v| v as &dyn Value)
    }
    grpc_server_span([
        Some(&name),
        Some(&"server"),
        Some(&"grpc"),
        some(&method.service),
        some(&method.method),
        some(&host),
        some(&port),
        some(&peer_address),
        some(&peer_port),
        None,
        None,
        None,
    ])
}

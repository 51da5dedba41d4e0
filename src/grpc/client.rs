//! The client side: a tower layer over a tonic `Channel` whose span per call is the parent of the callee's
//! server span, and an interceptor that only injects.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Uri};
use opentelemetry::propagation::Injector;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tower_layer::Layer;
use tower_service::Service;

use super::status::{Call, ResponseFuture, Side};
use super::{Method, authority};
use crate::headers::HeaderInjector;
use crate::propagation;

/// The client layer, around a tonic `Channel` (or any service a tonic client takes). Each call gets a client
/// span (target `livetel::grpc::client`, callsite `grpc.client`) named `{rpc.service}/{rpc.method}` through
/// `otel.name`, and the request's metadata carries that span's context in the live `[telemetry] propagators`,
/// so the callee's server span is its child. Where livetel does not record the span, the request carries the
/// current span's context instead ([`super::inject`]'s): a service at `backend = "none"` forwards its caller's.
///
/// Its attributes: `otel.kind = "client"`, `rpc.system = "grpc"`, `rpc.service`, `rpc.method`,
/// `server.address` and `server.port` (the request's URI, else the endpoint given to [`ClientLayer::server`]),
/// and with the response `rpc.grpc.status_code` (from the response's headers, a trailers-only response, or from
/// the trailers at the end of its body; inferred from the HTTP status when a proxy answered without one). Any
/// code but OK sets `otel.status_code = "ERROR"`; a transport error sets it with `error.type = "_OTHER"`.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower::Layer;
///
/// let endpoint: http::Uri = "http://127.0.0.1:50051".parse()?;
/// let channel = tonic::transport::Channel::builder(endpoint.clone()).connect().await?;
/// let channel = livetel::grpc::ClientLayer::new().server(&endpoint).layer(channel);
/// let client = tonic::client::Grpc::new(channel); // or a generated client's `new(channel)`
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientLayer {
    server: Option<Server>,
}

/// `server.address` and `server.port` of a layer's calls.
#[derive(Debug, Clone)]
struct Server {
    host: Arc<str>,
    port: Option<u16>,
}

impl ClientLayer {
    /// The layer; `server.address` and `server.port` from each request's URI when it has an authority (a client
    /// made with `with_origin`).
    pub fn new() -> ClientLayer {
        ClientLayer::default()
    }

    /// Takes `server.address` and `server.port` from `endpoint` for requests whose URI has no authority (the
    /// `Channel` adds it below this layer).
    pub fn server(mut self, endpoint: &Uri) -> ClientLayer {
        let (host, port) = authority(endpoint);
        self.server = host.map(|host| Server {
            host: host.into(),
            port,
        });
        self
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = TracedClient<S>;

    fn layer(&self, inner: S) -> TracedClient<S> {
        TracedClient {
            inner,
            server: self.server.clone(),
        }
    }
}

/// The service of [`ClientLayer`] around a channel.
#[derive(Debug, Clone)]
pub struct TracedClient<S> {
    inner: S,
    server: Option<Server>,
}

impl<S, B, ResBody> Service<Request<B>> for TracedClient<S>
where
    S: Service<Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<super::TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let span = self.call_span(&request);
        let carrier = if span.is_disabled() {
            tracing::Span::current()
        } else {
            span.clone()
        };
        propagation::inject(&carrier, &mut HeaderInjector(request.headers_mut()));
        let future = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(future, Call::new(span, Side::Client))
    }
}

impl<S> TracedClient<S> {
    fn call_span<B>(&self, request: &Request<B>) -> tracing::Span {
        let method = Method::of(request.uri().path());
        let (host, port) = match (authority(request.uri()), &self.server) {
            ((None, _), Some(server)) => (Some(&*server.host), server.port),
            (own, _) => own,
        };
        tracing::info_span!(
            target: "livetel::grpc::client",
            "grpc.client",
            otel.name = method.name().as_str(),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = method.service,
            rpc.method = method.method,
            server.address = host,
            server.port = port,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        )
    }
}

/// A tonic interceptor that adds the current span's context to a call's metadata (the live `[telemetry]
/// propagators`), for a caller with a span of its own; [`ClientLayer`] makes the client span itself.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let channel = tonic::transport::Channel::from_static("http://127.0.0.1:50051").connect().await?;
/// let channel = tonic::service::interceptor::InterceptedService::new(channel, livetel::grpc::inject);
/// let client = tonic::client::Grpc::new(channel); // or `MyClient::with_interceptor(channel, livetel::grpc::inject)`
/// # let _ = client; Ok(()) }
/// ```
///
/// # Errors
/// Never: the `Result` is what tonic's `Interceptor` returns.
#[allow(clippy::result_large_err)] // tonic's `Interceptor` signature.
pub fn inject(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    inject_span(&tracing::Span::current(), request.metadata_mut());
    Ok(request)
}

/// Writes the context of `span` into `metadata` (the live `[telemetry] propagators`).
///
/// ```
/// let mut metadata = tonic::metadata::MetadataMap::new();
/// livetel::grpc::inject_span(&tracing::Span::current(), &mut metadata);
/// ```
pub fn inject_span(span: &tracing::Span, metadata: &mut MetadataMap) {
    propagation::inject(span, &mut MetadataInjector(metadata));
}

/// Writes ASCII metadata for [`propagation::inject`]; a key or value gRPC cannot carry is skipped.
struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

//! One line for HTTP services (cargo feature `http`): a tower-http `TraceLayer` whose request span joins the
//! caller's trace, and an injector for reqwest requests.
//!
//! # Examples
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Router};
//!
//! async fn handler() -> String {
//!     // The request span is current here: the call continues the caller's trace.
//!     let client = reqwest::Client::new();
//!     let req = livetel::http::inject(client.get("http://127.0.0.1:8081/next"));
//!     req.send().await.map(|_| "ok".to_owned()).unwrap_or_default()
//! }
//!
//! let app: Router = Router::new().route("/", get(handler)).layer(livetel::http::trace_layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! The request span (target `livetel::http`, name `http.request`, fields `http.request.method`, `url.path`,
//! `otel.kind = "server"`) is created by livetel's own callsite, which livetel admits whatever its config: where
//! livetel records nothing (`backend = "none"`, `enabled = false`, or a filter that leaves `livetel::http` out)
//! the span still forwards the caller's `traceparent`, `tracestate` and baggage to the calls made under it, so
//! the trace stays one across this service (see [`crate::propagation`]).

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;

use crate::propagation;
use crate::traces::codec::server_span;

/// A `MakeSpan` for tower-http's `TraceLayer`: a server span per request whose parent is read from the request's
/// headers (the live `[telemetry] propagators`).
///
/// ```
/// let layer = tower_http::trace::TraceLayer::new_for_http().make_span_with(livetel::http::ServerSpan);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerSpan;

impl<B> tower_http::trace::MakeSpan<B> for ServerSpan {
    fn make_span(&mut self, request: &http::Request<B>) -> tracing::Span {
        let span = server_span(request.method().as_str(), request.uri().path());
        let caller = propagation::extract(&HeaderExtractor(request.headers()));
        propagation::set_parent(&span, &caller);
        span
    }
}

/// tower-http's `TraceLayer` for HTTP with [`ServerSpan`]: `.layer(livetel::http::trace_layer())`.
pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, ServerSpan> {
    TraceLayer::new_for_http().make_span_with(ServerSpan)
}

/// Adds the current span's context to an outgoing reqwest request (the live `[telemetry] propagators`):
/// `livetel::http::inject(client.get(url)).send().await`.
pub fn inject(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    inject_span(request, &tracing::Span::current())
}

/// [`inject`] with the context of `span` rather than the current span's.
pub fn inject_span(request: reqwest::RequestBuilder, span: &tracing::Span) -> reqwest::RequestBuilder {
    let mut headers = HeaderMap::new();
    propagation::inject(span, &mut HeaderInjector(&mut headers));
    request.headers(headers)
}

/// Reads an `http::HeaderMap` for [`propagation::extract`], every value of a repeated header included.
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// A value that is not visible ASCII is passed on as an empty string, so that a repeated `traceparent`
    /// still counts as repeated.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .map(|v| v.to_str().unwrap_or_default())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes into an `http::HeaderMap` for [`propagation::inject`]; a name or value HTTP cannot carry is skipped.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

//! One line for HTTP services (cargo feature `http`): server spans by OpenTelemetry's HTTP conventions that join
//! the caller's trace (a tower-http `TraceLayer`), and client spans for reqwest that the callee's server span
//! joins.
//!
//! # Examples
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Router};
//!
//! async fn handler() -> String {
//!     // The request span is current here: the client span is its child, the callee's server span the client
//!     // span's.
//!     let client = reqwest::Client::new();
//!     let res = livetel::http::send(client.get("http://127.0.0.1:8081/next")).await;
//!     res.map(|_| "ok".to_owned()).unwrap_or_default()
//! }
//!
//! let app: Router = Router::new().route("/", get(handler)).layer(livetel::http::trace_layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! The request span ([`ServerSpan`]: target `livetel::http`, callsite `http.request`, named `{method} {route}`
//! through its `otel.name` field) is created by livetel's own callsite, which livetel admits whatever its
//! config: where livetel records nothing (`backend = "none"`, `enabled = false`, or a filter that leaves
//! `livetel::http` out) the span still forwards the caller's `traceparent`, `tracestate` and baggage to the calls
//! made under it, so the trace stays one across this service (see [`crate::propagation`]).

mod client;
mod server;

use http::header::HeaderMap;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnBodyChunk, DefaultOnEos, DefaultOnRequest, TraceLayer};

use crate::propagation;

pub use crate::headers::{HeaderExtractor, HeaderInjector};
pub use client::send;
pub use server::{RecordStatus, ServerSpan};

/// The `TraceLayer` of [`trace_layer`], to name in a type.
///
/// ```
/// let layer: livetel::http::LiveTraceLayer = livetel::http::trace_layer();
/// # let _ = layer;
/// ```
pub type LiveTraceLayer = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    ServerSpan,
    DefaultOnRequest,
    RecordStatus,
    DefaultOnBodyChunk,
    DefaultOnEos,
    RecordStatus,
>;

/// tower-http's `TraceLayer` for HTTP with [`ServerSpan`] and [`RecordStatus`]:
/// `.layer(livetel::http::trace_layer())`.
///
/// ```
/// let app: axum::Router = axum::Router::new()
///     .route("/users/{id}", axum::routing::get(|| async { "user" }))
///     .layer(livetel::http::trace_layer());
/// # let _ = app;
/// ```
pub fn trace_layer() -> LiveTraceLayer {
    TraceLayer::new_for_http()
        .make_span_with(ServerSpan)
        .on_response(RecordStatus)
        .on_failure(RecordStatus)
}

/// Adds the current span's context to an outgoing reqwest request (the live `[telemetry] propagators`), for a
/// caller with a span of its own; [`send`] makes the client span itself.
///
/// ```
/// let request = livetel::http::inject(reqwest::Client::new().get("http://127.0.0.1:8081/next"));
/// # let _ = request;
/// ```
pub fn inject(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    inject_span(request, &tracing::Span::current())
}

/// [`inject`] with the context of `span` rather than the current span's.
///
/// ```
/// let span = tracing::info_span!("call");
/// let request = livetel::http::inject_span(reqwest::Client::new().get("http://127.0.0.1:8081/"), &span);
/// # let _ = request;
/// ```
pub fn inject_span(request: reqwest::RequestBuilder, span: &tracing::Span) -> reqwest::RequestBuilder {
    let mut headers = HeaderMap::new();
    propagation::inject(span, &mut HeaderInjector(&mut headers));
    request.headers(headers)
}

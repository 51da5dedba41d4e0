//! The server span of each request, by OpenTelemetry's stable HTTP server conventions, and the hooks that record
//! the response on it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath};
use http::header::{HOST, USER_AGENT};
use http::{Method, Request, Response, Version};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::{MakeSpan, OnFailure, OnResponse};
use tracing_core::field::Value;

use super::HeaderExtractor;
use crate::propagation;
use crate::traces::codec::server_span;

/// A `MakeSpan` for tower-http's `TraceLayer`: a server span per request whose parent is read from the request's
/// headers (the live `[telemetry] propagators`).
///
/// The span is named `{method} {route}` (`GET /users/{id}`) from axum's `MatchedPath` when the request carries
/// one (a `TraceLayer` added with axum's `Router::layer` or `Router::route_layer` sees it; one wrapped around the
/// whole router does not), `{method}` alone otherwise; the name is the span's `otel.name` field, its callsite
/// stays livetel's `http.request`. Its attributes: `http.request.method` (`_OTHER` and
/// `http.request.method_original` for a method outside the standard ones), `http.route`, `url.path`,
/// `url.scheme` (`http` when the request's URI has none), `server.address` and `server.port` (from `Host`),
/// `client.address` (axum's `ConnectInfo<SocketAddr>`, when the service was made with
/// `into_make_service_with_connect_info`), `user_agent.original`, `network.protocol.version`, and `otel.kind =
/// "server"`; [`RecordStatus`] adds `http.response.status_code`.
///
/// ```
/// let layer = tower_http::trace::TraceLayer::new_for_http()
///     .make_span_with(livetel::http::ServerSpan)
///     .on_response(livetel::http::RecordStatus)
///     .on_failure(livetel::http::RecordStatus);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerSpan;

impl<B> MakeSpan<B> for ServerSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let span = request_span(request);
        let caller = propagation::extract(&HeaderExtractor(request.headers()));
        propagation::set_parent(&span, &caller);
        span
    }
}

/// tower-http's `OnResponse` and `OnFailure` hooks that record the response on the [`ServerSpan`]:
/// `http.response.status_code`, and on a 5xx or an error from the service `otel.status_code = "ERROR"` and
/// `error.type` (the status code, or `_OTHER`). A 4xx is the client's error, not the server's: its status stays
/// unset.
///
/// ```
/// let layer = tower_http::trace::TraceLayer::new_for_http()
///     .make_span_with(livetel::http::ServerSpan)
///     .on_response(livetel::http::RecordStatus)
///     .on_failure(livetel::http::RecordStatus);
/// let app: axum::Router = axum::Router::new().layer(layer);
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordStatus;

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(self, response: &Response<B>, _latency: Duration, span: &tracing::Span) {
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", status.as_str());
        }
    }
}

impl OnFailure<ServerErrorsFailureClass> for RecordStatus {
    /// A 5xx was recorded with the response; an error from the service has no response.
    fn on_failure(&mut self, failure: ServerErrorsFailureClass, _latency: Duration, span: &tracing::Span) {
        if let ServerErrorsFailureClass::Error(_) = failure {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", "_OTHER");
        }
    }
}

/// The method as the conventions name it: one of the nine standard methods, else `_OTHER`.
pub(crate) fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => return None,
    })
}

/// `network.protocol.version` of an HTTP version.
fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// The span of `request`, its attributes set.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let known = known_method(request.method());
    let method = known.unwrap_or("_OTHER");
    let original = known.is_none().then(|| request.method().as_str());
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    let name = match route {
        Some(route) => format!("{} {route}", known.unwrap_or("HTTP")),
        None => known.unwrap_or("HTTP").to_owned(),
    };
    let name = name.as_str();
    let uri = request.uri();
    let path = uri.path();
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok())
        .or_else(|| uri.authority().cloned());
    let host = authority.as_ref().map(http::uri::Authority::host);
    let port = authority.as_ref().and_then(http::uri::Authority::port_u16);
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let client = client.as_deref();
    let agent = request.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
    let version = protocol_version(request.version());
    fn some<T: Value>(v: &Option<T>) -> Option<&dyn Value> {
        v.as_ref().map(|v| v as &dyn Value)
    }
    server_span([
        Some(&name),
        Some(&"server"),
        Some(&method),
        some(&original),
        some(&route),
        Some(&path),
        Some(&scheme),
        some(&host),
        some(&port),
        some(&client),
        some(&agent),
        some(&version),
        None,
        None,
        None,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_versions_by_the_conventions() {
        assert_eq!(known_method(&Method::PATCH), Some("PATCH"));
        let custom = Method::from_bytes(b"PURGE").expect("a token");
        assert_eq!(known_method(&custom), None);
        assert_eq!(protocol_version(Version::HTTP_11), Some("1.1"));
        assert_eq!(protocol_version(Version::HTTP_2), Some("2"));
    }
}

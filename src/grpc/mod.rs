//! gRPC spans for tonic services (cargo feature `grpc`), by OpenTelemetry's RPC and gRPC conventions: a server
//! layer whose span per call joins the caller's trace from the request's metadata, and a client layer whose span
//! per call the callee's server span joins. The same propagation as the `http` feature (W3C `traceparent`,
//! `tracestate`, `baggage`, B3, per `[telemetry] propagators`), carried in gRPC metadata.
//!
//! # Examples
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tower::Layer;
//!
//! // Server: a span per call, named `{rpc.service}/{rpc.method}` (`shop.Orders/Get`).
//! let routes = tonic::service::Routes::default(); // `.add_service(OrdersServer::new(orders))`
//! let server = tonic::transport::Server::builder()
//!     .layer(livetel::grpc::ServerLayer::new())
//!     .add_routes(routes)
//!     .serve("127.0.0.1:50051".parse()?);
//! tokio::spawn(server);
//!
//! // Client (in a handler, say): a client span per call, the server span of the callee its child.
//! let endpoint: http::Uri = "http://127.0.0.1:50052".parse()?;
//! let channel = tonic::transport::Channel::builder(endpoint.clone()).connect().await?;
//! let channel = livetel::grpc::ClientLayer::new().server(&endpoint).layer(channel);
//! let client = tonic::client::Grpc::new(channel); // or a generated client: `StockClient::new(channel)`
//! # let _ = client; Ok(()) }
//! ```
//!
//! A call's spans (attributes on [`ServerLayer`] and [`ClientLayer`]) carry `rpc.system = "grpc"`,
//! `rpc.service`, `rpc.method` and `rpc.grpc.status_code`, read from the response's `grpc-status` header (a
//! trailers-only response, the way tonic answers an error) or from the trailers at the end of its body (a
//! response with messages, unary or streaming). The error status follows the conventions: on a server only
//! the codes that are the server's failures, on a client any code but OK.
//!
//! The server span is livetel's own callsite, admitted whatever livetel's config, like the `http` feature's:
//! where livetel records nothing (`backend = "none"`, `enabled = false`, a filter that leaves `livetel::grpc`
//! out) it still forwards the caller's context to the calls made under it, and the client layer then sends the
//! caller's context on, so the trace stays one across this service (see [`crate::propagation`]).
//!
//! The attribute names are the RPC conventions up to semconv v1.37, as tonic-tracing-opentelemetry emits them;
//! the later release-candidate names (`rpc.system.name`, `rpc.response.status_code`) are not emitted.
//!
//! Limit: a call whose response ends without a status (the caller dropped it, the connection broke before the
//! trailers) records no `rpc.grpc.status_code`.

mod client;
mod server;
mod status;

use http::Uri;

pub use client::{ClientLayer, TracedClient, inject, inject_span};
pub use server::{ServerLayer, TracedServer};
pub use status::{ResponseFuture, TracedBody};

/// `rpc.service` and `rpc.method` of a request path `/package.Service/Method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Method<'a> {
    service: Option<&'a str>,
    method: Option<&'a str>,
}

impl<'a> Method<'a> {
    fn of(path: &'a str) -> Method<'a> {
        let parts = path.strip_prefix('/').and_then(|p| p.split_once('/'));
        match parts {
            Some((service, method)) if !service.is_empty() && !method.is_empty() && !method.contains('/') => {
                Method {
                    service: Some(service),
                    method: Some(method),
                }
            }
            _ => Method {
                service: None,
                method: None,
            },
        }
    }

    /// The span name: `{rpc.service}/{rpc.method}`, or `grpc` (`rpc.system`) for a path of another form.
    fn name(&self) -> String {
        match (self.service, self.method) {
            (Some(service), Some(method)) => format!("{service}/{method}"),
            _ => "grpc".to_owned(),
        }
    }
}

/// `server.address` and `server.port` of a URI: its host, and its port or the scheme's default.
fn authority(uri: &Uri) -> (Option<&str>, Option<u16>) {
    let Some(authority) = uri.authority() else {
        return (None, None);
    };
    let port = authority.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    });
    (Some(authority.host()), port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_and_method_from_the_path() {
        let m = Method::of("/livetel.test.Echo/Say");
        assert_eq!((m.service, m.method), (Some("livetel.test.Echo"), Some("Say")));
        assert_eq!(m.name(), "livetel.test.Echo/Say");
        for odd in ["/", "/Echo", "/Echo/", "//Say", "Echo/Say", "/a/b/c"] {
            assert_eq!(Method::of(odd).name(), "grpc", "{odd}");
        }
    }

    #[test]
    fn address_and_port_from_the_uri() {
        let uri: Uri = "http://127.0.0.1:50051/x".parse().expect("uri");
        assert_eq!(authority(&uri), (Some("127.0.0.1"), Some(50051)));
        let uri: Uri = "https://api.example.com".parse().expect("uri");
        assert_eq!(authority(&uri), (Some("api.example.com"), Some(443)));
        let uri: Uri = "/livetel.test.Echo/Say".parse().expect("uri");
        assert_eq!(authority(&uri), (None, None));
    }
}

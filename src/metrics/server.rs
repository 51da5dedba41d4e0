//! The `/metrics` server: hyper 1 on a thread of its own (never on the application's runtime), bounded so that
//! no client can hold it.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections at once (a connection beyond is closed at once); request
//! headers must arrive within [`HEADER_TIMEOUT`] and a whole connection lasts at most [`REQUEST_TIMEOUT`];
//! one request per connection (no keep-alive); headers at most hyper's smallest read buffer (8 KiB); `GET` (or
//! `HEAD`) of `/metrics` only, and a request that announces a body is refused. The server stops when its
//! [`Server`] is dropped, which the metrics signal arranges for when the last generation holding it retires.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};

use super::format::Format;

/// Connections served at once; one more is closed as soon as it is accepted.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// Time a client has to send its request headers.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a connection may last, answer included.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes a body in a format; an error is answered 500.
pub(crate) type Render = Arc<dyn Fn(Format) -> Result<String, String> + Send + Sync>;

/// A running `/metrics` server: stopped when dropped.
pub(crate) struct Server {
    /// The address as configured (`listen`): a reload with the same one reuses this server.
    pub(crate) listen: String,
    /// The address actually bound (the port chosen when `listen` says port 0).
    pub(crate) bound: SocketAddr,
    _served: crate::serve::Served,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    /// `listen` is not an address.
    #[error("`{listen}` is not an address and port: {source}")]
    Address {
        listen: String,
        source: std::net::AddrParseError,
    },
    /// The address could not be bound (in use, not local, not allowed).
    #[error("cannot listen on {listen}: {source}")]
    Bind { listen: String, source: std::io::Error },
    /// The server's thread or runtime could not start.
    #[error("cannot start the /metrics server: {0}")]
    Start(std::io::Error),
}

impl Server {
    /// Binds `listen` now (on the caller's thread, so a port in use fails the reload) and serves from a thread
    /// of its own.
    ///
    /// # Errors
    /// An address that does not parse or cannot be bound; a thread or runtime that cannot start.
    pub(crate) fn start(listen: &str, render: Render) -> Result<Server, ServeError> {
        let addr: SocketAddr = listen.parse().map_err(|source| ServeError::Address {
            listen: listen.to_owned(),
            source,
        })?;
        let bind_error = |source| ServeError::Bind {
            listen: listen.to_owned(),
            source,
        };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let limits = crate::serve::Limits {
            max_connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            connection_timeout: REQUEST_TIMEOUT,
            keep_alive: false,
        };
        let served = crate::serve::spawn("livetel-metrics", listener, limits, move |req| {
            answer(req, Arc::clone(&render))
        })
        .map_err(ServeError::Start)?;
        Ok(Server {
            listen: listen.to_owned(),
            bound,
            _served: served,
        })
    }
}

async fn answer(req: Request<Incoming>, render: Render) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, text: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
        *r.status_mut() = status;
        r
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
        r.headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
        return Ok(r);
    }
    let has_body = req.headers().contains_key(TRANSFER_ENCODING)
        || req
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return Ok(reply(StatusCode::BAD_REQUEST, "a request body is refused\n"));
    }
    if req.uri().path() != "/metrics" {
        return Ok(reply(StatusCode::NOT_FOUND, "try /metrics\n"));
    }
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept);
    let Ok(body) = render(format) else {
        return Ok(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics could not be written\n",
        ));
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(format.content_type()),
    );
    Ok(r)
}

//! The gRPC status of a call, read where the server put it, and recorded on the call's span: the response's
//! headers (a trailers-only response: tonic answers an error that way) or the trailers at the end of the body
//! (every response with messages, streaming or unary).
//!
//! Written here rather than with tower-http's `TraceLayer` (whose `GrpcErrorsAsFailures` reads the same two
//! places): the client side must put its span's context into the request, which `TraceLayer`'s hooks only see
//! by reference, and one response future and body serve both sides.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;

/// Which end of the call a span stands for: the two differ in which statuses are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

impl Side {
    /// The gRPC conventions: for a server, only the codes that say the server failed (UNKNOWN,
    /// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS); for a client, any code but OK.
    pub(crate) fn is_error(self, code: Code) -> bool {
        match self {
            Side::Client => code != Code::Ok,
            Side::Server => matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ),
        }
    }
}

/// The span of one call and what is known of its status.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) span: tracing::Span,
    pub(crate) side: Side,
    /// True once a status is recorded: it is recorded once.
    recorded: bool,
}

impl Call {
    pub(crate) fn new(span: tracing::Span, side: Side) -> Call {
        Call {
            span,
            side,
            recorded: false,
        }
    }

    /// Records `rpc.grpc.status_code`, and `otel.status_code = "ERROR"` when the code is an error on this side.
    fn record(&mut self, code: Code) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        self.span.record("rpc.grpc.status_code", code as i64);
        if self.side.is_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
    }

    /// Records the status `headers` carry, if any.
    fn record_headers(&mut self, headers: &HeaderMap) {
        if let Some(code) = headers.get("grpc-status") {
            self.record(Code::from_bytes(code.as_bytes()));
        }
    }

    /// Records a failure without a gRPC status: the service or the body returned an error (a transport error on
    /// a client, a failed service on a server). `error.type` `_OTHER`.
    pub(crate) fn record_error(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        self.span.record("otel.status_code", "ERROR");
        self.span.record("error.type", "_OTHER");
    }

    /// Reads the response's head: a trailers-only response's status, or the status a client infers from an
    /// HTTP status other than 200 (gRPC's "HTTP to gRPC status code mapping"). Wraps the body to read the
    /// trailers.
    pub(crate) fn response<B>(mut self, response: Response<B>) -> Response<TracedBody<B>> {
        self.record_headers(response.headers());
        if self.side == Side::Client && response.status() != StatusCode::OK {
            self.record(from_http(response.status()));
        }
        response.map(|inner| TracedBody { inner, call: self })
    }
}

/// The gRPC code a client infers from an HTTP status without `grpc-status`.
fn from_http(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

pin_project! {
    /// A response body that records the call's status from its trailers (see [`super`]) and holds the call's
    /// span open until the body is done or dropped: a streaming call's span covers its whole stream. The span
    /// is entered while the body is polled.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        call: Call,
    }
}

/// An empty body without a span; tonic's `with_interceptor` asks for one.
impl<B: Default> Default for TracedBody<B> {
    fn default() -> Self {
        TracedBody {
            inner: B::default(),
            call: Call::new(tracing::Span::none(), Side::Client),
        }
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = {
            let _entered = this.call.span.enter();
            ready!(this.inner.poll_frame(cx))
        };
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.call.record_headers(trailers);
                }
            }
            Some(Err(_)) => this.call.record_error(),
            None => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The response future of both sides' services: runs the inner future inside the call's span and records
    /// the response's head on it, or the error.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, call: Call) -> Self {
        ResponseFuture {
            inner,
            call: Some(call),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.call.as_ref() {
            Some(call) => {
                let _entered = call.span.enter();
                ready!(this.inner.poll(cx))
            }
            None => ready!(this.inner.poll(cx)),
        };
        // Only `None` after it was taken by a `Ready` before: polled again after completion.
        let mut call = this
            .call
            .take()
            .unwrap_or_else(|| Call::new(tracing::Span::none(), Side::Client));
        Poll::Ready(match result {
            Ok(response) => Ok(call.response(response)),
            Err(e) => {
                call.record_error();
                Err(e)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_by_side() {
        let server: Vec<Code> = (0..=16)
            .map(Code::from)
            .filter(|c| Side::Server.is_error(*c))
            .collect();
        assert_eq!(
            server,
            [
                Code::Unknown,
                Code::DeadlineExceeded,
                Code::Unimplemented,
                Code::Internal,
                Code::Unavailable,
                Code::DataLoss
            ]
        );
        let client = (0..=16).filter(|c| Side::Client.is_error(Code::from(*c))).count();
        assert_eq!(client, 16, "every code but OK");
    }

    #[test]
    fn http_statuses_map_as_grpc_says() {
        assert_eq!(from_http(StatusCode::NOT_FOUND), Code::Unimplemented);
        assert_eq!(from_http(StatusCode::SERVICE_UNAVAILABLE), Code::Unavailable);
        assert_eq!(from_http(StatusCode::IM_A_TEAPOT), Code::Unknown);
    }
}

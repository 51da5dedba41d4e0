//! A tiny gRPC service written by hand (no protoc): `livetel.test.Echo/Say`, a unary call with a prost message,
//! served and called through tonic's own `server::Grpc` and `client::Grpc` with `tonic_prost::ProstCodec`, as
//! generated code does. `ok` answers what the handler saw, `missing` NOT_FOUND, `fail` INTERNAL, and `relay`
//! calls the downstream service with those three through `livetel::grpc::ClientLayer` and answers what came back.
//! `livetel.test.Echo/Count` streams its messages: one, then DATA_LOSS in the trailers at the end of the body.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use http::uri::PathAndQuery;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;
use tower::Layer;

pub const SERVICE: &str = "livetel.test.Echo";
pub const SAY: &str = "/livetel.test.Echo/Say";
pub const COUNT: &str = "/livetel.test.Echo/Count";

#[derive(Clone, PartialEq, prost::Message)]
pub struct Msg {
    #[prost(string, tag = "1")]
    pub text: String,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// The service; `downstream` is the endpoint `relay` calls.
#[derive(Clone)]
pub struct Echo {
    pub downstream: Option<String>,
}

impl tonic::server::NamedService for Echo {
    const NAME: &'static str = SERVICE;
}

impl tower::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let say = Say(self.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<Msg, Msg>::default());
            if request.uri().path() == COUNT {
                return Ok(grpc.server_streaming(Count, request).await);
            }
            Ok(grpc.unary(say, request).await)
        })
    }
}

struct Say(Echo);

impl tonic::server::UnaryService<Msg> for Say {
    type Response = Msg;
    type Future = BoxFuture<tonic::Response<Msg>, Status>;

    fn call(&mut self, request: tonic::Request<Msg>) -> Self::Future {
        let echo = self.0.clone();
        Box::pin(async move { echo.say(request).await.map(tonic::Response::new) })
    }
}

struct Count;

type Stream = Pin<Box<dyn tokio_stream::Stream<Item = Result<Msg, Status>> + Send>>;

impl tonic::server::ServerStreamingService<Msg> for Count {
    type Response = Msg;
    type ResponseStream = Stream;
    type Future = BoxFuture<tonic::Response<Stream>, Status>;

    fn call(&mut self, request: tonic::Request<Msg>) -> Self::Future {
        let first = request.into_inner();
        let items = [Ok(first), Err(Status::data_loss("lost the rest"))];
        let stream: Stream = Box::pin(tokio_stream::iter(items));
        Box::pin(async move { Ok(tonic::Response::new(stream)) })
    }
}

impl Echo {
    async fn say(&self, request: tonic::Request<Msg>) -> Result<Msg, Status> {
        let seen = |name: &str| {
            let v = request.metadata().get(name).and_then(|v| v.to_str().ok());
            v.unwrap_or_default().to_owned()
        };
        let text = match request.get_ref().text.as_str() {
            "ok" => json!({
                "traceparent": seen("traceparent"),
                "tracestate": seen("tracestate"),
                "baggage": seen("baggage"),
                "b3": seen("b3"),
                "trace_id": livetel::propagation::trace_id(&tracing::Span::current()),
            }),
            "missing" => return Err(Status::not_found("no such thing")),
            "fail" => return Err(Status::internal("broken")),
            "relay" => self.relay().await,
            other => return Err(Status::invalid_argument(other.to_owned())),
        };
        Ok(Msg {
            text: text.to_string(),
        })
    }

    /// Calls downstream with `ok`, `missing` and `fail`: the first answer, the two codes.
    async fn relay(&self) -> serde_json::Value {
        let downstream = self.downstream.as_deref().unwrap_or_default();
        let ok = call(downstream, "ok", &[]).await;
        let ok: serde_json::Value = match ok {
            Ok(m) => serde_json::from_str(&m.text).unwrap_or_default(),
            Err(s) => json!(s.code() as i32),
        };
        let missing = call(downstream, "missing", &[]).await.err().map(|s| s.code());
        let fail = call(downstream, "fail", &[]).await.err().map(|s| s.code());
        json!({"seen": ok, "missing": code(missing), "fail": code(fail)})
    }
}

fn code(c: Option<Code>) -> i32 {
    c.map_or(0, |c| c as i32)
}

/// Serves `echo` behind `livetel::grpc::ServerLayer` on a free loopback port.
pub async fn serve(echo: Echo) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let server = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .layer(livetel::grpc::ServerLayer::new())
            .add_service(echo)
            .serve_with_incoming(incoming)
            .await
            .expect("serve");
    });
    (addr, server)
}

/// One `Say` call to `endpoint` through a fresh channel behind `livetel::grpc::ClientLayer`, with `metadata` set
/// by hand (the layer writes its own span's context over it where livetel records the span).
pub async fn call(endpoint: &str, text: &str, metadata: &[(&'static str, &str)]) -> Result<Msg, Status> {
    let uri: Uri = endpoint.parse().expect("endpoint");
    let channel = connect(&uri).await;
    let channel = livetel::grpc::ClientLayer::new().server(&uri).layer(channel);
    let mut request = tonic::Request::new(Msg {
        text: text.to_owned(),
    });
    for (key, value) in metadata {
        let value = value.parse().expect("ASCII");
        request.metadata_mut().insert(*key, value);
    }
    say(tonic::client::Grpc::new(channel), request).await
}

/// One `Say("ok")` call to `endpoint` with `livetel::grpc::inject` as the channel's interceptor, no client span.
pub async fn call_intercepted(endpoint: &str) -> Result<Msg, Status> {
    let uri: Uri = endpoint.parse().expect("endpoint");
    let channel = InterceptedService::new(connect(&uri).await, livetel::grpc::inject);
    let request = tonic::Request::new(Msg {
        text: "ok".to_owned(),
    });
    say(tonic::client::Grpc::new(channel), request).await
}

async fn connect(uri: &Uri) -> tonic::transport::Channel {
    tonic::transport::Channel::builder(uri.clone())
        .connect()
        .await
        .expect("connect")
}

async fn say<T>(mut grpc: tonic::client::Grpc<T>, request: tonic::Request<Msg>) -> Result<Msg, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.into().to_string()))?;
    let path = PathAndQuery::from_static(SAY);
    let codec = ProstCodec::<Msg, Msg>::default();
    grpc.unary(request, path, codec)
        .await
        .map(tonic::Response::into_inner)
}

/// One `Count` call to `endpoint` behind `livetel::grpc::ClientLayer`: the messages received, and the status
/// that ended the stream.
pub async fn count(endpoint: &str) -> (Vec<String>, Status) {
    let uri: Uri = endpoint.parse().expect("endpoint");
    let channel = tonic::transport::Channel::builder(uri.clone())
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(livetel::grpc::ClientLayer::new().server(&uri).layer(channel));
    grpc.ready().await.expect("ready");
    let request = tonic::Request::new(Msg {
        text: "one".to_owned(),
    });
    let path = PathAndQuery::from_static(COUNT);
    let codec = ProstCodec::<Msg, Msg>::default();
    let mut stream = grpc
        .server_streaming(request, path, codec)
        .await
        .expect("the stream starts")
        .into_inner();
    let mut got = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(m)) => got.push(m.text),
            Ok(None) => return (got, Status::ok("")),
            Err(s) => return (got, s),
        }
    }
}

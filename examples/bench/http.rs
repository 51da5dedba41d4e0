//! P12_http: the per-request cost of HTTP spans — a server span and a client span, the client's context
//! injected — with livetel (`livetel::http::trace_layer()` on the axum router, `livetel::http::send` on the
//! reqwest call) against the static stack a user builds from the same crates: axum-tracing-opentelemetry's
//! `OtelAxumLayer` on the router, reqwest-middleware with reqwest-tracing's `TracingMiddleware` on the client,
//! over tracing-opentelemetry with the SDK's batch processor and the same gRPC exporter, to the same sink.
//!
//! reqwest-tracing 0.7 supports OpenTelemetry up to 0.32 only (its `opentelemetry_0_32` feature), so it is used
//! without one: it makes the client span, and a middleware of three lines injects that span's context with the
//! global `TraceContextPropagator`, as its OpenTelemetry feature does. Only with `--features http`.
//!
//! Each stack runs an axum server and a reqwest client on one current-thread runtime under its dispatcher; the
//! figure is the CPU time of that thread per request above the same service with no tracing at all (measured
//! in the same rounds), so the HTTP work both stacks share cancels out: (livetel - bare) / (baseline - bare).

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use http::Extensions;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use tracing::Dispatch;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::measure::{Delivery, Figure, ab, cpu_ns, median};
use crate::sink::Sink;
use crate::stacks::{Livetel, base, otel_layer, otlp_body, otlp_provider};

const QUEUE: usize = 65_536;
const BATCH: usize = 512;

/// Injects the current span's OpenTelemetry context into the request (what reqwest-tracing's OpenTelemetry
/// feature does after making its span).
struct Inject;

#[async_trait::async_trait]
impl Middleware for Inject {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let cx = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut Headers(req.headers_mut()));
        });
        next.run(req, extensions).await
    }
}

/// A request's headers as an OpenTelemetry injector.
struct Headers<'a>(&'a mut http::HeaderMap);

impl opentelemetry::propagation::Injector for Headers<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// How one stack serves and calls.
#[derive(Clone, Copy)]
enum Stack {
    Livetel,
    Baseline,
    Bare,
}

async fn user() -> &'static str {
    "ok"
}

fn router(stack: Stack) -> Router {
    let app = Router::new().route("/users/{id}", get(user));
    match stack {
        Stack::Livetel => app.layer(livetel::http::trace_layer()),
        Stack::Baseline => app.layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
        Stack::Bare => app,
    }
}

/// CPU ns of the serving and calling thread per request, `n` requests on one kept-alive connection.
fn per_request(stack: Stack, dispatch: &Dispatch, n: u64) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tracing::dispatcher::with_default(dispatch, || {
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr: SocketAddr = listener.local_addr().expect("addr");
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener, router(stack)).await;
            });
            let plain = reqwest::Client::new();
            let traced: ClientWithMiddleware = ClientBuilder::new(plain.clone())
                .with(reqwest_tracing::TracingMiddleware::default())
                .with(Inject)
                .build();
            let url = format!("http://{addr}/users/7");
            // One request first: the connection and the callsites exist before the clock starts.
            let _ = plain.get(&url).send().await;
            let start = crate::measure::thread_cpu_ns().unwrap_or(0);
            for _ in 0..n {
                let answer = match stack {
                    Stack::Livetel => livetel::http::send(plain.get(&url)).await,
                    Stack::Baseline => traced.get(&url).send().await.map_err(|e| match e {
                        reqwest_middleware::Error::Reqwest(e) => e,
                        reqwest_middleware::Error::Middleware(e) => panic!("middleware: {e}"),
                    }),
                    Stack::Bare => plain.get(&url).send().await,
                };
                let _ = answer.expect("the server answers").bytes().await;
            }
            let spent = crate::measure::thread_cpu_ns().unwrap_or(0) - start;
            server.abort();
            spent as f64 / n as f64
        })
    })
}

/// P12_http: (livetel − bare) / (baseline − bare), CPU ns per request, with what each stack delivered.
pub fn http(rounds: usize, requests: u64, sink: &Sink, rt: &tokio::runtime::Runtime) -> Figure {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![Box::new(
        TraceContextPropagator::new(),
    )]));
    let l = Livetel::start(&otlp_body(&sink.endpoint, QUEUE, BATCH), false);
    let provider: SdkTracerProvider = otlp_provider(&sink.endpoint, rt, QUEUE, BATCH);
    let baseline = Dispatch::new(base().with(otel_layer(&provider)));
    let bare = Dispatch::none();
    let _ = cpu_ns(|| {});
    let bare_ns = std::cell::RefCell::new(Vec::new());
    let mut theirs_delivered = 0;
    let before = sink.received();
    let m = ab(
        rounds,
        || {
            let x = per_request(Stack::Livetel, l.dispatch(), requests);
            let b = per_request(Stack::Bare, &bare, requests);
            bare_ns.borrow_mut().push(b);
            x - b
        },
        || {
            let y = per_request(Stack::Baseline, &baseline, requests);
            let b = per_request(Stack::Bare, &bare, requests);
            bare_ns.borrow_mut().push(b);
            y - b
        },
    );
    l.settle();
    let c = l.tel.counters();
    let _ = provider.force_flush();
    theirs_delivered += sink.received().saturating_sub(before).saturating_sub(c.exported);
    // Each round also makes one server span per stack before the clock starts (the warm-up request).
    let made = (2 * requests + 1) * rounds as u64;
    let note = format!(
        "server + client span per request, above the untraced service ({:.0} ns/request); vs axum-tracing-opentelemetry + reqwest-tracing over tracing-opentelemetry",
        median(bare_ns.into_inner())
    );
    Figure::paired("P12_http", m, "cpu ns/request", "<= 0.5", note).with_delivery(
        Delivery::of(c.started, c.exported),
        Delivery::of(made, theirs_delivered),
    )
}

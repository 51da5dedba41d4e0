//! An HTTP service with server and client spans (feature `http`): `livetel::http::trace_layer()` makes a server
//! span per request, named by its route and joined to the caller's trace; `livetel::http::send` makes a client
//! span and carries its context to the next service. Both follow OpenTelemetry's HTTP semantic conventions.
//!
//! ```sh
//! cargo run --example axum_service --features http          # serves, calls itself three times, exits
//! cargo run --example axum_service --features http -- serve # serves on 127.0.0.1:3000 until Ctrl-C
//! ```
//!
//! `GET /hello/{name}` calls `GET /greeting/{name}` over HTTP: one trace, four spans (client, server
//! `GET /hello/{name}`, its client `GET`, server `GET /greeting/{name}`). The trace goes to a Chrome trace file
//! (its path is printed); set `backend = "otlp"` to send it to a collector.

use std::error::Error;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

const CONFIG: &str = r#"[telemetry]
backend = "local"
service_name = "axum-service"
propagators = ["tracecontext", "baggage"]
"#;

/// Calls the greeting service (here: this same process) under the request's span.
async fn hello(State(base): State<String>, Path(name): Path<String>) -> String {
    let client = reqwest::Client::new();
    let sent = livetel::http::send(client.get(format!("{base}/greeting/{name}"))).await;
    match sent {
        Ok(response) => response.text().await.unwrap_or_else(|e| format!("no body: {e}")),
        Err(e) => format!("greeting service unreachable: {e}"),
    }
}

async fn greeting(Path(name): Path<String>) -> String {
    tracing::info!(%name, "greeting");
    format!("hello, {name}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("livetel-axum-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("telemetry.toml");
    let traces = dir.join("traces").display().to_string();
    std::fs::write(
        &path,
        format!("{CONFIG}[telemetry.local]\ntrace_dir = {traces:?}\n"),
    )?;
    let telemetry = livetel::init(&path)?;

    let serve = std::env::args().nth(1).as_deref() == Some("serve");
    let addr: SocketAddr = if serve { "127.0.0.1:3000" } else { "127.0.0.1:0" }.parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/greeting/{name}", get(greeting))
        .layer(livetel::http::trace_layer()) // after the routes: spans are named by the route template
        .with_state(base.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    if serve {
        println!("serving {base}/hello/{{name}}; Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    } else {
        let client = reqwest::Client::new();
        for name in ["ada", "grace", "edsger"] {
            let span = tracing::info_span!("demo.client", otel.kind = "client", %name);
            let answer = async {
                livetel::http::send(client.get(format!("{base}/hello/{name}")))
                    .await?
                    .text()
                    .await
            };
            let answer = tracing::Instrument::instrument(answer, span.clone()).await?;
            println!(
                "{answer} (trace {})",
                livetel::propagation::trace_id(&span).unwrap_or_default()
            );
        }
    }
    server.abort();
    let status = telemetry.refresh_status();
    drop(telemetry);
    for sink in &status.sinks {
        if let Some(file) = &sink.trace_file {
            println!(
                "trace file: {} (open it in https://ui.perfetto.dev)",
                file.display()
            );
        }
    }
    Ok(())
}

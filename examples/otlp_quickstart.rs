//! The smallest program that exports to an OpenTelemetry collector: a config with `backend = "otlp"`, `init`,
//! spans and events, and the guard dropped at the end (it flushes what is queued).
//!
//! ```sh
//! cargo run --example otlp_quickstart                       # to a collector at http://127.0.0.1:4317 (gRPC)
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317 cargo run --example otlp_quickstart
//! docker compose -f deploy/docker-compose.yml up -d         # a collector, Jaeger, Prometheus and Grafana
//! ```
//!
//! With no collector listening, the spans are counted as dropped (the summary line says how many): nothing
//! blocks the program.

use std::error::Error;

const CONFIG: &str = r#"[telemetry]
backend = "otlp"
service_name = "otlp-quickstart"

[telemetry.otlp]
endpoint = "http://127.0.0.1:4317"   # OTEL_EXPORTER_OTLP_ENDPOINT overrides it
protocol = "grpc"

[telemetry.otlp.batch]
scheduled_delay_ms = 200
"#;

fn main() -> Result<(), Box<dyn Error>> {
    // A real service keeps this file next to its own config and edits it while running.
    let path = std::env::temp_dir().join(format!("livetel-quickstart-{}.toml", std::process::id()));
    std::fs::write(&path, CONFIG)?;
    let telemetry = livetel::init(&path)?;

    for order in 0..5 {
        let span = tracing::info_span!("order.process", order, otel.kind = "server");
        let _entered = span.enter();
        tracing::info!(items = order + 1, "order accepted");
        tracing::info_span!("db.query", db.system = "postgresql").in_scope(|| {
            std::thread::sleep(std::time::Duration::from_millis(5));
        });
    }

    let counts = telemetry.shutdown(); // flushes and waits for the exporter, with a time limit
    std::fs::remove_file(&path)?;
    println!(
        "spans started {}, exported {}, dropped {}",
        counts.started, counts.exported, counts.dropped
    );
    Ok(())
}

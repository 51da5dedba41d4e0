//! The stacks compared: livetel from a config file, and what a user would hand-build from the same crates
//! with the same settings (tracing-subscriber Registry + EnvFilter + tracing-chrome, or + tracing-opentelemetry
//! with the SDK's batch processor and the same OTLP exporter).

use std::path::{Path, PathBuf};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

/// livetel running from a config file in a temp dir (no SIGHUP handler).
pub struct Livetel {
    pub tel: livetel::Telemetry,
    pub config: PathBuf,
    pub dir: tempfile::TempDir,
    watch: bool,
}

impl Livetel {
    pub fn start(body: &str, watch: bool) -> Livetel {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("telemetry.toml");
        std::fs::write(&config, section(dir.path(), body, watch)).expect("write config");
        let tel = livetel::Builder::new(&config)
            .env_overrides(livetel::config::env::EnvOverrides::from_lookup(|_| None))
            .reload_on_sighup(false)
            .build()
            .unwrap_or_else(|e| panic!("livetel starts: {e}"));
        Livetel {
            tel,
            config,
            dir,
            watch,
        }
    }

    /// Rewrites the config (keeping `watch`).
    pub fn write(&self, body: &str) {
        std::fs::write(&self.config, section(self.dir.path(), body, self.watch)).expect("write config");
    }

    pub fn dispatch(&self) -> &Dispatch {
        self.tel.dispatch().expect("own subscriber")
    }

    /// Waits until every started span is exported or dropped (background writers idle again).
    pub fn settle(&self) {
        for _ in 0..2000 {
            if self.tel.counters().in_flight() == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

fn section(dir: &Path, body: &str, watch: bool) -> String {
    format!(
        "[telemetry]\nwatch = {watch}\ntrace_dir = {:?}\nservice_name = \"bench\"\n{body}\n",
        dir.join("traces").display().to_string()
    )
}

/// Registry + EnvFilter("info") + tracing-chrome, writing to `dir`. One per process: tracing-chrome's
/// per-thread sender binds a thread to the first ChromeLayer it writes to.
pub fn chrome_baseline(dir: &Path) -> (Dispatch, tracing_chrome::FlushGuard) {
    let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
        .file(dir.join("baseline.json"))
        .include_args(true)
        .build();
    let subscriber = Registry::default().with(EnvFilter::new("info")).with(layer);
    (Dispatch::new(subscriber), guard)
}

/// Registry + EnvFilter("info") + tracing-opentelemetry over an SDK provider with the batch processor and the
/// same gRPC exporter livetel uses, built inside `rt` as tonic requires.
pub fn otel_baseline(endpoint: &str, rt: &tokio::runtime::Runtime) -> (Dispatch, SdkTracerProvider) {
    otel_baseline_sized(endpoint, rt, 2048, 512)
}

/// As [`otel_baseline`], with the batch processor's queue and batch sizes set.
pub fn otel_baseline_sized(
    endpoint: &str,
    rt: &tokio::runtime::Runtime,
    queue: usize,
    batch: usize,
) -> (Dispatch, SdkTracerProvider) {
    let exporter = {
        let _enter = rt.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .expect("baseline exporter")
    };
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(queue)
        .with_max_export_batch_size(batch)
        .with_scheduled_delay(std::time::Duration::from_millis(20))
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(config)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("bench");
    let subscriber = Registry::default()
        .with(EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(tracer));
    (Dispatch::new(subscriber), provider)
}

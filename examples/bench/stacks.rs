//! The stacks compared: livetel from a config file, and what a user would hand-build from the same crates
//! with the same settings (tracing-subscriber Registry + EnvFilter + tracing-chrome, or + tracing-opentelemetry
//! with the SDK's batch processor and the same OTLP exporter), statically or behind a `reload` handle.

use std::path::{Path, PathBuf};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanExporter,
};
use tracing::Dispatch;
use tracing_chrome::ChromeLayer;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// livetel running from a config file in a temp dir (no SIGHUP handler).
pub struct Livetel {
    pub tel: livetel::Telemetry,
    pub config: PathBuf,
    pub dir: tempfile::TempDir,
    watch: bool,
    /// The subscriber the spans go through: livetel's own, or a registry holding livetel's layer.
    dispatch: Dispatch,
}

impl Livetel {
    /// livetel alone: the subscriber `Builder::build` makes.
    pub fn start(body: &str, watch: bool) -> Livetel {
        let (config, dir) = config_file(body, watch);
        let tel = builder(&config)
            .build()
            .unwrap_or_else(|e| panic!("livetel starts: {e}"));
        let dispatch = tel.dispatch().expect("own subscriber").clone();
        Livetel {
            tel,
            config,
            dir,
            watch,
            dispatch,
        }
    }

    /// livetel as a layer of a user's stack (`Builder::build_layer`): its per-layer filter decides.
    pub fn start_layer(body: &str) -> Livetel {
        let (config, dir) = config_file(body, false);
        let (layer, tel) = builder(&config)
            .build_layer()
            .unwrap_or_else(|e| panic!("livetel starts: {e}"));
        Livetel {
            tel,
            config,
            dir,
            watch: false,
            dispatch: Dispatch::new(Registry::default().with(layer)),
        }
    }

    /// Rewrites the config (keeping `watch`).
    pub fn write(&self, body: &str) {
        std::fs::write(&self.config, section(self.dir.path(), body, self.watch)).expect("write config");
    }

    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Shuts livetel down (queued records written, files finished); returns its final counts and its
    /// directory, which lives as long as the caller keeps it.
    pub fn shutdown(self) -> (livetel::status::SpanCounts, tempfile::TempDir) {
        (self.tel.shutdown(), self.dir)
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

/// A temp dir holding the config file.
fn config_file(body: &str, watch: bool) -> (PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("telemetry.toml");
    std::fs::write(&config, section(dir.path(), body, watch)).expect("write config");
    (config, dir)
}

fn builder(config: &Path) -> livetel::Builder {
    livetel::Builder::new(config)
        .env_overrides(livetel::config::EnvOverrides::from_lookup(|_| None))
        .reload_on_sighup(false)
}

/// The config file: `body` after the keys every figure shares. `service_name` defaults to "bench" unless `body`
/// sets it (a key set twice makes the file invalid TOML, and livetel would reject the reload).
fn section(dir: &Path, body: &str, watch: bool) -> String {
    let service = if body.contains("service_name") {
        ""
    } else {
        "service_name = \"bench\"\n"
    };
    format!(
        "[telemetry]\nwatch = {watch}\n{service}{body}\n[telemetry.local]\ntrace_dir = {:?}\n",
        dir.join("traces").display().to_string()
    )
}

/// What every hand-built stack layers its backend onto: Registry + EnvFilter("info").
pub type Base = Layered<EnvFilter, Registry>;

pub fn base() -> Base {
    Registry::default().with(EnvFilter::new("info"))
}

/// A tracing-chrome layer writing `file`, span fields included (as livetel records them).
pub fn chrome_layer(file: &Path) -> (ChromeLayer<Base>, tracing_chrome::FlushGuard) {
    tracing_chrome::ChromeLayerBuilder::new()
        .file(file)
        .include_args(true)
        .build()
}

/// Registry + EnvFilter("info") + tracing-chrome, writing `file`. Build it on the thread that will trace:
/// tracing-chrome's per-thread sender binds a thread to the first ChromeLayer it writes to, except the thread
/// that builds a layer, which is rebound to it.
pub fn chrome_baseline(file: &Path) -> (Dispatch, tracing_chrome::FlushGuard) {
    let (layer, guard) = chrome_layer(file);
    (Dispatch::new(base().with(layer)), guard)
}

/// tracing-chrome as one layer of a user's stack, behind its own per-layer `EnvFilter("info")`: the static
/// counterpart of livetel's `LiveLayer`. Build it on the thread that will trace (see [`chrome_baseline`]).
pub fn chrome_filtered_baseline(file: &Path) -> (Dispatch, tracing_chrome::FlushGuard) {
    let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
        .file(file)
        .include_args(true)
        .build();
    let layer = layer.with_filter(EnvFilter::new("info"));
    (Dispatch::new(Registry::default().with(layer)), guard)
}

/// The design livetel replaced: the backend layer behind a `tracing_subscriber::reload` handle, over
/// Registry + EnvFilter("info") as in the static stacks.
pub fn reloadable<L: Layer<Base> + Send + Sync + 'static>(layer: L) -> (Dispatch, reload::Handle<L, Base>) {
    let (layer, handle) = reload::Layer::new(layer);
    (Dispatch::new(base().with(layer)), handle)
}

/// The tracing-opentelemetry layer the OTLP baselines use, over `provider`'s tracer.
pub type OtelLayer = OpenTelemetryLayer<Base, SdkTracer>;

/// A tracing-opentelemetry layer exporting through `provider`.
pub fn otel_layer(provider: &SdkTracerProvider) -> OtelLayer {
    tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))
}

/// An SDK provider with the batch processor (queue and batch sizes as given, 20 ms scheduled delay, as the
/// livetel configs of the OTLP figures) over `exporter`.
pub fn sdk_provider(exporter: impl SpanExporter + 'static, queue: usize, batch: usize) -> SdkTracerProvider {
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(queue)
        .with_max_export_batch_size(batch)
        .with_scheduled_delay(std::time::Duration::from_millis(20))
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(config)
        .build();
    SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build()
}

/// An SDK provider with the batch processor and the same gRPC exporter livetel uses, sending to `endpoint`,
/// built inside `rt` as tonic requires.
pub fn otlp_provider(
    endpoint: &str,
    rt: &tokio::runtime::Runtime,
    queue: usize,
    batch: usize,
) -> SdkTracerProvider {
    let exporter = {
        let _enter = rt.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .expect("baseline exporter")
    };
    sdk_provider(exporter, queue, batch)
}

/// Registry + EnvFilter("info") + tracing-opentelemetry over an SDK provider with the batch processor and the
/// same gRPC exporter livetel uses, default queue and batch sizes (2048, 512).
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
    let provider = otlp_provider(endpoint, rt, queue, batch);
    (Dispatch::new(base().with(otel_layer(&provider))), provider)
}

/// livetel's `[telemetry]` body for an OTLP figure: the sink, and the same batch settings as the baseline's
/// batch processor (queue, batch, 20 ms scheduled delay), so both stacks export alike.
pub fn otlp_body(endpoint: &str, queue: usize, batch: usize) -> String {
    format!(
        "backend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{endpoint}\"\n[telemetry.otlp.batch]\nmax_queue_size = {queue}\n\
         max_export_batch_size = {batch}\nscheduled_delay_ms = 20"
    )
}

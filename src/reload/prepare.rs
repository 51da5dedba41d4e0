//! The fallible half of a reload: build everything the new config needs, touching nothing that runs.
//! A sink whose settings did not change is reused, so a new sample rate or filter keeps the same file.

use std::sync::Arc;

use std::sync::mpsc::Receiver;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::backend::chrome::{ChromeSettings, ChromeSink};
use crate::backend::otlp::runtime::ExportRuntime;
use crate::backend::otlp::{OtlpSettings, OtlpSink};
use crate::backend::Sink;
use crate::config::{validate, Backend, TelemetryConfig};
use crate::counters::Counters;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::generation::Generation;
use crate::sampler::Sampler;
use crate::vault::SecretHeaders;

/// What a prepare step needs besides the config.
pub(crate) struct BuildContext {
    pub(crate) config_path: std::path::PathBuf,
    pub(crate) session_id: String,
    pub(crate) counters: Arc<Counters>,
    /// Called from a writer thread when its sink's state changes (an I/O error), to republish status.
    pub(crate) on_sink_change: Arc<dyn Fn() + Send + Sync>,
    /// Where OTLP exports run; started with the first OTLP sink.
    pub(crate) export_rt: OnceLock<ExportRuntime>,
    /// Export workers of retired OTLP sinks still finishing; shutdown waits for them.
    pub(crate) pending: Arc<Mutex<Vec<Receiver<()>>>>,
}

impl BuildContext {
    pub(crate) fn new(
        config_path: std::path::PathBuf,
        session_id: String,
        counters: Arc<Counters>,
        on_sink_change: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        BuildContext {
            config_path,
            session_id,
            counters,
            on_sink_change,
            export_rt: OnceLock::new(),
            pending: Arc::default(),
        }
    }

    fn export_runtime(&self) -> std::io::Result<&ExportRuntime> {
        if let Some(rt) = self.export_rt.get() {
            return Ok(rt);
        }
        let rt = ExportRuntime::new()?;
        Ok(self.export_rt.get_or_init(|| rt))
    }
}

/// A generation built and ready to swap in.
pub(crate) struct Prepared {
    pub(crate) gen: Arc<Generation>,
    pub(crate) config: Arc<TelemetryConfig>,
}

/// Builds the generation for `next`, reusing `old`'s sink where its settings are unchanged.
pub(crate) fn prepare(
    cx: &BuildContext,
    old: Option<(&TelemetryConfig, &Generation)>,
    next: TelemetryConfig,
    headers: Option<SecretHeaders>,
    id: u64,
) -> Result<Prepared, ConfigError> {
    let backend = next.effective_backend();
    let reused = old
        .filter(|(cfg, g)| sink_settings_equal(cfg, g, &next, headers.as_ref()))
        .map(|(_, g)| g.sink.clone());
    let sink = match reused {
        Some(sink) => sink,
        None => build_sink(cx, &next, headers)?,
    };
    let filter = match backend {
        Backend::None => None,
        _ => Some(validate::parse_filter(&next.filter).map_err(|e| {
            error(
                cx,
                "telemetry.filter",
                ConfigErrorKind::InvalidValue {
                    message: format!("invalid filter: {e}"),
                },
            )
        })?),
    };
    let gen = Generation {
        id,
        // In EnvFilter's syntax every span directive is bracketed (`[span{field=value}]=level`).
        filter_tracks_spans: filter.is_some() && next.filter.contains('['),
        filter,
        sampler: Sampler::new(next.sample_rate),
        sink,
        include_args: next.include_args,
        counters: Arc::clone(&cx.counters),
    };
    Ok(Prepared {
        gen: Arc::new(gen),
        config: Arc::new(next),
    })
}

fn sink_settings_equal(
    a: &TelemetryConfig,
    old: &Generation,
    b: &TelemetryConfig,
    headers: Option<&SecretHeaders>,
) -> bool {
    let backend = a.effective_backend();
    backend == b.effective_backend()
        && match backend {
            Backend::None => true,
            Backend::Local => a.trace_dir == b.trace_dir && a.service_name == b.service_name,
            Backend::Otlp => match &old.sink {
                Sink::Otlp(s) => s.settings == otlp_settings(b, headers.cloned()),
                _ => false,
            },
        }
}

fn build_sink(
    cx: &BuildContext,
    cfg: &TelemetryConfig,
    headers: Option<SecretHeaders>,
) -> Result<Sink, ConfigError> {
    match cfg.effective_backend() {
        Backend::None => Ok(Sink::None),
        Backend::Local => {
            let settings = ChromeSettings {
                dir: cfg.trace_dir.clone(),
                session_id: cx.session_id.clone(),
                service_name: cfg.service_name.clone(),
            };
            ChromeSink::create(
                &settings,
                Arc::clone(&cx.counters),
                Arc::clone(&cx.on_sink_change),
            )
            .map(|s| Sink::Local(Arc::new(s)))
            .map_err(|e| {
                let message = format!("cannot create a trace file in {}: {e}", cfg.trace_dir.display());
                error(cx, "telemetry.trace_dir", ConfigErrorKind::Build { message })
            })
        }
        Backend::Otlp => {
            let build_err =
                |message: String| error(cx, "telemetry.otlp_endpoint", ConfigErrorKind::Build { message });
            let rt = cx
                .export_runtime()
                .map_err(|e| build_err(format!("cannot start the export runtime: {e}")))?;
            let sink = OtlpSink::create(
                &otlp_settings(cfg, headers),
                rt,
                Arc::clone(&cx.counters),
                Arc::clone(&cx.on_sink_change),
                Arc::clone(&cx.pending),
            )
            .map_err(build_err)?;
            Ok(Sink::Otlp(Arc::new(sink)))
        }
    }
}

pub(crate) fn otlp_settings(cfg: &TelemetryConfig, headers: Option<SecretHeaders>) -> OtlpSettings {
    let b = &cfg.otlp.batch;
    OtlpSettings {
        protocol: cfg.otlp_protocol,
        endpoint: cfg.otlp_traces_url(),
        timeout: Duration::from_millis(cfg.otlp_timeout_ms),
        max_queue_size: b.max_queue_size,
        max_export_batch_size: b.max_export_batch_size.min(b.max_queue_size),
        scheduled_delay: Duration::from_millis(b.scheduled_delay_ms),
        service_name: cfg.service_name.clone(),
        service_version: cfg.service_version.clone(),
        resource: cfg.resource.clone(),
        headers,
    }
}

fn error(cx: &BuildContext, key: &str, kind: ConfigErrorKind) -> ConfigError {
    ConfigError {
        path: cx.config_path.clone(),
        position: None,
        key: Some(key.to_owned()),
        kind,
    }
}

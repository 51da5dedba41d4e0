//! The metrics signal's reload half: what it reads of the config, how it builds its hook, and its status.
//! (`crate::reload::signal` plugs it into the reload path: this module never imports `reload`.)
//!
//! The [`MetricsSignal`] lives as long as the `Telemetry`; it owns the [`Store`] (made at the first enable,
//! with that config's `buckets`) and hands it to every hook it builds, so no reload resets a count. The
//! `/metrics` server belongs to the hooks that serve it: `prepare` reuses a running server whose `listen` is
//! the same (found through a weak reference), or binds a new one (a port in use fails the reload at
//! `metrics.listen`, and the last good config keeps running); a replaced server stops when the last
//! generation holding a hook that holds it retires.

use std::sync::{Arc, Mutex, Weak};

use super::expose;
use super::format::Format;
use super::hook::MetricsHook;
use super::otlp::{self, Exporter};
use super::server::{Render, Server};
use super::store::Store;
use crate::config::TelemetryConfig;
use crate::counters::Counters;
use crate::status::{MetricsOtlpStatus, MetricsStatus, TelemetryStatus};
use crate::traces::hooks::SpanHook;
use crate::vault::SecretHeaders;

/// The metric families of span metrics, each of which may overflow.
const SPAN_METRICS: [&str; 3] = [
    "livetel_span_duration_seconds",
    "livetel_span_calls_total",
    "livetel_span_errors_total",
];

/// The metrics signal.
pub(crate) struct MetricsSignal {
    /// livetel's own counters, served beside the span metrics.
    counters: Option<Arc<Counters>>,
    /// What every OTLP exporter shares (export counters, delta baseline): never reset.
    export: Arc<otlp::Shared>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    store: Option<Arc<Store>>,
    /// Every server started, while one lives.
    servers: Vec<Weak<Server>>,
    /// Every hook built, while one lives: status finds the running one among them.
    hooks: Vec<Weak<MetricsHook>>,
    /// Every OTLP exporter started, while one lives.
    exporters: Vec<Weak<Exporter>>,
}

impl MetricsSignal {
    /// The signal, serving `counters` (livetel's own) beside span metrics when given.
    pub(crate) fn new(counters: Option<Arc<Counters>>) -> MetricsSignal {
        let export = Arc::new(otlp::Shared::new(counters.clone().unwrap_or_default()));
        MetricsSignal {
            counters,
            export,
            state: Mutex::new(State::default()),
        }
    }

    /// A running exporter built from the same `settings`, or a new one.
    fn exporter(
        &self,
        state: &mut State,
        settings: otlp::Settings,
        store: &Arc<Store>,
    ) -> Result<Arc<Exporter>, MetricsError> {
        state.exporters.retain(|e| e.strong_count() > 0);
        let running = state.exporters.iter().filter_map(Weak::upgrade);
        if let Some(e) = running.into_iter().find(|e| e.settings == settings) {
            return Ok(e);
        }
        let exporter = Exporter::start(settings, Arc::clone(store), Arc::clone(&self.export))
            .map(Arc::new)
            .map_err(|message| MetricsError {
                key: "otlp.endpoint",
                message,
            })?;
        state.exporters.push(Arc::downgrade(&exporter));
        Ok(exporter)
    }

    /// A running server on `listen`, or a new one.
    fn server(
        &self,
        state: &mut State,
        listen: &str,
        store: &Arc<Store>,
    ) -> Result<Arc<Server>, MetricsError> {
        state.servers.retain(|s| s.strong_count() > 0);
        if let Some(s) = state
            .servers
            .iter()
            .filter_map(Weak::upgrade)
            .find(|s| s.listen == listen)
        {
            return Ok(s);
        }
        let (store, counters) = (Arc::clone(store), self.counters.clone());
        let render: Render = Arc::new(move |format: Format| {
            expose::render(&store, counters.as_deref(), format).map_err(|e| e.to_string())
        });
        let server = Server::start(listen, render).map_err(|e| MetricsError {
            key: "metrics.listen",
            message: e.to_string(),
        })?;
        let server = Arc::new(server);
        state.servers.push(Arc::downgrade(&server));
        Ok(server)
    }
}

/// The metrics signal could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct MetricsError {
    /// The key concerned, relative to `[telemetry]`.
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

impl MetricsSignal {
    /// Its name, in the activation and in each generation's hooks.
    pub(crate) const NAME: &'static str = "metrics";

    /// The keys it reads: its table, the service name (a label), the master switch, and what OTLP metrics go
    /// with (the backends, the `otlp` table and its headers, the resource).
    pub(crate) const READS: &'static [&'static str] = &[
        "metrics",
        "service_name",
        "enabled",
        "backend",
        "otlp",
        "service_version",
        "resource",
    ];

    /// Its hook for `cfg` (`None` when metrics are off), sharing the store; binds `listen` unless a running
    /// server has it; exports to the `otlp` backend (with the vault's `headers`) when it is configured, through
    /// a running exporter built from the same settings or a new one.
    ///
    /// # Errors
    /// `metrics.listen` when the address cannot be bound or served; `otlp.endpoint` when an exporter cannot
    /// start.
    pub(crate) fn prepare(
        &self,
        cfg: &TelemetryConfig,
        headers: Option<&SecretHeaders>,
    ) -> Result<Option<Arc<dyn SpanHook>>, MetricsError> {
        if !(cfg.enabled && cfg.metrics.enabled) {
            return Ok(None);
        }
        let Ok(mut state) = self.state.lock() else {
            let message = "the metrics signal's state is poisoned".to_owned();
            return Err(MetricsError {
                key: "metrics",
                message,
            });
        };
        let m = &cfg.metrics;
        let store = Arc::clone(
            state
                .store
                .get_or_insert_with(|| Arc::new(Store::new(&m.buckets))),
        );
        let server = match &m.listen {
            Some(listen) => Some(self.server(&mut state, listen, &store)?),
            None => None,
        };
        let exporter = match otlp::Settings::of(cfg, headers) {
            Some(settings) => Some(self.exporter(&mut state, settings, &store)?),
            None => None,
        };
        let hook = Arc::new(
            MetricsHook::new(store, &cfg.service_name, &m.span_labels, m.max_series, server)
                .exporting(exporter),
        );
        state.hooks.retain(|h| h.strong_count() > 0);
        state.hooks.push(Arc::downgrade(&hook));
        Ok(Some(hook))
    }

    /// Fills `status.metrics` (and its overflow warnings) when `running`, the current generation's metrics
    /// hook, is one of this signal's; marks its OTLP exporter as the running one (status is published after
    /// every activation), the one that makes a final export when it stops.
    pub(crate) fn report(&self, running: Option<&Arc<dyn SpanHook>>, status: &mut TelemetryStatus) {
        let Some(running) = running else {
            return;
        };
        let Ok(state) = self.state.lock() else {
            return;
        };
        let hook = state
            .hooks
            .iter()
            .filter_map(Weak::upgrade)
            .find(|h| std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(running)));
        let (Some(hook), Some(store)) = (hook, &state.store) else {
            return;
        };
        if let Some(e) = &hook.exporter {
            e.mark_running();
        }
        let overflowed: Vec<String> = match store.overflowed() {
            true => SPAN_METRICS.iter().map(|m| (*m).to_owned()).collect(),
            false => Vec::new(),
        };
        for metric in &overflowed {
            status.warnings.push(format!(
                "metrics: {metric} reached `max_series` ({}) label sets; spans of new ones count in its \
                 otel_metric_overflow=\"true\" series",
                hook.max_series
            ));
        }
        status.metrics = Some(MetricsStatus {
            enabled: true,
            listen: hook.server.as_ref().map(|s| s.bound),
            series: store.len(),
            overflowed,
            otlp: hook.exporter.as_ref().map(|e| self.export_status(&e.settings)),
        });
    }

    /// Status of OTLP metrics sent as `s` says.
    fn export_status(&self, s: &otlp::Settings) -> MetricsOtlpStatus {
        MetricsOtlpStatus {
            endpoint: s.url.clone(),
            protocol: s.protocol.as_str(),
            temporality: match s.temporality {
                crate::config::Temporality::Cumulative => "cumulative",
                crate::config::Temporality::Delta => "delta",
            },
            interval_ms: u64::try_from(s.interval.as_millis()).unwrap_or(u64::MAX),
            counts: self.export.counters.metrics_export.snapshot(),
            last_error: self.export.last_error(),
        }
    }
}

//! Renders [`TelemetryStatus`] from the running state.

use std::sync::atomic::Ordering;

use crate::backend::Sink;
use crate::config::TelemetryConfig;
use crate::generation::Generation;
use crate::layer::Placement;
use crate::reload::live::Live;
use crate::reload::prepare::BuildContext;
use crate::reload::retire::Retirer;
use crate::status::{
    self, EnvOverride, LastError, LayerState, LayerStatus, OtlpStatus, ReloadCounts, TelemetryStatus, Trigger,
};

/// The parts of status that are not derived from the running generation.
pub(crate) struct View {
    pub(crate) generation: u64,
    pub(crate) trigger: Trigger,
    pub(crate) applied_at: String,
    pub(crate) restart_required: Vec<&'static str>,
    pub(crate) env_overrides: Vec<(&'static str, &'static str)>,
    pub(crate) warnings: Vec<String>,
    pub(crate) last_error: Option<LastError>,
    pub(crate) reloads: ReloadCounts,
    /// Where the layer is installed: alone, or in the user's stack.
    pub(crate) placement: Placement,
}

impl View {
    pub(crate) fn new(generation: u64, placement: Placement) -> Self {
        View {
            generation,
            trigger: Trigger::Init,
            applied_at: status::now_rfc3339(),
            restart_required: Vec::new(),
            env_overrides: Vec::new(),
            warnings: Vec::new(),
            last_error: None,
            reloads: ReloadCounts::default(),
            placement,
        }
    }

    pub(crate) fn applied(&mut self, generation: u64, trigger: Trigger) {
        self.generation = generation;
        self.trigger = trigger;
        self.applied_at = status::now_rfc3339();
        self.last_error = None;
    }

    pub(crate) fn render(
        &self,
        cfg: &TelemetryConfig,
        live: &Live,
        retirer: &Retirer,
        cx: &BuildContext,
    ) -> TelemetryStatus {
        let current = live.current_full();
        let mut layers = vec![layer(&current, LayerState::Active)];
        let draining = retirer.draining_ids();
        for g in live.draining().iter().filter(|g| draining.contains(&g.id)) {
            layers.push(layer(g, LayerState::Draining));
        }
        TelemetryStatus {
            generation: self.generation,
            trigger: self.trigger,
            applied_at: self.applied_at.clone(),
            config_path: cx.config_path.clone(),
            backend: cfg.effective_backend(),
            enabled: cfg.enabled,
            sample_rate: cfg.sample_rate,
            include_args: cfg.include_args,
            filter: cfg.filter.clone(),
            service_name: cfg.service_name.clone(),
            trace_file: current.sink.trace_file().map(ToOwned::to_owned),
            layers,
            restart_required: self.restart_required.iter().map(|s| (*s).to_owned()).collect(),
            env_overrides: self
                .env_overrides
                .iter()
                .map(|(field, variable)| EnvOverride { field, variable })
                .collect(),
            warnings: self
                .warnings
                .iter()
                .cloned()
                .chain(live.registration_problem(self.placement))
                .collect(),
            last_error: self.last_error.clone(),
            counters: cx.counters.snapshot(),
            reloads: self.reloads,
        }
    }
}

fn layer(g: &Generation, open_state: LayerState) -> LayerStatus {
    let otlp = match &g.sink {
        Sink::Otlp(s) => Some(OtlpStatus {
            endpoint: s.settings.endpoint.clone(),
            protocol: s.settings.protocol.as_str(),
            spans_exported: s.state.exported.load(Ordering::Relaxed),
            spans_dropped: s.state.dropped.load(Ordering::Relaxed),
            failed_batches: s.state.failed_batches.load(Ordering::Relaxed),
            header_names: s.settings.headers.as_ref().map(|h| h.names()).unwrap_or_default(),
        }),
        _ => None,
    };
    LayerStatus {
        backend: g.sink.kind(),
        generation: g.id,
        state: if g.sink.is_closed() {
            LayerState::Closed
        } else {
            open_state
        },
        trace_file: g.sink.trace_file().map(ToOwned::to_owned),
        error: g.sink.last_error(),
        otlp,
    }
}

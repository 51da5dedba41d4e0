//! Renders [`TelemetryStatus`] from the running state.

use crate::config::TelemetryConfig;
use crate::console::ConsoleSpec;
use crate::reload::plan::BuildContext;
use crate::reload::retire::Retirer;
use crate::status::{
    self, ConsoleStatus, EnvOverride, LastError, LastReload, LogFileStatus, ReloadCounts, ReloadOutcomeKind,
    SamplingStatus, SinkState, SinkStatus, TelemetryStatus, Trigger,
};
use crate::traces::Placement;
use crate::traces::generation::Generation;
use crate::traces::live::Live;

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
    /// The active temporary overrides.
    pub(crate) overrides: Vec<crate::status::OverrideStatus>,
    /// The admin endpoint, while it serves.
    pub(crate) admin: Option<crate::status::AdminStatus>,
    /// The last reload attempt and the keys it changed.
    pub(crate) last_reload: Option<LastReload>,
    /// Where the layer is installed: alone, or in the user's stack.
    pub(crate) placement: Placement,
}

impl View {
    pub(crate) fn new(placement: Placement) -> Self {
        View {
            generation: 0,
            trigger: Trigger::Init,
            applied_at: status::now_rfc3339(),
            restart_required: Vec::new(),
            env_overrides: Vec::new(),
            warnings: Vec::new(),
            last_error: None,
            reloads: ReloadCounts::default(),
            overrides: Vec::new(),
            admin: None,
            last_reload: None,
            placement,
        }
    }

    /// A config was applied (its generation is already in `generation`); `changed`: its keys for status.
    pub(crate) fn applied(&mut self, trigger: Trigger, changed: Vec<String>) {
        self.trigger = trigger;
        self.last_error = None;
        let reload = LastReload::new(ReloadOutcomeKind::Applied, trigger, self.generation, changed);
        self.applied_at.clone_from(&reload.at);
        self.last_reload = Some(reload);
    }

    /// A reload attempt ended without a new config (unchanged or rejected): it changed no key.
    pub(crate) fn not_applied(&mut self, outcome: ReloadOutcomeKind, trigger: Trigger) {
        self.last_reload = Some(LastReload::new(outcome, trigger, self.generation, Vec::new()));
    }

    pub(crate) fn render(
        &self,
        cfg: &TelemetryConfig,
        live: &Live,
        retirer: &Retirer,
        cx: &BuildContext,
    ) -> TelemetryStatus {
        let current = live.current_full();
        let mut sinks = rows(&current, SinkState::Active);
        // The current generation's rows come first: its file is the first one they name.
        let trace_file = sinks.iter().find_map(|s| s.trace_file.clone());
        let draining = retirer.draining_ids();
        for g in live.draining().iter().filter(|g| draining.contains(&g.id)) {
            sinks.extend(rows(g, SinkState::Draining));
        }
        let mut status = TelemetryStatus {
            generation: self.generation,
            trigger: self.trigger,
            applied_at: self.applied_at.clone(),
            config_path: cx.config_path.clone(),
            backend: cfg.effective_backends(),
            enabled: cfg.enabled,
            sample_rate: cfg.sample_rate,
            include_args: cfg.include_args,
            filter: cfg.filter.clone(),
            service_name: cfg.service_name.clone(),
            propagators: cfg.propagators.clone(),
            trace_file,
            console: current.console.as_deref().map(console_row),
            logs_filter: current
                .logs_filter
                .is_some()
                .then(|| cfg.logs_filter().to_owned()),
            sinks,
            restart_required: self.restart_required.iter().map(|s| (*s).to_owned()).collect(),
            env_overrides: self
                .env_overrides
                .iter()
                .map(|(key, variable)| EnvOverride::new(key, variable))
                .collect(),
            warnings: self
                .warnings
                .iter()
                .cloned()
                .chain(live.registration_problem(self.placement))
                .collect(),
            last_error: self.last_error.clone(),
            counters: cx.sinks.counters.snapshot(),
            logs: cx.sinks.counters.log_snapshot(),
            sampling: SamplingStatus {
                strategy: cfg.sampling.strategy,
                probability: cfg.sample_rate,
                always_sample_errors: cfg.sampling.always_sample_errors,
                always_sample_slow_seconds: cfg.sampling.always_sample_slow_seconds,
                traces: cx.sinks.counters.traces.snapshot(),
            },
            reloads: self.reloads,
            overrides: self.overrides.clone(),
            admin: self.admin.clone(),
            last_reload: self.last_reload.clone(),
            metrics: None,
            #[cfg(feature = "profiling")]
            profiling: None,
        };
        for signal in &cx.signals {
            let running = current.hooks.iter().find(|(n, _)| *n == signal.name());
            signal.report(running.map(|(_, hook)| hook), &mut status);
        }
        status
    }
}

fn console_row(c: &ConsoleSpec) -> ConsoleStatus {
    ConsoleStatus {
        format: c.config.format.as_str(),
        writer: c.config.writer.as_str(),
        filter: c.config.filter.clone(),
        ansi: c.ansi,
        file: c.file.as_ref().map(|f| {
            let figures = f.figures();
            LogFileStatus {
                path: figures.current,
                lines_written: figures.written,
                lines_dropped: figures.dropped,
                error: figures.error,
            }
        }),
    }
}

/// A generation's rows: one per sink, or one `none` row when it records nothing.
fn rows(g: &Generation, state: SinkState) -> Vec<SinkStatus> {
    if !g.sinks.records() {
        return vec![SinkStatus {
            backend: "none",
            generation: g.id,
            state,
            trace_file: None,
            error: None,
            logs_exported: 0,
            logs_dropped: 0,
            otlp: None,
        }];
    }
    g.sinks.iter().map(|s| s.status(g.id, state)).collect()
}

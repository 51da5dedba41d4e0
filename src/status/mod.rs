//! What is active, published on a `tokio::sync::watch` channel after every reload and backend state change.
//!
//! # Examples
//! ```no_run
//! # fn main() -> Result<(), livetel::InitError> {
//! let telemetry = livetel::init("config/telemetry.toml")?;
//! let status = telemetry.status().borrow().clone();
//! println!("{}", serde_json::to_string(&*status).unwrap());
//! # Ok(()) }
//! ```

use std::path::PathBuf;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::config::Backends;
pub use crate::counters::{LogCounts, MetricsExportCounts, SpanCounts, TraceCounts};
use crate::error::ConfigError;

mod signals;
pub use signals::*;

/// What caused a reload. New causes are added as livetel grows: match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Trigger {
    /// The first config, at start-up.
    Init,
    /// The file watcher saw the file change.
    Watcher,
    /// SIGHUP.
    Signal,
    /// [`crate::ReloadTrigger::reload`].
    Manual,
    /// [`crate::Handle`]: a config given in code.
    Handle,
    /// A temporary override was added or removed ([`crate::Handle::override_toml`]).
    Override,
    /// A temporary override expired: the base config (with the overrides left) is back.
    OverrideExpired,
    /// `POST /reload` on the admin endpoint.
    Admin,
    /// Shutdown of the guard.
    Shutdown,
}

/// Where a sink of a generation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SinkState {
    /// Takes new traces.
    Active,
    /// Replaced; finishing the traces that began in it.
    Draining,
    /// Stopped taking records.
    Closed,
}

/// One sink of a live generation: an entry of [`TelemetryStatus::sinks`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SinkStatus {
    /// The backend: `local`, `otlp`, or `none` for a generation that records nothing.
    pub backend: &'static str,
    /// The generation it belongs to.
    pub generation: u64,
    /// Where it is in its life.
    pub state: SinkState,
    /// Its Chrome trace file, for `local`.
    pub trace_file: Option<PathBuf>,
    /// Its last I/O or export error.
    pub error: Option<String>,
    /// Log records it wrote (`local`) or the collector accepted (`otlp`).
    pub logs_exported: u64,
    /// Log records it dropped: queue full, write or export failed, or closed.
    pub logs_dropped: u64,
    /// Export figures, for `otlp`.
    pub otlp: Option<OtlpStatus>,
}

/// What an OTLP sink has done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OtlpStatus {
    /// Where it exports (the full URL).
    pub endpoint: String,
    /// `grpc` or `http/protobuf`.
    pub protocol: &'static str,
    /// Spans the collector accepted.
    pub spans_exported: u64,
    /// Spans dropped: queue full, or their batch failed every attempt.
    pub spans_dropped: u64,
    /// Batches given up after every attempt failed.
    pub failed_batches: u64,
    /// Names of the auth headers from the vault (never their values).
    pub header_names: Vec<String>,
}

/// The console, when it is on: [`TelemetryStatus::console`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConsoleStatus {
    /// `compact`, `pretty` or `json`.
    pub format: &'static str,
    /// `stderr` or `stdout`.
    pub writer: &'static str,
    /// The console's filter directives (`RUST_LOG` when it overrides them).
    pub filter: String,
    /// Whether lines carry colours.
    pub ansi: bool,
    /// The JSON log file, when one is configured.
    pub file: Option<LogFileStatus>,
}

/// The console's JSON log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogFileStatus {
    /// Today's file.
    pub path: PathBuf,
    /// Lines written since it was opened.
    pub lines_written: u64,
    /// Lines lost: the writer's queue was full, or the file could not be written.
    pub lines_dropped: u64,
    /// Its last problem (a write error, or the file deleted and reopened), if any.
    pub error: Option<String>,
}

/// The error of the last reload that did not take effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LastError {
    /// The whole sentence, with file, line and column.
    pub message: String,
    /// The config file.
    pub path: PathBuf,
    /// 1-based line, when the error has a place.
    pub line: Option<usize>,
    /// 1-based column, when the error has a place.
    pub column: Option<usize>,
    /// The dotted key, when one is concerned.
    pub key: Option<String>,
    /// What tried to reload.
    pub trigger: Trigger,
    /// When (RFC 3339, UTC).
    pub at: String,
}

impl LastError {
    pub(crate) fn new(e: &ConfigError, trigger: Trigger) -> Self {
        LastError {
            message: e.to_string(),
            path: e.path.clone(),
            line: e.position.map(|p| p.line),
            column: e.position.map(|p| p.column),
            key: e.key.clone(),
            trigger,
            at: now_rfc3339(),
        }
    }
}

/// A field shadowed by an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EnvOverride {
    /// The `[telemetry]` field, by the name it had before the nested tables (`otlp_endpoint`), as earlier
    /// versions of status named it.
    pub field: &'static str,
    /// The field's dotted key in the config (`otlp.endpoint`).
    pub key: &'static str,
    /// The variable that sets it.
    pub variable: &'static str,
}

impl EnvOverride {
    pub(crate) fn new(key: &'static str, variable: &'static str) -> Self {
        EnvOverride {
            field: crate::config::flat_name(key),
            key,
            variable,
        }
    }
}

/// `[telemetry.sampling]` as applied, and its outcomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SamplingStatus {
    /// The head strategy (`always_on`, `always_off`, `probability`, `parent_based`).
    pub strategy: crate::config::Strategy,
    /// The head probability (`sample_rate`).
    pub probability: f64,
    /// Traces with a span in error are kept whatever the head decided.
    pub always_sample_errors: bool,
    /// Traces whose local root lasts longer are kept whatever the head decided.
    pub always_sample_slow_seconds: Option<f64>,
    /// Traces by outcome since start-up, and the tail buffer now.
    pub traces: TraceCounts,
}

/// A temporary override laid over the config: an entry of [`TelemetryStatus::overrides`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OverrideStatus {
    /// Its id, to remove it early ([`crate::Handle::remove_override`]).
    pub id: u64,
    /// The dotted keys it sets (`["filter", "sample_rate"]`).
    pub keys: Vec<String>,
    /// When it expires (RFC 3339, UTC).
    pub expires_at: String,
}

/// The admin endpoint, while it serves: [`TelemetryStatus::admin`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdminStatus {
    /// The address it listens on (with the port chosen, when the config asked for port 0).
    pub address: String,
    /// Whether its write routes need a bearer token.
    pub token_required: bool,
}

/// How reload attempts ended, since start-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReloadCounts {
    /// Became a new generation.
    pub applied: u64,
    /// Effective config unchanged (identical content, other tables, comments).
    pub unchanged: u64,
    /// Invalid or could not be built; the last good config kept running.
    pub rejected: u64,
}

/// How a reload attempt ended: [`LastReload::outcome`]. The kind of a [`crate::ReloadOutcome`], without its
/// payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReloadOutcomeKind {
    /// The config became the running one.
    Applied,
    /// The effective config (and its secret) was the running one already.
    Unchanged,
    /// Invalid or could not be built; the last good config kept running.
    Rejected,
}

/// The last reload attempt, whatever its outcome: [`TelemetryStatus::last_reload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LastReload {
    /// How it ended.
    pub outcome: ReloadOutcomeKind,
    /// What asked for it.
    pub trigger: Trigger,
    /// When it ended (RFC 3339, UTC).
    pub at: String,
    /// The generation running after it: the new one when applied, the one kept otherwise.
    pub generation: u64,
    /// The dotted keys under `[telemetry]` it changed, sorted (`["otlp.endpoint", "sampling.probability"]`;
    /// the head probability is always named `sampling.probability`, and `otlp.headers` says the OTLP headers
    /// resolved from the vault changed, never what they hold). Empty when unchanged or rejected: the running
    /// config did not change. At start-up (trigger `init`, outcome `applied`) the keys whose value differs from
    /// the defaults, environment overrides included. Restart-only keys are listed in
    /// [`TelemetryStatus::restart_required`] instead.
    pub changed: Vec<String>,
}

impl LastReload {
    pub(crate) fn new(
        outcome: ReloadOutcomeKind,
        trigger: Trigger,
        generation: u64,
        changed: Vec<String>,
    ) -> Self {
        LastReload {
            outcome,
            trigger,
            at: now_rfc3339(),
            generation,
            changed,
        }
    }
}

/// Everything a person or a tool needs to know about what is running.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TelemetryStatus {
    /// Increases by one with every applied config.
    pub generation: u64,
    /// What applied the current generation.
    pub trigger: Trigger,
    /// When the current generation was applied (RFC 3339, UTC).
    pub applied_at: String,
    /// The watched config file.
    pub config_path: PathBuf,
    /// The backends that record (`none` when disabled): a string for one, as before lists existed, and a list
    /// for several.
    pub backend: Backends,
    /// The `enabled` switch.
    pub enabled: bool,
    /// Fraction of traces kept.
    pub sample_rate: f64,
    /// Whether function arguments are recorded.
    pub include_args: bool,
    /// The active filter directives.
    pub filter: String,
    /// The service name.
    pub service_name: String,
    /// The header formats of trace context across services (`[telemetry] propagators`).
    pub propagators: Vec<crate::config::Propagator>,
    /// The current Chrome trace file, for `local`.
    pub trace_file: Option<PathBuf>,
    /// The console, when it is on.
    pub console: Option<ConsoleStatus>,
    /// The `[telemetry.logs]` filter while events become log records (logs on, and a backend that takes them);
    /// `None` otherwise.
    pub logs_filter: Option<String>,
    /// One entry per sink of the current generation and of the ones still draining (a generation that records
    /// nothing shows one `none` entry).
    ///
    /// In JSON the rows stand under `"sinks"`, and the same rows again under `"layers"`, their name in earlier
    /// versions: **deprecated**, kept so that tools reading it still work; read `"sinks"`.
    #[serde(flatten, serialize_with = "sinks_and_deprecated_layers")]
    pub sinks: Vec<SinkStatus>,
    /// Fields changed in the file that take effect only after a restart.
    pub restart_required: Vec<String>,
    /// Fields whose file value is shadowed by an `OTEL_*` variable.
    pub env_overrides: Vec<EnvOverride>,
    /// Deprecations and other things worth a look.
    pub warnings: Vec<String>,
    /// The last reload that did not take effect; cleared by the next good one.
    pub last_error: Option<LastError>,
    /// Span counts since start-up.
    pub counters: SpanCounts,
    /// Log record counts since start-up, over every backend that takes logs.
    pub logs: LogCounts,
    /// The sampling strategy and what it kept and dropped, per trace.
    pub sampling: SamplingStatus,
    /// Reload attempts since start-up.
    pub reloads: ReloadCounts,
    /// The temporary overrides laid over the config now, in the order they apply (a later one wins on a key
    /// both set).
    pub overrides: Vec<OverrideStatus>,
    /// The admin endpoint, while `[telemetry.admin] listen` is set.
    pub admin: Option<AdminStatus>,
    /// The last reload attempt (start-up is the first) and the keys it changed. Set in every published status.
    pub last_reload: Option<LastReload>,
    /// Span metrics, when they are on (`[telemetry.metrics]`).
    pub metrics: Option<MetricsStatus>,
    /// Time budgets and their counts, when some span name is or was budgeted (`[telemetry.budgets]`).
    pub budgets: Option<BudgetsStatus>,
    /// Profiling, when it is on (`[telemetry.profiling]`).
    #[cfg(feature = "profiling")]
    pub profiling: Option<ProfilingStatus>,
}

/// Writes the sink rows of [`TelemetryStatus::sinks`] under `"sinks"` and, for readers of earlier versions, the
/// same rows under their deprecated name `"layers"` (flattened into the status object).
fn sinks_and_deprecated_layers<S: Serializer>(rows: &[SinkStatus], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("sinks", rows)?;
    map.serialize_entry("layers", rows)?;
    map.end()
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with(sinks: Vec<SinkStatus>) -> TelemetryStatus {
        let sampling = crate::config::SamplingConfig::default();
        TelemetryStatus {
            generation: 1,
            trigger: Trigger::Init,
            applied_at: now_rfc3339(),
            config_path: PathBuf::from("telemetry.toml"),
            backend: Backends::default(),
            enabled: true,
            sample_rate: 1.0,
            include_args: false,
            filter: "info".to_owned(),
            service_name: "livetel".to_owned(),
            propagators: Vec::new(),
            trace_file: None,
            console: None,
            logs_filter: None,
            sinks,
            restart_required: Vec::new(),
            env_overrides: Vec::new(),
            warnings: Vec::new(),
            last_error: None,
            counters: SpanCounts::default(),
            logs: LogCounts::default(),
            sampling: SamplingStatus {
                strategy: sampling.strategy,
                probability: 1.0,
                always_sample_errors: sampling.always_sample_errors,
                always_sample_slow_seconds: sampling.always_sample_slow_seconds,
                traces: TraceCounts::default(),
            },
            reloads: ReloadCounts::default(),
            last_reload: None,
            metrics: None,
            budgets: None,
            #[cfg(feature = "profiling")]
            profiling: None,
            overrides: Vec::new(),
            admin: None,
        }
    }

    fn sink(backend: &'static str, generation: u64, state: SinkState) -> SinkStatus {
        SinkStatus {
            backend,
            generation,
            state,
            trace_file: Some(PathBuf::from(format!("trace-{generation}.json"))),
            error: None,
            logs_exported: 3,
            logs_dropped: 0,
            otlp: None,
        }
    }

    #[test]
    fn json_has_the_sinks_under_sinks_and_under_the_deprecated_layers() {
        let rows = vec![
            sink("local", 2, SinkState::Active),
            sink("local", 1, SinkState::Draining),
        ];
        let json = serde_json::to_value(status_with(rows.clone())).unwrap();
        assert_eq!(json["sinks"], serde_json::to_value(&rows).unwrap());
        assert_eq!(json["layers"], json["sinks"]);
        assert_eq!(json["sinks"][1]["state"], "draining");
        assert_eq!(json["generation"], 1, "the other fields stay where they were");
    }

    #[test]
    fn no_sinks_are_an_empty_list_under_both_names() {
        let json = serde_json::to_value(status_with(Vec::new())).unwrap();
        assert_eq!(json["sinks"], serde_json::json!([]));
        assert_eq!(json["layers"], serde_json::json!([]));
    }
}

//! The `[telemetry]` section: typed, defaulted, validated.
//!
//! Settings that concern one backend live in a table of their own: `[telemetry.local]` for the Chrome trace
//! files, `[telemetry.otlp]` (and `[telemetry.otlp.batch]`) for OTLP export, `[telemetry.vault]` for where
//! secrets come from, `[telemetry.console]` for printed event lines, `[telemetry.logs]` for events as log records,
//! `[telemetry.metrics]` for span metrics and `/metrics`, `[telemetry.profiling]` for allocations and CPU time
//! per span, process metrics and CPU profiles.
//! `[telemetry.sampling]` holds the sampling strategy and what is kept at a trace's tail (errors, slow traces)
//! within its bounds. Everything else stands at the top of `[telemetry]`. Every key has a default, so an empty
//! table is valid.
//!
//! The flat keys of earlier versions (`trace_dir`, `otlp_endpoint`, `otlp_protocol`, `otlp_timeout_ms`,
//! `otlp_headers_vault_key`, `otlp_headers_required` at the top of `[telemetry]`, and zeph's
//! `system_metrics_interval_secs`, `pyroscope_endpoint`) still work: each is read as its
//! nested key, with a deprecation warning in status. Setting a flat key and its nested key both is an error.
//!
//! Use [`read_file`] to check a file without starting anything, [`parse_str`] for text held in memory.
//!
//! # Examples
//! ```
//! use livetel::config::{Backend, OtlpProtocol};
//!
//! let cfg = livetel::config::parse_str(
//!     "app.toml",
//!     r#"
//! [server]
//! port = 8080
//!
//! [telemetry]
//! backend = "otlp"
//! sample_rate = 0.25
//!
//! [telemetry.local]
//! trace_dir = "/var/tmp/traces"
//!
//! [telemetry.otlp]
//! endpoint = "http://collector:4318"
//! protocol = "http/protobuf"
//! headers_vault_key = "OTLP_AUTH"
//!
//! [telemetry.otlp.batch]
//! max_queue_size = 4096
//! "#,
//! )?;
//! assert_eq!(cfg.backend, Backend::Otlp);
//! assert_eq!(cfg.sample_rate, 0.25);
//! assert_eq!(cfg.local.trace_dir, std::path::Path::new("/var/tmp/traces"));
//! assert_eq!(cfg.otlp.protocol, OtlpProtocol::HttpProtobuf);
//! assert_eq!(cfg.otlp.traces_url(), "http://collector:4318/v1/traces");
//! assert_eq!(cfg.otlp.batch.max_queue_size, 4096);
//! # Ok::<(), livetel::ConfigError>(())
//! ```

mod admin;
mod alias;
pub(crate) use alias::flat_name;
mod backends;
pub(crate) mod budgets;
mod console;
mod diff;
pub(crate) mod env;
mod keys;
mod legacy;
pub(crate) mod load;
mod location;
mod logs;
pub(crate) mod metrics;
pub(crate) mod profiling;
mod propagators;
pub(crate) mod sampling;
#[cfg(feature = "schema")]
mod schema;
mod url;
pub(crate) mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::vault::{SourceKind, VaultConfig};
pub use admin::AdminConfig;
pub(crate) use admin::validate as validate_admin;
pub use backends::Backends;
pub use budgets::{BudgetsConfig, format_duration, parse_duration};
pub use console::{Ansi, ConsoleConfig, ConsoleFormat, ConsoleWriter};
pub use diff::ConfigDiff;
pub use env::EnvOverrides;
pub(crate) use load::load_file;
pub use load::parse_str;
pub use logs::LogsConfig;
pub use metrics::{MetricsConfig, Temporality};
pub use profiling::{ProfilingConfig, SpanLabels};
pub use propagators::Propagator;
pub use sampling::{SamplingConfig, Strategy};
#[cfg(feature = "schema")]
pub use schema::json_schema;

use crate::error::ConfigError;

/// Reads and validates the `[telemetry]` section of the TOML file at `path`, without starting anything: to check
/// a file before it is deployed. `OTEL_*` environment overrides are not applied.
///
/// # Errors
/// [`ConfigError`] with the file, line, column and key when the file is missing, unreadable, not UTF-8, too
/// large, not TOML, or its section is invalid.
pub fn read_file(path: impl AsRef<Path>) -> Result<TelemetryConfig, ConfigError> {
    load_file(path.as_ref()).map(|loaded| loaded.config)
}

/// Where spans go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum Backend {
    /// Nothing is recorded; tracing macros cost about what they cost with no subscriber.
    None,
    /// Chrome trace JSON files under `[telemetry.local] trace_dir` (open them in Perfetto).
    #[default]
    Local,
    /// OpenTelemetry OTLP export, configured in `[telemetry.otlp]`.
    Otlp,
}

impl Backend {
    /// Every backend, in the order they are listed to people.
    pub const ALL: [Backend; 3] = [Backend::Otlp, Backend::None, Backend::Local];

    /// The backend named `name` as config files write it (`OTEL_TRACES_EXPORTER` uses the same names).
    ///
    /// ```
    /// use livetel::config::Backend;
    /// assert_eq!(Backend::from_name("otlp"), Some(Backend::Otlp));
    /// assert_eq!(Backend::from_name("zipkin"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.as_str() == name)
    }

    /// The name used in config files and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::None => "none",
            Backend::Local => "local",
            Backend::Otlp => "otlp",
        }
    }
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP/gRPC (default port 4317).
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl OtlpProtocol {
    /// The name used in config files, `OTEL_EXPORTER_OTLP_PROTOCOL` and status.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }

    /// The collector's usual local address for this protocol.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "http://localhost:4317",
            OtlpProtocol::HttpProtobuf => "http://localhost:4318",
        }
    }
}

/// `[telemetry.local]`: the `local` backend's Chrome trace files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct LocalConfig {
    /// Directory of the trace files; created when missing.
    pub trace_dir: PathBuf,
    /// A trace file about to pass this many MiB is finished (valid JSON) and a new one begun in the same
    /// directory; `0`: no limit. With `max_files`, what the backend keeps on disk is bounded.
    pub max_file_mb: u64,
    /// Files the backend keeps, the one it writes included: past it, the oldest file it wrote is deleted
    /// (never a file it did not write). At least 1.
    pub max_files: u32,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            trace_dir: PathBuf::from(".local/traces"),
            max_file_mb: 256,
            max_files: 4,
        }
    }
}

/// `[telemetry.otlp]`: the `otlp` backend's collector, transport and export queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct OtlpConfig {
    /// Collector base URL (default per protocol: `http://localhost:4317` / `:4318`). For HTTP, `/v1/traces` is
    /// appended unless the URL already ends with it.
    pub endpoint: Option<String>,
    /// `"grpc"` or `"http/protobuf"`.
    pub protocol: OtlpProtocol,
    /// Time limit of one export request, in milliseconds.
    pub timeout_ms: u64,
    /// The name of the secret holding the OTLP headers (see `[telemetry.vault]`). Header values never go in here.
    pub headers_vault_key: Option<String>,
    /// Reject the config when that secret is missing (otherwise: a warning, and export without auth).
    pub headers_required: bool,
    /// `[telemetry.otlp.batch]`.
    pub batch: BatchConfig,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: None,
            protocol: OtlpProtocol::Grpc,
            timeout_ms: 10_000,
            headers_vault_key: None,
            headers_required: false,
            batch: BatchConfig::default(),
        }
    }
}

impl OtlpConfig {
    /// The export URL: the endpoint (or the protocol's default), with `/v1/traces` for HTTP.
    ///
    /// ```
    /// let mut otlp = livetel::config::OtlpConfig::default();
    /// otlp.endpoint = Some("http://127.0.0.1:4318/".into());
    /// otlp.protocol = livetel::config::OtlpProtocol::HttpProtobuf;
    /// assert_eq!(otlp.traces_url(), "http://127.0.0.1:4318/v1/traces");
    /// ```
    pub fn traces_url(&self) -> String {
        let base = self
            .endpoint
            .as_deref()
            .unwrap_or(self.protocol.default_endpoint());
        match self.protocol {
            OtlpProtocol::Grpc => base.to_owned(),
            OtlpProtocol::HttpProtobuf if base.trim_end_matches('/').ends_with("/v1/traces") => {
                base.to_owned()
            }
            OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
        }
    }
}

/// `[telemetry.otlp.batch]`: the export queue and batches (OpenTelemetry's batch processor defaults).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct BatchConfig {
    /// Spans queued for export before new ones are dropped (and counted).
    pub max_queue_size: usize,
    /// Spans per export request (clamped to `max_queue_size`, as OpenTelemetry SDKs do).
    pub max_export_batch_size: usize,
    /// Longest wait for a batch to fill, in milliseconds.
    pub scheduled_delay_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay_ms: 5000,
        }
    }
}

/// The typed `[telemetry]` table. Every field has a default, so an empty table is valid.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct TelemetryConfig {
    /// Master switch: `false` records nothing, whatever `backend` says.
    pub enabled: bool,
    /// Where spans go: one backend or a list (`["local", "otlp"]`); every sampled span goes to each.
    pub backend: Backends,
    /// Record function arguments of `#[livetel::instrument]` functions as span attributes.
    pub include_args: bool,
    /// Fraction of traces kept, decided at the root span and inherited by its children (`0.0..=1.0`); the short
    /// form of `sampling.probability`.
    pub sample_rate: f64,
    /// `EnvFilter` directives, e.g. `"info,my_crate=debug"`.
    pub filter: String,
    /// The `service.name` written into traces.
    pub service_name: String,
    /// The `service.version` resource attribute.
    pub service_version: Option<String>,
    /// `[telemetry.resource]`: extra resource attributes.
    pub resource: BTreeMap<String, String>,
    /// Quiet time after a file change before it is reloaded, in milliseconds (`1..=60000`).
    pub reload_debounce_ms: u64,
    /// How long a retired generation may keep unfinished spans before it is closed, in milliseconds.
    pub drain_timeout_ms: u64,
    /// Watch the config file for changes. Read once at start: changing it needs a restart.
    pub watch: bool,
    /// The header formats trace context travels in (`"tracecontext"`, `"baggage"`, `"b3"`, `"b3multi"`).
    pub propagators: Vec<Propagator>,
    /// `[telemetry.sampling]`: the head strategy, and the errors and slow traces kept at their tail.
    pub sampling: SamplingConfig,
    /// `[telemetry.local]`: the `local` backend.
    pub local: LocalConfig,
    /// `[telemetry.otlp]`: the `otlp` backend.
    pub otlp: OtlpConfig,
    /// `[telemetry.vault]`: where secrets come from.
    pub vault: VaultConfig,
    /// `[telemetry.console]`: event lines for people (and a JSON file).
    pub console: ConsoleConfig,
    /// `[telemetry.logs]`: events as log records.
    pub logs: LogsConfig,
    /// `[telemetry.metrics]`: span metrics, served on `/metrics`.
    pub metrics: MetricsConfig,
    /// `[telemetry.admin]`: the operators' HTTP endpoint.
    pub admin: AdminConfig,
    /// `[telemetry.budgets]`: time budgets by span name.
    pub budgets: BudgetsConfig,
    /// `[telemetry.profiling]`: allocations and CPU time per span, process metrics, CPU profiles.
    pub profiling: ProfilingConfig,
}

/// Fields that only take effect after a restart; a change to one is reported in status, never ignored.
pub(crate) const RESTART_REQUIRED: &[&str] = &["watch", "metrics.buckets"];

/// Dotted keys (relative to `[telemetry]`) that would put secret header values into the file; rejected with a
/// pointer to the vault.
pub(crate) const SECRET_KEYS: &[&str] = &[
    "otlp_headers",
    "headers",
    "otlp_header",
    "authorization",
    "otlp.headers",
    "otlp.header",
    "otlp.authorization",
];

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            backend: Backend::Local.into(),
            include_args: false,
            sample_rate: 1.0,
            filter: "info".to_owned(),
            service_name: "livetel".to_owned(),
            service_version: None,
            resource: BTreeMap::new(),
            reload_debounce_ms: 100,
            drain_timeout_ms: 10_000,
            watch: true,
            propagators: Propagator::defaults(),
            sampling: SamplingConfig::default(),
            local: LocalConfig::default(),
            otlp: OtlpConfig::default(),
            vault: VaultConfig::default(),
            console: ConsoleConfig::default(),
            logs: LogsConfig::default(),
            metrics: MetricsConfig::default(),
            admin: AdminConfig::default(),
            budgets: BudgetsConfig::default(),
            profiling: ProfilingConfig::default(),
        }
    }
}

impl TelemetryConfig {
    /// The backends that actually record: none when telemetry is disabled.
    pub fn effective_backends(&self) -> Backends {
        if self.enabled {
            self.backend.clone()
        } else {
            Backends::default()
        }
    }

    /// The directives of `[telemetry.logs]`: its own `filter`, else the console's.
    pub fn logs_filter(&self) -> &str {
        self.logs.filter.as_deref().unwrap_or(&self.console.filter)
    }

    /// Names of the restart-only fields whose value differs between `self` and `other`.
    pub fn restart_required_changes(&self, other: &TelemetryConfig) -> Vec<&'static str> {
        ConfigDiff::between(Some(self), other).split_restart_required()
    }
}

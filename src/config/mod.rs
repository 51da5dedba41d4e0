//! The `[telemetry]` section: typed, defaulted, validated.
//!
//! A config moves through three steps, each in its own file:
//! [`load`] reads the file and finds the section (migrating legacy sections), [`validate`] checks ranges and
//! filter directives, and [`env`] applies the standard `OTEL_*` overrides. [`location`] turns byte offsets into
//! the line and column every error names.
//!
//! # Examples
//! ```
//! let cfg = livetel::config::parse_str(
//!     "app.toml",
//!     "[server]\nport = 8080\n\n[telemetry]\nbackend = \"local\"\nsample_rate = 0.25\n",
//! )
//! .unwrap();
//! assert_eq!(cfg.backend, livetel::config::Backend::Local);
//! assert_eq!(cfg.sample_rate, 0.25);
//! ```

pub mod env;
mod legacy;
pub mod load;
pub mod location;
pub mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use load::{load_file, parse_str};

/// Where spans go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Nothing is recorded; tracing macros cost about what they cost with no subscriber.
    None,
    /// Chrome trace JSON files under `trace_dir` (open them in Perfetto).
    #[default]
    Local,
    /// OpenTelemetry OTLP export.
    Otlp,
}

impl Backend {
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

/// `[telemetry.otlp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpSection {
    /// `[telemetry.otlp.batch]`.
    pub batch: BatchConfig,
}

/// `[telemetry.otlp.batch]`: the export queue and batches (OpenTelemetry's batch processor defaults).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
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
pub struct TelemetryConfig {
    /// Master switch: `false` records nothing, whatever `backend` says.
    pub enabled: bool,
    /// Where spans go.
    pub backend: Backend,
    /// Directory of the `local` backend's Chrome trace files; created when missing.
    pub trace_dir: PathBuf,
    /// Record function arguments of `#[livetel::instrument]` functions as span attributes.
    pub include_args: bool,
    /// Fraction of traces kept, decided at the root span and inherited by its children (`0.0..=1.0`).
    pub sample_rate: f64,
    /// `EnvFilter` directives, e.g. `"info,my_crate=debug"`.
    pub filter: String,
    /// The `service.name` written into traces.
    pub service_name: String,
    /// Quiet time after a file change before it is reloaded, in milliseconds (`1..=60000`).
    pub reload_debounce_ms: u64,
    /// How long a retired generation may keep unfinished spans before it is closed, in milliseconds.
    pub drain_timeout_ms: u64,
    /// Watch the config file for changes. Read once at start: changing it needs a restart.
    pub watch: bool,
    /// OTLP collector base URL (default per protocol: `http://localhost:4317` / `:4318`). For HTTP, `/v1/traces`
    /// is appended unless the URL already ends with it.
    pub otlp_endpoint: Option<String>,
    /// `"grpc"` or `"http/protobuf"`.
    pub otlp_protocol: OtlpProtocol,
    /// Time limit of one export request, in milliseconds.
    pub otlp_timeout_ms: u64,
    /// `[telemetry.otlp]`: batch settings.
    pub otlp: OtlpSection,
    /// The `service.version` resource attribute.
    pub service_version: Option<String>,
    /// `[telemetry.resource]`: extra resource attributes.
    pub resource: BTreeMap<String, String>,
    /// The name of the secret holding the OTLP headers (see [`crate::vault`]). Header values never go in here.
    pub otlp_headers_vault_key: Option<String>,
    /// Reject the config when that secret is missing (otherwise: a warning, and export without auth).
    pub otlp_headers_required: bool,
    /// `[telemetry.vault]`: where secrets come from.
    pub vault: crate::vault::VaultConfig,
}

/// Fields that only take effect after a restart; a change to one is reported in status, never ignored.
pub const RESTART_REQUIRED: &[&str] = &["watch"];

/// Every key the `[telemetry]` table accepts, for unknown-key hints.
pub const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "backend",
    "trace_dir",
    "include_args",
    "sample_rate",
    "filter",
    "service_name",
    "reload_debounce_ms",
    "drain_timeout_ms",
    "watch",
    "otlp_endpoint",
    "otlp_protocol",
    "otlp_timeout_ms",
    "otlp",
    "service_version",
    "resource",
    "otlp_headers_vault_key",
    "otlp_headers_required",
    "vault",
];

/// Keys that would put secret header values into the file; rejected with a pointer to the vault.
pub const SECRET_KEYS: &[&str] = &[
    "otlp_headers",
    "headers",
    "otlp_header",
    "otlp.headers",
    "authorization",
];

/// Keys of the nested tables, for the same hints there.
pub const KNOWN_NESTED: &[(&str, &[&str])] = &[
    ("otlp", &["batch"]),
    (
        "otlp.batch",
        &["max_queue_size", "max_export_batch_size", "scheduled_delay_ms"],
    ),
];

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            backend: Backend::Local,
            trace_dir: PathBuf::from(".local/traces"),
            include_args: false,
            sample_rate: 1.0,
            filter: "info".to_owned(),
            service_name: "livetel".to_owned(),
            reload_debounce_ms: 100,
            drain_timeout_ms: 10_000,
            watch: true,
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::Grpc,
            otlp_timeout_ms: 10_000,
            otlp: OtlpSection::default(),
            service_version: None,
            resource: BTreeMap::new(),
            otlp_headers_vault_key: None,
            otlp_headers_required: false,
            vault: crate::vault::VaultConfig::default(),
        }
    }
}

impl TelemetryConfig {
    /// The backend that actually records: `None` when telemetry is disabled.
    pub fn effective_backend(&self) -> Backend {
        if self.enabled {
            self.backend
        } else {
            Backend::None
        }
    }

    /// The export URL: the endpoint (or the protocol's default), with `/v1/traces` for HTTP.
    pub fn otlp_traces_url(&self) -> String {
        let base = self
            .otlp_endpoint
            .as_deref()
            .unwrap_or(self.otlp_protocol.default_endpoint());
        match self.otlp_protocol {
            OtlpProtocol::Grpc => base.to_owned(),
            OtlpProtocol::HttpProtobuf if base.trim_end_matches('/').ends_with("/v1/traces") => {
                base.to_owned()
            }
            OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
        }
    }

    /// Names of the restart-only fields whose value differs between `self` and `other`.
    pub fn restart_required_changes(&self, other: &TelemetryConfig) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.watch != other.watch {
            changed.push("watch");
        }
        debug_assert!(changed.iter().all(|f| RESTART_REQUIRED.contains(f)));
        changed
    }
}

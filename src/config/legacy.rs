//! Migration of the deprecated `[observability]` and `[debug.traces]` sections to `[telemetry]`.
//!
//! | legacy key | becomes |
//! |---|---|
//! | `observability.enabled` | `enabled` |
//! | `observability.exporter` (`"none"`, `"otlp"`, `"local"`, `"chrome"`) | `backend` |
//! | `observability.service_name` | `service_name` |
//! | `observability.sample_rate` | `sample_rate` |
//! | `observability.filter` | `filter` |
//! | `debug.traces.enabled = true` | `backend = "local"` (unless `[observability]` chose a backend) |
//! | `debug.traces.output_dir` | `local.trace_dir` |
//! | `debug.traces.include_args` | `include_args` |

use std::path::PathBuf;

use serde::Deserialize;

use super::{Backend, Backends, TelemetryConfig};

#[derive(Debug, Default, Deserialize)]
pub(super) struct LegacyDoc {
    #[serde(default)]
    observability: Option<Observability>,
    #[serde(default)]
    debug: Option<Debug>,
}

#[derive(Debug, Default, Deserialize)]
struct Observability {
    enabled: Option<bool>,
    exporter: Option<String>,
    service_name: Option<String>,
    sample_rate: Option<f64>,
    filter: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Debug {
    traces: Option<Traces>,
}

#[derive(Debug, Default, Deserialize)]
struct Traces {
    enabled: Option<bool>,
    output_dir: Option<PathBuf>,
    include_args: Option<bool>,
}

impl LegacyDoc {
    /// True when the document has a legacy section to migrate.
    pub(super) fn present(&self) -> bool {
        self.observability.is_some() || self.debug.as_ref().is_some_and(|d| d.traces.is_some())
    }

    /// The `[telemetry]` equivalent, or a message naming the legacy value that has no equivalent.
    pub(super) fn migrate(self) -> Result<TelemetryConfig, (String, String)> {
        let mut cfg = TelemetryConfig::default();
        let mut backend_chosen = false;
        if let Some(o) = self.observability {
            if let Some(e) = o.exporter {
                cfg.backend = parse_exporter(&e).map(Backends::from).ok_or_else(|| {
                    (
                        "observability.exporter".to_owned(),
                        format!("unknown exporter `{e}`"),
                    )
                })?;
                backend_chosen = true;
            }
            set(&mut cfg.enabled, o.enabled);
            set(&mut cfg.service_name, o.service_name);
            set(&mut cfg.sample_rate, o.sample_rate);
            set(&mut cfg.filter, o.filter);
        }
        if let Some(t) = self.debug.and_then(|d| d.traces) {
            if t.enabled == Some(true) && !backend_chosen {
                cfg.backend = Backend::Local.into();
            }
            set(&mut cfg.local.trace_dir, t.output_dir);
            set(&mut cfg.include_args, t.include_args);
        }
        Ok(cfg)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

fn parse_exporter(name: &str) -> Option<Backend> {
    match name {
        "none" | "" => Some(Backend::None),
        "otlp" => Some(Backend::Otlp),
        "local" | "chrome" => Some(Backend::Local),
        _ => None,
    }
}

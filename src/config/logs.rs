//! `[telemetry.logs]`: which events become log records.

use serde::{Deserialize, Serialize};

/// `[telemetry.logs]`: events as log records, to every backend that takes them (OTLP log records; Chrome
/// instant events for `local`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct LogsConfig {
    /// On or off.
    pub enabled: bool,
    /// `EnvFilter` directives; unset: the console's filter.
    pub filter: Option<String>,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            enabled: true,
            filter: None,
        }
    }
}

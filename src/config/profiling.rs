//! `[telemetry.profiling]`: allocations and CPU time per span, process metrics, CPU profiles to Pyroscope.
//!
//! Every key is live. What each needs compiled in: `alloc` the cargo feature `profiling-alloc` (and the
//! counting allocator declared by the application, see `livetel::profiling`), the `pyroscope_*` keys the
//! feature `profiling-pyroscope`, the others the feature `profiling`. A key set in a build without its feature
//! is accepted and reported in status as having no effect.
//!
//! zeph's spellings at the top of `[telemetry]` (`system_metrics_interval_secs`, `pyroscope_endpoint`) are
//! read as their keys here, with a deprecation warning each.
//!
//! ```
//! let cfg = livetel::config::parse_str(
//!     "app.toml",
//!     r#"
//! [telemetry.profiling]
//! alloc = true
//! cpu_time = true
//! system_metrics_interval_secs = 15
//! pyroscope_endpoint = "http://127.0.0.1:4040"
//! span_labels = "name_and_id"
//! "#,
//! )?;
//! assert!(cfg.profiling.alloc && cfg.profiling.cpu_time);
//! assert_eq!(cfg.profiling.pyroscope_sample_hz, 100);
//! assert_eq!(cfg.profiling.span_labels, livetel::config::SpanLabels::NameAndId);
//! # Ok::<(), livetel::ConfigError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ConfigErrorKind;

/// What a CPU sample says of the span entered on its thread when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum SpanLabels {
    /// No span label.
    None,
    /// `span_name`: the name of the span entered on the sampled thread.
    #[default]
    Name,
    /// `span_name`, and the span's `span_id` and `trace_id` (Pyroscope's span-profile label names).
    NameAndId,
}

impl SpanLabels {
    /// The name used in config files and status.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanLabels::None => "none",
            SpanLabels::Name => "name",
            SpanLabels::NameAndId => "name_and_id",
        }
    }
}

/// `[telemetry.profiling]`. Every key is live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ProfilingConfig {
    /// Count allocations per span (`alloc.count`, `alloc.bytes`, `dealloc.count`, `dealloc.bytes`,
    /// `alloc.net_bytes`); needs feature `profiling-alloc` and `livetel::profiling::CountingAllocator` as the
    /// global allocator.
    pub alloc: bool,
    /// Thread CPU time per span while entered (`resource.cpu.micros`).
    pub cpu_time: bool,
    /// Sample process metrics (`process.memory.rss`, `process.cpu.utilization`, `process.thread.count`,
    /// `process.open_file_descriptor.count`) every this many seconds (at least 1); unset: off.
    pub system_metrics_interval_secs: Option<u64>,
    /// Pyroscope's base URL (`http://pyroscope:4040`): CPU profiles are pushed to its `/ingest`; unset: off.
    pub pyroscope_endpoint: Option<String>,
    /// CPU samples per second of CPU time (`1..=1000`).
    pub pyroscope_sample_hz: u32,
    /// The name of the secret holding the headers sent to Pyroscope (see `[telemetry.vault]`), as OTLP's
    /// `headers_vault_key`. Header values never go in here.
    pub pyroscope_headers_vault_key: Option<String>,
    /// What CPU samples say of the entered span: `"none"`, `"name"` or `"name_and_id"`.
    pub span_labels: SpanLabels,
}

impl Default for ProfilingConfig {
    fn default() -> Self {
        ProfilingConfig {
            alloc: false,
            cpu_time: false,
            system_metrics_interval_secs: None,
            pyroscope_endpoint: None,
            pyroscope_sample_hz: 100,
            pyroscope_headers_vault_key: None,
            span_labels: SpanLabels::Name,
        }
    }
}

impl ProfilingConfig {
    /// True when some part of profiling is asked for.
    pub fn any_on(&self) -> bool {
        self.alloc
            || self.cpu_time
            || self.system_metrics_interval_secs.is_some()
            || self.pyroscope_endpoint.is_some()
    }

    /// The keys set in this build that have no effect because their cargo feature is off, with that feature.
    pub fn without_feature(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let profiling = cfg!(feature = "profiling");
        if !profiling && self.cpu_time {
            out.push(("profiling.cpu_time", "profiling"));
        }
        if !profiling && self.system_metrics_interval_secs.is_some() {
            out.push(("profiling.system_metrics_interval_secs", "profiling"));
        }
        if !cfg!(feature = "profiling-alloc") && self.alloc {
            out.push(("profiling.alloc", "profiling-alloc"));
        }
        if !cfg!(feature = "profiling-pyroscope") && self.pyroscope_endpoint.is_some() {
            out.push(("profiling.pyroscope_endpoint", "profiling-pyroscope"));
        }
        out
    }
}

/// The longest interval of the system metrics: a day.
const MAX_INTERVAL_SECS: u64 = 86_400;

/// Checks the table's values.
///
/// # Errors
/// The first key found invalid, relative to `[telemetry]`.
pub(crate) fn validate(p: &ProfilingConfig) -> Result<(), (&'static str, ConfigErrorKind)> {
    let invalid = |key, message: String| Err((key, ConfigErrorKind::InvalidValue { message }));
    if let Some(secs) = p.system_metrics_interval_secs
        && !(1..=MAX_INTERVAL_SECS).contains(&secs)
    {
        return invalid(
            "profiling.system_metrics_interval_secs",
            format!(
                "must be 1..={MAX_INTERVAL_SECS} (remove the key to turn system metrics off), got {secs}"
            ),
        );
    }
    if !(1..=1000).contains(&p.pyroscope_sample_hz) {
        return invalid(
            "profiling.pyroscope_sample_hz",
            format!("must be 1..=1000, got {}", p.pyroscope_sample_hz),
        );
    }
    if let Some(ep) = &p.pyroscope_endpoint
        && let Err(why) = super::url::check_url(ep)
    {
        return invalid("profiling.pyroscope_endpoint", why);
    }
    if p.pyroscope_headers_vault_key
        .as_deref()
        .is_some_and(|k| k.trim().is_empty())
    {
        return invalid(
            "profiling.pyroscope_headers_vault_key",
            "must not be empty".to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;
    use super::SpanLabels;

    fn section(body: &str) -> Result<super::super::TelemetryConfig, crate::ConfigError> {
        parse_str("t.toml", &format!("[telemetry.profiling]\n{body}\n"))
    }

    #[test]
    fn defaults_are_off_and_bad_values_are_placed() {
        let cfg = section("").unwrap();
        assert!(!cfg.profiling.any_on());
        assert_eq!(cfg.profiling.pyroscope_sample_hz, 100);
        assert_eq!(cfg.profiling.span_labels, SpanLabels::Name);
        let e = section("system_metrics_interval_secs = 0").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("telemetry.profiling.system_metrics_interval_secs")
        );
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((2, 32)), "{e}");
        let e = section("cpu_time = true\npyroscope_sample_hz = 5000").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.profiling.pyroscope_sample_hz"));
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((3, 23)), "{e}");
        let e = section("pyroscope_endpoint = \"pyroscope:4040\"").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.profiling.pyroscope_endpoint"));
        assert!(e.to_string().contains("http://"), "{e}");
        let e = section("span_labels = \"all\"").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.profiling.span_labels"));
        let e = section("pyroscope_headers_vault_key = \" \"").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("telemetry.profiling.pyroscope_headers_vault_key")
        );
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        let e = section("cpu_tme = true").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.profiling.cpu_tme"));
        assert!(e.to_string().contains("cpu_time"), "{e}");
    }
}

//! `[telemetry.metrics]`: span metrics (RED: rate, errors, duration) kept in the process and served on
//! `/metrics`.
//!
//! ```
//! let cfg = livetel::config::parse_str(
//!     "app.toml",
//!     r#"
//! [telemetry.metrics]
//! enabled = true
//! listen = "127.0.0.1:9464"
//! span_labels = ["llm.model"]
//! "#,
//! )?;
//! assert!(cfg.metrics.enabled);
//! assert_eq!(cfg.metrics.buckets.len(), 11);
//! # Ok::<(), livetel::ConfigError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ConfigErrorKind;

/// How OTLP metrics will report sums and histograms (for OTLP metrics, coming: parsed and validated today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum Temporality {
    /// Totals since the process started.
    #[default]
    Cumulative,
    /// The change since the last export.
    Delta,
}

/// `[telemetry.metrics]`: span metrics. Every key is live except `buckets`, which is read when the process
/// starts (a later change is listed in status `restart_required`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct MetricsConfig {
    /// On or off (it also needs `[telemetry] enabled` and a backend that records).
    pub enabled: bool,
    /// Where `/metrics` is served (`"127.0.0.1:9464"`); not served when unset.
    pub listen: Option<String>,
    /// Upper bounds of the duration histogram's buckets, in seconds: finite, above 0, strictly increasing.
    pub buckets: Vec<f64>,
    /// Span fields whose values become labels (dots become `_` on `/metrics`).
    pub span_labels: Vec<String>,
    /// Label sets kept per metric; beyond, spans count in one `otel_metric_overflow="true"` series.
    pub max_series: usize,
    /// For OTLP metrics, coming: the export period, in milliseconds.
    pub export_interval_ms: u64,
    /// For OTLP metrics, coming: `"cumulative"` or `"delta"`.
    pub temporality: Temporality,
}

/// The histogram bounds of OpenTelemetry's HTTP semantic conventions, in seconds.
pub const DEFAULT_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: false,
            listen: None,
            buckets: DEFAULT_BUCKETS.to_vec(),
            span_labels: Vec::new(),
            max_series: 2000,
            export_interval_ms: 10_000,
            temporality: Temporality::Cumulative,
        }
    }
}

/// Checks the table's values.
///
/// # Errors
/// The first key found invalid, relative to `[telemetry]`.
pub(crate) fn validate(m: &MetricsConfig) -> Result<(), (&'static str, ConfigErrorKind)> {
    let invalid = |key, message: String| Err((key, ConfigErrorKind::InvalidValue { message }));
    if m.buckets.is_empty() || m.buckets.len() > 64 {
        return invalid(
            "metrics.buckets",
            format!("must hold 1 to 64 bounds, got {}", m.buckets.len()),
        );
    }
    if let Some(b) = m.buckets.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
        return invalid(
            "metrics.buckets",
            format!("bounds must be finite and above 0, got {b}"),
        );
    }
    if let Some(w) = m.buckets.windows(2).find(|w| w[0] >= w[1]) {
        return invalid(
            "metrics.buckets",
            format!("bounds must be strictly increasing, got {} then {}", w[0], w[1]),
        );
    }
    if m.max_series == 0 || m.max_series > 1 << 20 {
        return invalid(
            "metrics.max_series",
            format!("must be 1..=1048576, got {}", m.max_series),
        );
    }
    if m.span_labels.len() > 8 || m.span_labels.iter().any(|l| l.trim().is_empty()) {
        return invalid(
            "metrics.span_labels",
            "at most 8 non-empty field names".to_owned(),
        );
    }
    if let Some(l) = m
        .span_labels
        .iter()
        .find(|l| RESERVED_LABELS.contains(&label_name(l).as_str()))
    {
        return invalid(
            "metrics.span_labels",
            format!("`{l}` collides with a label livetel sets itself"),
        );
    }
    let mut names: Vec<String> = m.span_labels.iter().map(|l| label_name(l)).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return invalid(
            "metrics.span_labels",
            format!("two fields become the same label `{}`", w[0]),
        );
    }
    if !(100..=3_600_000).contains(&m.export_interval_ms) {
        return invalid(
            "metrics.export_interval_ms",
            format!("must be 100..=3600000, got {}", m.export_interval_ms),
        );
    }
    if let Some(listen) = &m.listen
        && let Err(e) = listen.parse::<std::net::SocketAddr>()
    {
        return invalid(
            "metrics.listen",
            format!("`{listen}` is not an address and port (`127.0.0.1:9464`): {e}"),
        );
    }
    Ok(())
}

/// The labels livetel sets on span metrics: a span label may not take one of their names.
const RESERVED_LABELS: &[&str] = &[
    "span_name",
    "otel_kind",
    "status",
    "service_name",
    "otel_metric_overflow",
    "le",
    "trace_id",
    "span_id",
];

/// A field name as a Prometheus label name: every character outside `[a-zA-Z0-9_]` becomes `_`, and a name that
/// starts with a digit gets a leading `_`.
pub(crate) fn label_name(field: &str) -> String {
    let mut out: String = field
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;

    fn section(body: &str) -> Result<super::super::TelemetryConfig, crate::ConfigError> {
        parse_str("t.toml", &format!("[telemetry.metrics]\n{body}\n"))
    }

    #[test]
    fn defaults_parse_and_bad_values_are_placed() {
        let cfg = section("enabled = true").unwrap();
        assert_eq!(cfg.metrics.max_series, 2000);
        let e = section("buckets = [0.1, 0.1]").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.metrics.buckets"));
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((2, 11)));
        let e = section("enabled = true\nlisten = \"localhost\"").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.metrics.listen"));
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((3, 10)));
        let e = section("max_series = 0").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.metrics.max_series"));
        let e = section("temporality = \"sometimes\"").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.metrics.temporality"));
        let e = section("span_labels = [\"a.b\", \"a_b\"]").unwrap_err();
        assert!(e.to_string().contains("same label `a_b`"), "{e}");
        let e = section("span_labels = [\"service.name\"]").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.metrics.span_labels"));
        let e = section("buckets = [-1.0]").unwrap_err();
        assert!(e.to_string().contains("above 0"), "{e}");
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        let e = section("max_seires = 3").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.metrics.max_seires"));
        assert!(e.to_string().contains("max_series"), "{e}");
    }

    #[test]
    fn label_names_are_prometheus_safe() {
        assert_eq!(super::label_name("llm.model"), "llm_model");
        assert_eq!(super::label_name("1x"), "_1x");
    }
}

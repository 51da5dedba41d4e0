//! Checks a typed section beyond what its types say: ranges and filter directives.

use tracing_subscriber::EnvFilter;

use super::TelemetryConfig;
use crate::error::ConfigErrorKind;

/// Checks `cfg`; on failure returns the offending key (dotted, relative to `[telemetry]`: `otlp.endpoint`) and
/// what is wrong.
///
/// # Errors
/// The first key found invalid.
pub(crate) fn validate(cfg: &TelemetryConfig) -> Result<(), (&'static str, ConfigErrorKind)> {
    let invalid = |key, message: String| Err((key, ConfigErrorKind::InvalidValue { message }));
    if !(0.0..=1.0).contains(&cfg.sample_rate) {
        return invalid(
            "sample_rate",
            format!("must be between 0.0 and 1.0, got {}", cfg.sample_rate),
        );
    }
    super::sampling::validate(&cfg.sampling)?;
    super::metrics::validate(&cfg.metrics)?;
    super::admin::validate(&cfg.admin)?;
    super::budgets::validate(&cfg.budgets)?;
    super::profiling::validate(&cfg.profiling)?;
    if !(1..=60_000).contains(&cfg.reload_debounce_ms) {
        return invalid(
            "reload_debounce_ms",
            format!("must be 1..=60000, got {}", cfg.reload_debounce_ms),
        );
    }
    if cfg.drain_timeout_ms > 3_600_000 {
        return invalid(
            "drain_timeout_ms",
            format!("must be at most 3600000 (1 h), got {}", cfg.drain_timeout_ms),
        );
    }
    if cfg.service_name.trim().is_empty() {
        return invalid("service_name", "must not be empty".to_owned());
    }
    if cfg.local.trace_dir.as_os_str().is_empty() {
        return invalid("local.trace_dir", "must not be empty".to_owned());
    }
    if cfg.local.max_file_mb > 1 << 20 {
        return invalid(
            "local.max_file_mb",
            format!("must be at most 1048576 (1 TiB), got {}", cfg.local.max_file_mb),
        );
    }
    if !(1..=10_000).contains(&cfg.local.max_files) {
        return invalid(
            "local.max_files",
            format!("must be 1..=10000, got {}", cfg.local.max_files),
        );
    }
    if let Some(ep) = &cfg.otlp.endpoint
        && let Err(why) = super::url::check_url(ep)
    {
        return invalid("otlp.endpoint", why);
    }
    if !(1..=600_000).contains(&cfg.otlp.timeout_ms) {
        return invalid(
            "otlp.timeout_ms",
            format!("must be 1..=600000, got {}", cfg.otlp.timeout_ms),
        );
    }
    let b = &cfg.otlp.batch;
    // A queue slot holds a finished span (about 300 bytes) and the whole queue is reserved up front.
    if b.max_queue_size == 0 || b.max_queue_size > 1 << 18 {
        return invalid(
            "otlp.batch.max_queue_size",
            format!("must be 1..=262144, got {}", b.max_queue_size),
        );
    }
    if b.max_export_batch_size == 0 {
        return invalid(
            "otlp.batch.max_export_batch_size",
            "must be at least 1".to_owned(),
        );
    }
    if b.scheduled_delay_ms > 600_000 {
        return invalid(
            "otlp.batch.scheduled_delay_ms",
            format!("must be at most 600000, got {}", b.scheduled_delay_ms),
        );
    }
    if cfg
        .otlp
        .headers_vault_key
        .as_deref()
        .is_some_and(|k| k.trim().is_empty())
    {
        return invalid("otlp.headers_vault_key", "must not be empty".to_owned());
    }
    match cfg.vault.source {
        crate::vault::SourceKind::File if cfg.vault.path.is_none() => {
            return invalid("vault.source", "source = \"file\" needs `path`".to_owned());
        }
        crate::vault::SourceKind::Dir if cfg.vault.dir.is_none() => {
            return invalid("vault.source", "source = \"dir\" needs `dir`".to_owned());
        }
        _ => {}
    }
    if let Err(e) = parse_filter(&cfg.filter) {
        return invalid("filter", format!("invalid filter directive: {e}"));
    }
    if let Err(e) = event_filter(&cfg.console.filter) {
        return invalid("console.filter", e);
    }
    if let Some(Err(e)) = cfg.logs.filter.as_deref().map(event_filter) {
        return invalid("logs.filter", e);
    }
    if cfg.console.file.as_ref().is_some_and(|f| f.file_name().is_none()) {
        return invalid("console.file", "must name a file, not a directory".to_owned());
    }
    Ok(())
}

/// Parses `EnvFilter` directives strictly: a directive that does not parse is an error, not ignored.
/// Directives of the console or the logs: static ones only. A span directive (`[span{field}]`) would need the
/// span's whole life in that filter, which only the traces `filter` gets.
pub(crate) fn event_filter(directives: &str) -> Result<EnvFilter, String> {
    if directives.contains('[') {
        return Err(format!(
            "span directives (`[...]`) are supported in `filter` only, not here: `{directives}`"
        ));
    }
    parse_filter(directives).map_err(|e| format!("invalid filter directive: {e}"))
}

pub(crate) fn parse_filter(directives: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    EnvFilter::builder().parse(directives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_sample_rate_names_the_key() {
        let cfg = TelemetryConfig {
            sample_rate: 1.5,
            ..Default::default()
        };
        assert_eq!(validate(&cfg).unwrap_err().0, "sample_rate");
    }

    #[test]
    fn bad_filter_is_rejected() {
        let cfg = TelemetryConfig {
            filter: "foo=notalevel".into(),
            ..Default::default()
        };
        assert_eq!(validate(&cfg).unwrap_err().0, "filter");
    }

    #[test]
    fn defaults_are_valid() {
        assert!(validate(&TelemetryConfig::default()).is_ok());
    }
}

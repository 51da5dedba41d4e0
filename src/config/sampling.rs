//! `[telemetry.sampling]`: which traces are kept, at their root (head) and, for errors and slow traces, at the
//! end of their local root (tail).
//!
//! `sample_rate` at the top of `[telemetry]` is the short form of `sampling.probability`. Writing both with
//! different values is an error (at `sampling.probability`); either one alone sets the probability. After
//! loading, the probability lives in `sample_rate` and `sampling.probability` is `None`: one field holds it.
//!
//! ```
//! let cfg = livetel::config::parse_str(
//!     "app.toml",
//!     r#"
//! [telemetry.sampling]
//! strategy = "parent_based"
//! probability = 0.1
//! always_sample_errors = true
//! always_sample_slow_seconds = 2.5
//! "#,
//! )?;
//! assert_eq!(cfg.sample_rate, 0.1);
//! assert!(cfg.sampling.tail_enabled());
//! # Ok::<(), livetel::ConfigError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ConfigErrorKind;

/// How the head decision is made (OpenTelemetry's sampler names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum Strategy {
    /// Keep every trace, whatever a caller's sampled flag says.
    AlwaysOn,
    /// Keep no trace at its head (errors and slow traces may still be kept at its tail).
    AlwaysOff,
    /// Keep `probability` of the traces by trace id, whatever a caller's sampled flag says.
    Probability,
    /// A caller's sampled flag decides; traces that begin here keep `probability` of them by trace id.
    #[default]
    ParentBased,
}

impl Strategy {
    /// The name used in config files and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::AlwaysOn => "always_on",
            Strategy::AlwaysOff => "always_off",
            Strategy::Probability => "probability",
            Strategy::ParentBased => "parent_based",
        }
    }
}

/// `[telemetry.sampling]`. Every key is live: a reload applies to traces that begin after it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SamplingConfig {
    /// How the head decision is made.
    pub strategy: Strategy,
    /// The fraction of traces kept at their head (`0.0..=1.0`); the long form of `sample_rate`. `None` after
    /// loading: the value is then in `sample_rate`. In code, `Some` replaces `sample_rate`.
    pub probability: Option<f64>,
    /// Keep a trace the head dropped when any of its spans ends in error (an `error` field,
    /// `otel.status_code = "ERROR"`, or an ERROR event inside it).
    pub always_sample_errors: bool,
    /// Keep a trace the head dropped when its local root lasts longer than this many seconds.
    pub always_sample_slow_seconds: Option<f64>,
    /// Spans held for one undecided trace; a trace with more is dropped whole (and counted).
    pub max_spans_per_trace: usize,
    /// Undecided traces held at once; a trace beginning beyond this is dropped whole (and counted).
    pub max_traces_in_flight: usize,
    /// Longest time a trace is held undecided, in milliseconds; an older one is dropped whole (and counted).
    pub max_age_ms: u64,
    /// Bytes held for all undecided traces at once (the spans' estimated size); a trace whose next span would
    /// go over is dropped whole (and counted).
    pub max_buffered_bytes: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            strategy: Strategy::ParentBased,
            probability: None,
            always_sample_errors: false,
            always_sample_slow_seconds: None,
            max_spans_per_trace: 1024,
            max_traces_in_flight: 4096,
            max_age_ms: 60_000,
            max_buffered_bytes: 64 << 20,
        }
    }
}

impl SamplingConfig {
    /// True when traces the head drops are held until their local root ends (errors or slow traces kept).
    pub fn tail_enabled(&self) -> bool {
        self.always_sample_errors || self.always_sample_slow_seconds.is_some()
    }
}

/// Folds `sampling.probability` into `sample_rate`. `both_written`: the document wrote both keys, so they must
/// agree.
///
/// # Errors
/// `sampling.probability` and why, when both were written with different values.
pub(crate) fn fold_probability(
    cfg: &mut super::TelemetryConfig,
    both_written: bool,
) -> Result<(), (&'static str, ConfigErrorKind)> {
    let Some(p) = cfg.sampling.probability.take() else {
        return Ok(());
    };
    if both_written && p != cfg.sample_rate {
        let message = format!(
            "`telemetry.sample_rate` ({}) and `telemetry.sampling.probability` ({p}) are both set and differ; \
             keep one (`sample_rate` is the short form of `sampling.probability`)",
            cfg.sample_rate
        );
        return Err(("sampling.probability", ConfigErrorKind::InvalidValue { message }));
    }
    cfg.sample_rate = p;
    Ok(())
}

/// Checks the table's ranges.
///
/// # Errors
/// The first key found invalid, relative to `[telemetry]`.
pub(crate) fn validate(s: &SamplingConfig) -> Result<(), (&'static str, ConfigErrorKind)> {
    let invalid = |key, message: String| Err((key, ConfigErrorKind::InvalidValue { message }));
    if let Some(p) = s.probability.filter(|p| !(0.0..=1.0).contains(p)) {
        return invalid(
            "sampling.probability",
            format!("must be between 0.0 and 1.0, got {p}"),
        );
    }
    if s.max_spans_per_trace == 0 || s.max_spans_per_trace > 1 << 20 {
        return invalid(
            "sampling.max_spans_per_trace",
            format!("must be 1..=1048576, got {}", s.max_spans_per_trace),
        );
    }
    if s.max_traces_in_flight == 0 || s.max_traces_in_flight > 1 << 20 {
        return invalid(
            "sampling.max_traces_in_flight",
            format!("must be 1..=1048576, got {}", s.max_traces_in_flight),
        );
    }
    if !(1..=3_600_000).contains(&s.max_age_ms) {
        return invalid(
            "sampling.max_age_ms",
            format!("must be 1..=3600000 (1 h), got {}", s.max_age_ms),
        );
    }
    if !(1 << 10..=1 << 34).contains(&s.max_buffered_bytes) {
        return invalid(
            "sampling.max_buffered_bytes",
            format!(
                "must be 1024..=17179869184 (16 GiB), got {}",
                s.max_buffered_bytes
            ),
        );
    }
    if let Some(secs) = s.always_sample_slow_seconds {
        let max_age = s.max_age_ms as f64 / 1000.0;
        if !(secs > 0.0 && secs < max_age) {
            return invalid(
                "sampling.always_sample_slow_seconds",
                format!("must be above 0 and below `max_age_ms` ({max_age} s), got {secs}"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{TelemetryConfig, parse_str};

    fn section(body: &str) -> Result<TelemetryConfig, crate::ConfigError> {
        parse_str("t.toml", &format!("[telemetry]\n{body}\n"))
    }

    #[test]
    fn probability_and_sample_rate_are_one_value() {
        let cfg = section("sampling.probability = 0.1").unwrap();
        assert_eq!((cfg.sample_rate, cfg.sampling.probability), (0.1, None));
        let cfg = section("sample_rate = 0.1\nsampling.probability = 0.1").unwrap();
        assert_eq!(cfg.sample_rate, 0.1);
    }

    #[test]
    fn both_set_differently_is_an_error_at_the_probability() {
        let e = section("sample_rate = 1.0\n[telemetry.sampling]\nprobability = 0.1").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.sampling.probability"));
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((4, 15)));
        assert!(e.to_string().contains("both set and differ"), "{e}");
    }

    #[test]
    fn slow_threshold_must_be_below_the_max_age() {
        let e = section("sampling.always_sample_slow_seconds = 90").unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("telemetry.sampling.always_sample_slow_seconds")
        );
        let e = section("sampling.strategy = \"sometimes\"").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telemetry.sampling.strategy"));
    }
}

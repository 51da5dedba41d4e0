//! Standard `OTEL_*` environment overrides.
//!
//! # Precedence
//! environment variable > `[telemetry]` in the file > built-in default. The environment is read once, when
//! livetel starts; status lists every field an environment variable overrides, so an edit to such a field in
//! the file is visibly shadowed rather than silently ignored.
//!
//! | variable | field |
//! |---|---|
//! | `OTEL_SDK_DISABLED=true` | `enabled = false` |
//! | `OTEL_SERVICE_NAME` | `service_name` |
//! | `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`, `parentbased_*`) | `sampling.strategy`, `sample_rate` |
//! | `OTEL_TRACES_SAMPLER_ARG` (ratio for `*traceidratio`) | `sample_rate` |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL; `/v1/traces` is appended for HTTP) | `otlp.endpoint` |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc`, `http/protobuf`) | `otlp.protocol` |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds) | `otlp.timeout_ms` |
//! | `OTEL_TRACES_EXPORTER` (`otlp`, `none`, livetel's `local`; a comma list for several) | `backend` |
//! | `RUST_LOG` (`EnvFilter` directives) | `console.filter` |
//! | `OTEL_PROPAGATORS` (`tracecontext`, `baggage`, `b3`, `b3multi`, comma-separated; `none`) | `propagators` |
//!
//! livetel samples at the trace root and lets local children inherit the decision, so traces stay whole. The
//! `parentbased_` forms set `strategy = "parent_based"` (a caller's sampled flag decides); `always_on`,
//! `always_off` and `traceidratio` set the strategy of that name, which decides whatever a caller's flag says.
//! `parentbased_always_on`/`_off` are `parent_based` with probability 1 / 0. Invalid values are ignored with a
//! warning, as the OpenTelemetry specification asks.

use super::{Backend, Backends, OtlpProtocol, Propagator, Strategy, TelemetryConfig, propagators};

/// The overrides found in the environment, and warnings about values that were ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvOverrides {
    sdk_disabled: bool,
    service_name: Option<String>,
    sampler: Option<(Strategy, f64)>,
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<OtlpProtocol>,
    otlp_timeout_ms: Option<u64>,
    traces_exporter: Option<Backends>,
    propagators: Option<Vec<Propagator>>,
    console_filter: Option<String>,
    /// Sentences about variables whose values were ignored.
    pub warnings: Vec<String>,
}

impl EnvOverrides {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads overrides through `get` (a map in tests, the environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut o = EnvOverrides {
            sdk_disabled: get("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            service_name: get("OTEL_SERVICE_NAME").filter(|s| !s.trim().is_empty()),
            ..Default::default()
        };
        if let Some(sampler) = get("OTEL_TRACES_SAMPLER") {
            o.sampler = o.parse_sampler(sampler.trim(), get("OTEL_TRACES_SAMPLER_ARG"));
        }
        o.otlp_endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        o.otlp_protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL").and_then(|p| match p.trim() {
            "grpc" => Some(OtlpProtocol::Grpc),
            "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
            other => {
                o.warnings.push(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL=`{other}` is not supported (grpc, http/protobuf); ignored"
                ));
                None
            }
        });
        o.otlp_timeout_ms = get("OTEL_EXPORTER_OTLP_TIMEOUT").and_then(|t| match t.trim().parse::<u64>() {
            Ok(ms) if (1..=600_000).contains(&ms) => Some(ms),
            _ => {
                o.warnings.push(format!(
                    "OTEL_EXPORTER_OTLP_TIMEOUT=`{t}` is not 1..=600000 ms; ignored"
                ));
                None
            }
        });
        if let Some(list) = get("OTEL_TRACES_EXPORTER") {
            o.traces_exporter = o.exporters(&list);
        }
        if let Some(list) = get("OTEL_PROPAGATORS") {
            o.propagators = propagators::from_env(&list, &mut o.warnings);
        }
        o.console_filter = get("RUST_LOG").and_then(|f| o.directives("RUST_LOG", f));
        o
    }

    /// `OTEL_TRACES_EXPORTER`: a comma list. Exporters livetel does not have (`zipkin`, `console`, ...) are
    /// skipped with a warning; a list that leaves nothing valid is ignored.
    fn exporters(&mut self, list: &str) -> Option<Backends> {
        let mut backends = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Backend::from_name(name) {
                Some(backend) => backends.push(backend),
                None => self.warnings.push(format!(
                    "OTEL_TRACES_EXPORTER: `{name}` is not supported ({}); skipped",
                    Backend::ALL.map(Backend::as_str).join(", ")
                )),
            }
        }
        if backends.is_empty() {
            return None;
        }
        Backends::from_list(backends)
            .map_err(|why| {
                self.warnings
                    .push(format!("OTEL_TRACES_EXPORTER=`{list}`: {why}; ignored"))
            })
            .ok()
    }

    /// `EnvFilter` directives from `variable`, or `None` (with a warning) when they do not parse.
    fn directives(&mut self, variable: &str, value: String) -> Option<String> {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return None;
        }
        match super::validate::event_filter(&value) {
            Ok(_) => Some(value),
            Err(e) => {
                self.warnings.push(format!("{variable}=`{value}`: {e}; ignored"));
                None
            }
        }
    }

    fn parse_sampler(&mut self, name: &str, arg: Option<String>) -> Option<(Strategy, f64)> {
        match name {
            "always_on" => Some((Strategy::AlwaysOn, 1.0)),
            "always_off" => Some((Strategy::AlwaysOff, 0.0)),
            "parentbased_always_on" => Some((Strategy::ParentBased, 1.0)),
            "parentbased_always_off" => Some((Strategy::ParentBased, 0.0)),
            "traceidratio" | "parentbased_traceidratio" => {
                let strategy = if name == "traceidratio" {
                    Strategy::Probability
                } else {
                    Strategy::ParentBased
                };
                self.ratio(arg).map(|r| (strategy, r))
            }
            other => {
                self.warnings
                    .push(format!("OTEL_TRACES_SAMPLER=`{other}` is not supported; ignored"));
                None
            }
        }
    }

    /// `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers: 1.0 when unset.
    fn ratio(&mut self, arg: Option<String>) -> Option<f64> {
        match arg.as_deref().map(str::trim) {
            None => Some(1.0),
            Some(a) => match a.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Some(r),
                _ => {
                    self.warnings.push(format!(
                        "OTEL_TRACES_SAMPLER_ARG=`{a}` is not a ratio in 0..=1; ignored"
                    ));
                    None
                }
            },
        }
    }

    /// Applies the overrides to `cfg`; returns the overridden fields (dotted keys relative to `[telemetry]`,
    /// e.g. `otlp.endpoint`) with the variable that set each.
    pub fn apply(&self, cfg: &mut TelemetryConfig) -> Vec<(&'static str, &'static str)> {
        let mut applied = Vec::new();
        if self.sdk_disabled {
            cfg.enabled = false;
            applied.push(("enabled", "OTEL_SDK_DISABLED"));
        }
        if let Some(name) = &self.service_name {
            cfg.service_name.clone_from(name);
            applied.push(("service_name", "OTEL_SERVICE_NAME"));
        }
        if let Some((strategy, rate)) = self.sampler {
            cfg.sample_rate = rate;
            cfg.sampling.probability = None;
            cfg.sampling.strategy = strategy;
            applied.push(("sample_rate", "OTEL_TRACES_SAMPLER"));
            applied.push(("sampling.strategy", "OTEL_TRACES_SAMPLER"));
        }
        if let Some(ep) = &self.otlp_endpoint {
            cfg.otlp.endpoint = Some(ep.clone());
            applied.push(("otlp.endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"));
        }
        if let Some(p) = self.otlp_protocol {
            cfg.otlp.protocol = p;
            applied.push(("otlp.protocol", "OTEL_EXPORTER_OTLP_PROTOCOL"));
        }
        if let Some(ms) = self.otlp_timeout_ms {
            cfg.otlp.timeout_ms = ms;
            applied.push(("otlp.timeout_ms", "OTEL_EXPORTER_OTLP_TIMEOUT"));
        }
        if let Some(backends) = &self.traces_exporter {
            cfg.backend = backends.clone();
            applied.push(("backend", "OTEL_TRACES_EXPORTER"));
        }
        if let Some(list) = &self.propagators {
            cfg.propagators.clone_from(list);
            applied.push(("propagators", "OTEL_PROPAGATORS"));
        }
        if let Some(filter) = &self.console_filter {
            cfg.console.filter.clone_from(filter);
            applied.push(("console.filter", "RUST_LOG"));
        }
        applied
    }
}

/// A valid value of each variable [`EnvOverrides::from_lookup`] reads: applying them all names every key the
/// environment can override ([`overridable`]).
#[cfg_attr(not(feature = "schema"), allow(dead_code))]
const EXAMPLES: &[(&str, &str)] = &[
    ("OTEL_SDK_DISABLED", "true"),
    ("OTEL_SERVICE_NAME", "svc"),
    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
    ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
    ("OTEL_TRACES_EXPORTER", "otlp"),
    ("OTEL_PROPAGATORS", "tracecontext"),
    ("RUST_LOG", "info"),
];

/// Each dotted key an environment variable overrides, with the variable (for the schema and docs/CONFIG.md).
#[cfg_attr(not(feature = "schema"), allow(dead_code))]
pub(crate) fn overridable() -> Vec<(&'static str, &'static str)> {
    let example = |name: &str| {
        EXAMPLES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    EnvOverrides::from_lookup(example).apply(&mut TelemetryConfig::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_variable_read_has_an_example_value() {
        let asked = std::cell::RefCell::new(Vec::new());
        let _ = EnvOverrides::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        });
        for name in asked.into_inner() {
            assert!(
                EXAMPLES.iter().any(|(n, _)| *n == name),
                "{name} is read: add a valid value of it to EXAMPLES in src/config/env.rs (docs/CONFIG.md lists the keys it overrides)"
            );
        }
        let applied = overridable();
        assert!(
            applied.contains(&("otlp.endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT")),
            "{applied:?}"
        );
    }

    fn env(pairs: &[(&str, &str)]) -> EnvOverrides {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvOverrides::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn traces_exporter_sets_the_backend_list() {
        let mut cfg = TelemetryConfig::default();
        let o = env(&[("OTEL_TRACES_EXPORTER", "otlp, local")]);
        assert_eq!(o.apply(&mut cfg), [("backend", "OTEL_TRACES_EXPORTER")]);
        assert_eq!(cfg.backend.names(), ["otlp", "local"]);
        let o = env(&[("OTEL_TRACES_EXPORTER", "zipkin,none")]);
        assert_eq!(o.traces_exporter, Some(Backends::default()));
        assert!(o.warnings[0].contains("zipkin"));
        let o = env(&[("OTEL_TRACES_EXPORTER", "otlp,none")]);
        assert_eq!(o.traces_exporter, None);
        assert!(o.warnings[0].contains("none"));
    }

    #[test]
    fn env_wins_over_file() {
        let mut cfg = TelemetryConfig::default();
        let o = env(&[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ]);
        let applied = o.apply(&mut cfg);
        assert!(!cfg.enabled);
        assert_eq!(cfg.service_name, "svc");
        assert_eq!(cfg.sample_rate, 0.1);
        assert_eq!(cfg.sampling.strategy, Strategy::ParentBased);
        assert_eq!(applied.len(), 4);
        let mut cfg = TelemetryConfig::default();
        env(&[("OTEL_TRACES_SAMPLER", "always_off")]).apply(&mut cfg);
        assert_eq!(
            (cfg.sampling.strategy, cfg.sample_rate),
            (Strategy::AlwaysOff, 0.0)
        );
        let o = env(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        o.apply(&mut cfg);
        assert_eq!(
            (cfg.sampling.strategy, cfg.sample_rate),
            (Strategy::Probability, 0.25)
        );
    }

    #[test]
    fn otlp_variables_override() {
        let mut cfg = TelemetryConfig::default();
        let o = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9999"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ]);
        let fields: Vec<_> = o.apply(&mut cfg).into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["otlp.endpoint", "otlp.protocol", "otlp.timeout_ms"]);
        assert_eq!(cfg.otlp.traces_url(), "http://127.0.0.1:9999/v1/traces");
        assert_eq!(cfg.otlp.timeout_ms, 2500);
        assert_eq!(
            env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")])
                .warnings
                .len(),
            1
        );
    }

    #[test]
    fn otel_propagators_overrides_the_list() {
        let mut cfg = TelemetryConfig::default();
        let applied = env(&[("OTEL_PROPAGATORS", "b3multi,tracecontext")]).apply(&mut cfg);
        assert_eq!(applied, [("propagators", "OTEL_PROPAGATORS")]);
        assert_eq!(cfg.propagators, [Propagator::B3Multi, Propagator::TraceContext]);
    }

    #[test]
    fn invalid_values_are_ignored_with_a_warning() {
        let o = env(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ]);
        let mut cfg = TelemetryConfig {
            sample_rate: 0.5,
            ..Default::default()
        };
        assert!(o.apply(&mut cfg).is_empty());
        assert_eq!(cfg.sample_rate, 0.5);
        assert_eq!(o.warnings.len(), 1);
        assert!(env(&[("OTEL_TRACES_SAMPLER", "xray")]).warnings[0].contains("xray"));
    }
}

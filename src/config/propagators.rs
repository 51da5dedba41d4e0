//! `[telemetry] propagators`: the header formats that carry trace context across services, named as in
//! `OTEL_PROPAGATORS`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A header format for trace context (`[telemetry] propagators`, `OTEL_PROPAGATORS`).
///
/// ```
/// let cfg = livetel::config::parse_str("a.toml", "[telemetry]\npropagators = [\"tracecontext\", \"b3\"]\n")?;
/// assert_eq!(cfg.propagators, [livetel::config::Propagator::TraceContext, livetel::config::Propagator::B3]);
/// # Ok::<(), livetel::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Propagator {
    /// W3C Trace Context: `traceparent` and `tracestate`.
    TraceContext,
    /// W3C Baggage: the `baggage` header, passed on from the caller.
    Baggage,
    /// Zipkin B3, single header `b3`.
    B3,
    /// Zipkin B3, multiple headers `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags`.
    B3Multi,
}

impl Propagator {
    /// Every propagator, in the order of [`Propagator::as_str`]'s names.
    pub const ALL: [Propagator; 4] = [
        Propagator::TraceContext,
        Propagator::Baggage,
        Propagator::B3,
        Propagator::B3Multi,
    ];

    /// The name used in config files, `OTEL_PROPAGATORS` and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagator::TraceContext => "tracecontext",
            Propagator::Baggage => "baggage",
            Propagator::B3 => "b3",
            Propagator::B3Multi => "b3multi",
        }
    }

    /// The propagator named `name` (exactly, as `OTEL_PROPAGATORS` spells it).
    pub fn from_name(name: &str) -> Option<Propagator> {
        Propagator::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The default list: `["tracecontext", "baggage"]`, as in OpenTelemetry SDKs.
    pub fn defaults() -> Vec<Propagator> {
        vec![Propagator::TraceContext, Propagator::Baggage]
    }
}

/// Why `name` is not a propagator, with the closest known name when one is close.
pub(crate) fn unknown(name: &str) -> String {
    let known: Vec<&str> = Propagator::ALL.iter().map(|p| p.as_str()).collect();
    let close = known
        .iter()
        .map(|k| (strsim::jaro_winkler(&name.to_ascii_lowercase(), k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = close
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    format!("unknown propagator `{name}`{hint} (known: {})", known.join(", "))
}

impl Serialize for Propagator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Propagator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Propagator::from_name(&name).ok_or_else(|| serde::de::Error::custom(unknown(&name)))
    }
}

/// `OTEL_PROPAGATORS`: a comma-separated list; `none` alone is the empty list. Names livetel does not know
/// (`jaeger`, `xray`, `ottrace`) are left out with a warning; a value with no known name is ignored.
pub(crate) fn from_env(value: &str, warnings: &mut Vec<String>) -> Option<Vec<Propagator>> {
    let names: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names == ["none"] {
        return Some(Vec::new());
    }
    let mut list = Vec::new();
    for name in &names {
        match Propagator::from_name(name) {
            Some(p) if !list.contains(&p) => list.push(p),
            Some(_) => {}
            None => warnings.push(format!("OTEL_PROPAGATORS: {}; left out", unknown(name))),
        }
    }
    if list.is_empty() {
        warnings.push(format!(
            "OTEL_PROPAGATORS=`{value}` names no supported propagator; ignored"
        ));
        return None;
    }
    Some(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lists_map_onto_the_config_names() {
        let mut w = Vec::new();
        assert_eq!(
            from_env("tracecontext, baggage,b3multi", &mut w),
            Some(vec![
                Propagator::TraceContext,
                Propagator::Baggage,
                Propagator::B3Multi
            ])
        );
        assert_eq!(from_env("none", &mut w), Some(Vec::new()));
        assert!(w.is_empty());
        assert_eq!(from_env("b3,jaeger", &mut w), Some(vec![Propagator::B3]));
        assert_eq!(w.len(), 1);
        assert_eq!(from_env("xray", &mut w), None);
        assert!(w[1].contains("xray") && w[2].contains("ignored"));
    }

    #[test]
    fn an_unknown_name_gets_a_hint() {
        assert!(unknown("b3mutli").contains("did you mean `b3multi`?"));
        assert!(unknown("TraceContext").contains("did you mean `tracecontext`?"));
        assert!(!unknown("jaeger").contains("did you mean"));
    }
}

//! `[telemetry.budgets]`: a time budget per span name, and the share of it that warns first.
//!
//! ```
//! let cfg = livetel::config::parse_str(
//!     "app.toml",
//!     r#"
//! [telemetry.budgets]
//! "agent.turn" = "50ms"
//! "llm.call" = "2s"
//! soft_limit_pct = 90
//! "#,
//! )?;
//! let b = &cfg.budgets;
//! assert_eq!(b.spans["agent.turn"], std::time::Duration::from_millis(50));
//! assert_eq!(b.soft_limit_pct, 90);
//! # Ok::<(), livetel::ConfigError>(())
//! ```
//!
//! Every key but `soft_limit_pct` is a span name, its value a duration as the admin endpoint's override `ttl`
//! reads one: a whole number and a unit, `ns`, `us`, `ms`, `s`, `m` or `h` ([`parse_duration`]). Serde is
//! written by hand: a derived flattened map would deserialize its values after the fact, and an error in one would
//! lose its line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ConfigErrorKind;

/// The key of the soft limit: every other key of the table is a span name.
pub const SOFT_LIMIT_KEY: &str = "soft_limit_pct";

/// `[telemetry.budgets]`: time budgets by span name. Live: a change applies through the reload path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetsConfig {
    /// The share of a budget (percent, `1..=100`) past which a span's close is a WARN event; past the whole
    /// budget it is an ERROR event.
    pub soft_limit_pct: u32,
    /// Span name → its budget (more than zero).
    pub spans: BTreeMap<String, Duration>,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        BudgetsConfig {
            soft_limit_pct: 80,
            spans: BTreeMap::new(),
        }
    }
}

/// Parses `"50ms"`, `"2s"`, `"10m"`, `"1h"`, `"250us"`, `"900ns"`: a whole number and a unit (as the override
/// `ttl` reads it, with `ns` and `us` added for budgets). `None` when it is not one, or overflows.
///
/// ```
/// use std::time::Duration;
/// use livetel::config::parse_duration;
/// assert_eq!(parse_duration("50ms"), Some(Duration::from_millis(50)));
/// assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
/// assert_eq!(parse_duration("fast"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let nanos_per: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    n.checked_mul(nanos_per).map(Duration::from_nanos)
}

/// `d` in the largest unit that writes it whole: `50ms`, `2s`, `1500us`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let units: [(u128, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let (per, unit) = units
        .into_iter()
        .find(|(per, _)| ns != 0 && ns.is_multiple_of(*per))
        .unwrap_or((1, "ns"));
    format!("{}{unit}", ns / per)
}

impl Serialize for BudgetsConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.spans.len() + 1))?;
        map.serialize_entry(SOFT_LIMIT_KEY, &self.soft_limit_pct)?;
        for (name, budget) in &self.spans {
            map.serialize_entry(name, &format_duration(*budget))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for BudgetsConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TableVisitor)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = BudgetsConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of span names and durations (\"agent.turn\" = \"50ms\"), and `soft_limit_pct`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BudgetsConfig, A::Error> {
        let mut out = BudgetsConfig::default();
        while let Some(key) = map.next_key::<String>()? {
            if key == SOFT_LIMIT_KEY {
                out.soft_limit_pct = map.next_value()?;
            } else {
                // Read through the map, so a bad value's error carries its own place in the file.
                let Budget(budget) = map.next_value()?;
                out.spans.insert(key, budget);
            }
        }
        Ok(out)
    }
}

/// One span's budget as written: a duration string, more than zero.
struct Budget(Duration);

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)
            .map_err(|_| de::Error::custom("a budget is a duration string (\"50ms\", \"2s\", \"1m\")"))?;
        match parse_duration(&text) {
            Some(budget) if !budget.is_zero() => Ok(Budget(budget)),
            Some(_) => Err(de::Error::custom(format!(
                "budget `{text}` must be more than zero"
            ))),
            None => Err(de::Error::custom(format!(
                "`{text}` is not a duration: a whole number and a unit (ns, us, ms, s, m, h), like \"50ms\""
            ))),
        }
    }
}

/// Checks the table: `soft_limit_pct` in `1..=100`, and no more than 4096 span names.
pub(crate) fn validate(b: &BudgetsConfig) -> Result<(), (&'static str, ConfigErrorKind)> {
    let invalid = |key, message: String| Err((key, ConfigErrorKind::InvalidValue { message }));
    if !(1..=100).contains(&b.soft_limit_pct) {
        return invalid(
            "budgets.soft_limit_pct",
            format!(
                "must be 1..=100 (percent of the budget), got {}",
                b.soft_limit_pct
            ),
        );
    }
    if b.spans.len() > MAX_SPANS {
        return invalid(
            "budgets",
            format!("at most {MAX_SPANS} span names, got {}", b.spans.len()),
        );
    }
    Ok(())
}

/// Budgeted span names a config may hold (each is a counter series on `/metrics`).
pub const MAX_SPANS: usize = 4096;

#[cfg(feature = "schema")]
impl schemars::JsonSchema for BudgetsConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BudgetsConfig".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`[telemetry.budgets]`: time budgets by span name (\"agent.turn\" = \"50ms\"). A span closing past `soft_limit_pct` of its budget is a WARN event, past its budget an ERROR event; both counted, and their traces kept by the tail sampler.",
            "type": "object",
            "properties": {
                "soft_limit_pct": {
                    "description": "The share of a budget (percent) past which a span's close is a WARN event.",
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100,
                    "default": 80,
                },
            },
            "additionalProperties": {
                "description": "A span name's budget: a whole number and a unit (ns, us, ms, s, m, h).",
                "type": "string",
                "pattern": "^\\s*[0-9]+\\s*(ns|us|µs|ms|s|m|h)\\s*$",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_back() {
        for text in ["50ms", "2s", "10m", "1h", "250us", "900ns", "1500us"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
        }
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn a_bad_budget_is_placed_at_its_value() {
        let doc = "[telemetry.budgets]\n\"agent.turn\" = \"50ms\"\n\"llm.call\" = \"fast\"\n";
        let e = crate::config::parse_str("t.toml", doc).unwrap_err();
        let p = e.position.unwrap();
        assert_eq!((p.line, p.column), (3, 14), "{e}");
        assert!(e.to_string().contains("not a duration"), "{e}");
    }

    #[test]
    fn soft_limit_out_of_range_is_placed() {
        let doc = "[telemetry.budgets]\nsoft_limit_pct = 0\n";
        let e = crate::config::parse_str("t.toml", doc).unwrap_err();
        let p = e.position.unwrap();
        assert_eq!((p.line, p.column), (2, 18), "{e}");
        assert_eq!(e.key.as_deref(), Some("telemetry.budgets.soft_limit_pct"));
    }
}

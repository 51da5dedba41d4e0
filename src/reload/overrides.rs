//! Temporary overrides: partial configs laid over the base config (the file's, or the last one a handle gave)
//! until each expires, through the same validate → prepare → activate path as any reload.
//!
//! The base stays the source of truth. A file edit made while an override is active applies under it; when an
//! override expires (or is removed) the effective config is the base's with the remaining overrides, and the
//! reload that makes it so shows in status with trigger `override_expired` (or `override`). Several overrides
//! stack in the order they were added: a later one wins on a key both set. Precedence, highest first: overrides,
//! `OTEL_*` environment variables, the base, defaults.
//!
//! An override is a `[telemetry]` document, as a file holds it, checked on its own first (unknown keys, types,
//! ranges: errors name `<override>` with line and column), then laid over the base key by key (tables merge,
//! values replace); the result is checked again like a whole config, and rejected like a bad file.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{self, TelemetryConfig};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::status::OverrideStatus;

/// How errors in an override name their origin.
pub(crate) const OVERRIDE_LABEL: &str = "<override>";

/// One active override.
struct Override {
    id: u64,
    /// The `[telemetry]` keys it sets, as a JSON object laid over the base.
    patch: Value,
    /// Its dotted keys, for status.
    keys: Vec<String>,
    expires_at: Instant,
    /// `expires_at` as status shows it (RFC 3339, UTC).
    expires: String,
}

/// The active overrides, in the order they were added.
#[derive(Default)]
pub(crate) struct Overrides {
    active: Vec<Override>,
    last_id: u64,
    /// Raised by every change of the set: an unchanged file with changed overrides is not an unchanged config.
    version: u64,
}

impl Overrides {
    /// Checks `text` (a document with a `[telemetry]` table) and adds it for `ttl`; returns its id.
    ///
    /// # Errors
    /// The document is not a valid `[telemetry]` table on its own: with `<override>`, line, column and key.
    pub(crate) fn add(&mut self, text: &str, ttl: Duration) -> Result<u64, ConfigError> {
        let label = Path::new(OVERRIDE_LABEL);
        config::parse_str(label, text)?;
        let patch = telemetry_table(text).ok_or_else(|| {
            let message = "an override needs a `[telemetry]` table".to_owned();
            ConfigError::unplaced(label, ConfigErrorKind::InvalidValue { message })
        })?;
        let expires_at = Instant::now() + ttl;
        let at = time::OffsetDateTime::now_utc() + ttl;
        let expires = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "unknown".to_owned());
        self.last_id += 1;
        self.version += 1;
        let mut keys = Vec::new();
        leaf_keys("", &patch, &mut keys);
        self.active.push(Override {
            id: self.last_id,
            patch,
            keys,
            expires_at,
            expires,
        });
        Ok(self.last_id)
    }

    /// Removes override `id`; false when there is none.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.active.len();
        self.active.retain(|o| o.id != id);
        let removed = self.active.len() != before;
        if removed {
            self.version += 1;
        }
        removed
    }

    /// Removes the overrides expired at `now`; true when any was.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        let before = self.active.len();
        self.active.retain(|o| o.expires_at > now);
        let expired = self.active.len() != before;
        if expired {
            self.version += 1;
        }
        expired
    }

    /// True while some override is active.
    pub(crate) fn any(&self) -> bool {
        !self.active.is_empty()
    }

    /// A number that changes whenever the set of overrides does.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// `base` with every active override laid over it, in order.
    ///
    /// # Errors
    /// The result is not a valid config (an override that does not fit the current base).
    pub(crate) fn lay_over(&self, base: TelemetryConfig) -> Result<TelemetryConfig, ConfigError> {
        if self.active.is_empty() {
            return Ok(base);
        }
        let label = Path::new(OVERRIDE_LABEL);
        let invalid =
            |message: String| ConfigError::unplaced(label, ConfigErrorKind::InvalidValue { message });
        let mut merged = serde_json::to_value(&base).map_err(|e| invalid(e.to_string()))?;
        for o in &self.active {
            merge(&mut merged, &o.patch);
        }
        let config: TelemetryConfig = serde_json::from_value(merged).map_err(|e| invalid(e.to_string()))?;
        config::load::from_config(label, config).map(|loaded| loaded.config)
    }

    /// The active overrides as status shows them.
    pub(crate) fn status(&self) -> Vec<OverrideStatus> {
        self.active
            .iter()
            .map(|o| OverrideStatus {
                id: o.id,
                keys: o.keys.clone(),
                expires_at: o.expires.clone(),
            })
            .collect()
    }
}

/// The `[telemetry]` table of `text` as JSON, when it has one.
fn telemetry_table(text: &str) -> Option<Value> {
    let doc: toml::Table = text.parse().ok()?;
    let table = doc.get("telemetry")?;
    serde_json::to_value(table).ok().filter(Value::is_object)
}

/// Lays `patch` over `base`: objects merge key by key, any other value replaces.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (key, value) in p {
                merge(b.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The dotted keys of the leaves (and lists) of `value`.
fn leaf_keys(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let dotted = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_keys(&dotted, v, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TelemetryConfig {
        config::parse_str("t.toml", "[telemetry]\nsample_rate = 0.5\nfilter = \"info\"\n").unwrap()
    }

    #[test]
    fn overrides_stack_in_order_and_leave_the_base_alone() {
        let mut o = Overrides::default();
        let a = o
            .add(
                "[telemetry]\nsample_rate = 1.0\nfilter = \"debug\"\n",
                Duration::from_secs(60),
            )
            .unwrap();
        o.add(
            "[telemetry]\nfilter = \"trace\"\n[telemetry.resource]\nteam = \"x\"\n",
            Duration::from_secs(60),
        )
        .unwrap();
        let cfg = o.lay_over(base()).unwrap();
        assert_eq!((cfg.sample_rate, cfg.filter.as_str()), (1.0, "trace"));
        assert_eq!(cfg.resource.get("team").map(String::as_str), Some("x"));
        let status = o.status();
        assert_eq!(status[0].keys, ["filter", "sample_rate"]);
        assert_eq!(status[1].keys, ["filter", "resource.team"]);
        assert!(o.remove(status[1].id) && !o.remove(status[1].id));
        assert_eq!(o.lay_over(base()).unwrap().filter, "debug");
        assert!(o.remove(a));
        assert_eq!(o.lay_over(base()).unwrap(), base());
    }

    #[test]
    fn a_bad_override_is_refused_at_its_line_and_column() {
        let mut o = Overrides::default();
        let e = o
            .add("[telemetry]\nsample_rate = 7\n", Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(e.path, Path::new(OVERRIDE_LABEL));
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((2, 15)));
        assert!(
            o.add("[telemetry]\nsampel_rate = 1\n", Duration::from_secs(1))
                .is_err()
        );
        assert!(o.add("[other]\nx = 1\n", Duration::from_secs(1)).is_err());
        assert!(!o.any());
    }

    #[test]
    fn an_override_expires() {
        let mut o = Overrides::default();
        o.add("[telemetry]\nsample_rate = 1.0\n", Duration::ZERO).unwrap();
        let version = o.version();
        assert!(o.expire(Instant::now()));
        assert!(!o.any() && o.version() > version);
    }
}

//! What a reload changes: the dotted keys whose value differs between the running config and the next.

use super::TelemetryConfig;

/// The keys that differ between two configs, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    changed: Vec<String>,
}

impl ConfigDiff {
    /// The diff from `running` (`None` at start-up: every key counts as changed) to `next`.
    pub fn between(running: Option<&TelemetryConfig>, next: &TelemetryConfig) -> ConfigDiff {
        let value = |c: &TelemetryConfig| serde_json::to_value(c).unwrap_or_default();
        let mut changed = Vec::new();
        let old = running.map(value).unwrap_or(serde_json::Value::Null);
        walk("", &old, &value(next), &mut changed);
        changed.sort();
        ConfigDiff { changed }
    }

    /// Adds the pseudo-key `otlp.headers` when the secret headers resolved from the vault changed (a secret can
    /// rotate while the file does not). Their values never appear.
    pub fn with_headers_changed(mut self, changed: bool) -> ConfigDiff {
        if changed {
            self.changed.push("otlp.headers".to_owned());
            self.changed.sort();
        }
        self
    }

    /// The changed keys.
    pub fn changed(&self) -> &[String] {
        &self.changed
    }

    /// True when `key` or a key below it changed.
    pub fn touches(&self, key: &str) -> bool {
        self.changed.iter().any(|k| {
            k.strip_prefix(key)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }
}

fn walk(prefix: &str, old: &serde_json::Value, new: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value::{Null, Object};
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match (old, new) {
        (Object(a), Object(b)) => {
            for (k, v) in b {
                walk(&key(k), a.get(k).unwrap_or(&Null), v, out);
            }
            for (k, v) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
                walk(&key(k), v, &Null, out);
            }
        }
        (Object(a), other) | (other, Object(a)) if !matches!(other, Object(_)) && other == &Null => {
            for (k, v) in a {
                walk(&key(k), v, &Null, out);
            }
        }
        (a, b) if a != b => out.push(prefix.to_owned()),
        _ => {}
    }
}

//! What a reload changes: the running config and the next one compared once, into named parts.
//!
//! [`ConfigDiff`] holds the dotted keys (relative to `[telemetry]`) whose value differs, found by walking both
//! configs as serialized trees (so a new config field is compared without anyone listing it), and the backends
//! whose sinks are added, changed or removed (as Vector's `config::diff` does for its components). Every "did
//! this change" question of a reload reads it, and status shows its keys (`last_reload.changed`).

use serde_json::{Map, Value};

use super::{Backend, RESTART_REQUIRED, TelemetryConfig};

/// The pseudo-key that stands for the OTLP headers resolved from the vault: a secret can rotate while the file
/// does not ([`ConfigDiff::with_headers_changed`]).
const HEADERS_KEY: &str = "otlp.headers";

/// The key of a change found by comparing whole configs, when one of them cannot be walked key by key.
const WHOLE_KEY: &str = "*";

/// Where a loaded config holds the head probability, and the name a change of it is reported under.
const SAMPLE_RATE_KEY: &str = "sample_rate";
const PROBABILITY_KEY: &str = "sampling.probability";

/// The difference between the running config and the next one, computed once per reload.
///
/// - [`changed`](Self::changed): the dotted keys whose value differs, sorted. A leaf or a list (`backend`,
///   `propagators`) is one key; a map gives one key per entry (`resource.deployment.environment`). The head
///   probability is reported under its canonical name `sampling.probability`, whether it was written as
///   `sample_rate` (its short form, where a loaded config holds it) or in `[telemetry.sampling]`. Secret values
///   never appear: the config holds only the vault's key names, and a change of the resolved headers is the
///   pseudo-key `otlp.headers`, added by [`with_headers_changed`](Self::with_headers_changed).
/// - [`to_add`](Self::to_add), [`to_remove`](Self::to_remove), [`to_keep`](Self::to_keep): the backends
///   (sinks) that start recording, stop, or record on. Whether a kept backend's sink is rebuilt is the
///   backend's own answer: the keys its sink is built from, asked with [`touches_any`](Self::touches_any)
///   (livetel's reload path does so for each backend it keeps).
///
/// With no running config (start-up), every key of the next config is changed and each of its backends is
/// added. A config holding a path that is not UTF-8 (possible only when set in code) cannot be walked key by key:
/// it is compared whole, and a difference is the one key `*`.
///
/// # Examples
/// ```
/// use livetel::config::{Backend, ConfigDiff, TelemetryConfig};
///
/// let running = TelemetryConfig::default();
/// let mut next = running.clone();
/// next.sample_rate = 0.25;
/// next.otlp.endpoint = Some("http://collector:4317".into());
/// next.backend = vec![Backend::Local, Backend::Otlp].into();
///
/// let diff = ConfigDiff::between(Some(&running), &next);
/// assert_eq!(diff.changed(), ["backend", "otlp.endpoint", "sampling.probability"]);
/// assert!(diff.touches("otlp"));
/// assert_eq!(diff.to_add(), [Backend::Otlp]);
/// assert_eq!(diff.to_keep(), [Backend::Local]);
/// assert!(diff.to_remove().is_empty() && !diff.touches_any(&["local"]));
///
/// assert!(ConfigDiff::between(Some(&next), &next).is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    changed: Vec<String>,
    to_add: Vec<Backend>,
    to_keep: Vec<Backend>,
    to_remove: Vec<Backend>,
}

impl ConfigDiff {
    /// Compares `running` (`None` at start-up: everything is new) with `next`, both as they take effect (after
    /// environment overrides).
    pub fn between(running: Option<&TelemetryConfig>, next: &TelemetryConfig) -> ConfigDiff {
        let before = running.map(tree);
        let mut changed = Vec::new();
        changed_keys("", before.as_ref(), Some(&tree(next)), &mut changed);
        let mut changed: Vec<String> = changed.into_iter().map(canonical).collect();
        changed.sort_unstable();
        changed.dedup();

        let old: Vec<Backend> = running.map_or_else(Vec::new, |r| r.effective_backends().iter().collect());
        let new: Vec<Backend> = next.effective_backends().iter().collect();
        ConfigDiff {
            changed,
            to_add: new.iter().copied().filter(|b| !old.contains(b)).collect(),
            to_remove: old.iter().copied().filter(|b| !new.contains(b)).collect(),
            to_keep: new.into_iter().filter(|b| old.contains(b)).collect(),
        }
    }

    /// The same diff, plus the pseudo-key `otlp.headers` when `changed`: the OTLP headers resolved from the
    /// vault differ from the running ones (a rotated secret, or another vault key). Their values never appear.
    #[must_use]
    pub fn with_headers_changed(mut self, changed: bool) -> ConfigDiff {
        if changed && !self.changed.iter().any(|k| k == HEADERS_KEY) {
            let at = self.changed.partition_point(|k| k.as_str() < HEADERS_KEY);
            self.changed.insert(at, HEADERS_KEY.to_owned());
        }
        self
    }

    /// True when nothing differs: no key, no backend.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.to_add.is_empty() && self.to_remove.is_empty()
    }

    /// The dotted keys whose value differs, sorted (`["otlp.endpoint", "sampling.probability"]`).
    pub fn changed(&self) -> &[String] {
        &self.changed
    }

    /// True when a changed key is `prefix` or lies under it: `touches("otlp")` for `otlp.endpoint`, never for
    /// `otlp_x`. The key `*` (configs compared whole) touches every prefix.
    pub fn touches(&self, prefix: &str) -> bool {
        self.changed.iter().any(|k| k == WHOLE_KEY || is_under(k, prefix))
    }

    /// Backends in the next config's effective list and not in the running one's, in the next's order.
    pub fn to_add(&self) -> &[Backend] {
        &self.to_add
    }

    /// Backends in both lists, in the next config's order.
    pub fn to_keep(&self) -> &[Backend] {
        &self.to_keep
    }

    /// True when a changed key is one of `keys` or lies under one: asked with the keys a part is built from
    /// (a backend's sink, a signal), it says whether that part must be built again.
    pub fn touches_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.touches(k))
    }

    /// Backends in the running config's effective list and not in the next one's, in the running order.
    pub fn to_remove(&self) -> &[Backend] {
        &self.to_remove
    }

    /// Takes the changed keys that only take effect after a restart ([`RESTART_REQUIRED`]) out of
    /// [`changed`](Self::changed) and returns them: a reload keeps their running values.
    pub(crate) fn split_restart_required(&mut self) -> Vec<&'static str> {
        let restart: Vec<&'static str> = RESTART_REQUIRED
            .iter()
            .copied()
            .filter(|key| self.changed.iter().any(|k| is_under(k, key)))
            .collect();
        self.changed
            .retain(|k| !restart.iter().any(|key| is_under(k, key)));
        restart
    }
}

/// True when `key` is `prefix` or a key under it.
fn is_under(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The name a key is reported under.
fn canonical(key: String) -> String {
    if key == SAMPLE_RATE_KEY {
        PROBABILITY_KEY.to_owned()
    } else {
        key
    }
}

/// `cfg` as a tree of tables. A config that cannot be serialized (a path that is not UTF-8, set in code) is its
/// `Debug` text instead: compared whole, under [`WHOLE_KEY`].
fn tree(cfg: &TelemetryConfig) -> Value {
    serde_json::to_value(cfg).unwrap_or_else(|_| Value::String(format!("{cfg:?}")))
}

/// Pushes the dotted key of every leaf or list that differs between `before` and `after` (a missing side: every
/// key of the other).
fn changed_keys(at: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<String>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => changed_entries(at, Some(a), Some(b), out),
        (None, Some(Value::Object(b))) => changed_entries(at, None, Some(b), out),
        (Some(Value::Object(a)), None) => changed_entries(at, Some(a), None, out),
        (a, b) if a != b && at.is_empty() => out.push(WHOLE_KEY.to_owned()),
        (a, b) if a != b => out.push(at.to_owned()),
        _ => {}
    }
}

/// [`changed_keys`] for each entry of two tables (either may be missing).
fn changed_entries(
    at: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    out: &mut Vec<String>,
) {
    let names = before.into_iter().chain(after).flat_map(Map::keys);
    let mut names: Vec<&String> = names.collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let key = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        let before = before.and_then(|t| t.get(name.as_str()));
        let after = after.and_then(|t| t.get(name.as_str()));
        changed_keys(&key, before, after, out);
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;

//! The flat keys of earlier versions, read as their nested keys.
//!
//! Before the section is deserialized, each flat key found at the top of `[telemetry]` is moved into its nested
//! table (keeping its place in the file, for errors), with one deprecation warning per key. A flat key set next
//! to its nested key is an error: which one was meant cannot be told.
//!
//! | deprecated key in `[telemetry]` | becomes |
//! |---|---|
//! | `trace_dir` | `[telemetry.local] trace_dir` |
//! | `otlp_endpoint` | `[telemetry.otlp] endpoint` |
//! | `otlp_protocol` | `[telemetry.otlp] protocol` |
//! | `otlp_timeout_ms` | `[telemetry.otlp] timeout_ms` |
//! | `otlp_headers_vault_key` | `[telemetry.otlp] headers_vault_key` |
//! | `otlp_headers_required` | `[telemetry.otlp] headers_required` |
//! | `system_metrics_interval_secs` (zeph) | `[telemetry.profiling] system_metrics_interval_secs` |
//! | `pyroscope_endpoint` (zeph) | `[telemetry.profiling] pyroscope_endpoint` |

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A deprecated flat key and its nested home.
#[derive(Debug)]
pub(super) struct Alias {
    /// The flat key at the top of `[telemetry]`.
    pub(super) flat: &'static str,
    /// The nested table it moved to (relative to `[telemetry]`).
    pub(super) table: &'static str,
    /// Its name there.
    pub(super) key: &'static str,
}

impl Alias {
    /// The nested key, dotted relative to `[telemetry]` (`otlp.endpoint`).
    pub(super) fn nested(&self) -> String {
        format!("{}.{}", self.table, self.key)
    }

    fn warning(&self) -> String {
        format!(
            "`telemetry.{}` is deprecated: write `{}` in `[telemetry.{}]`",
            self.flat, self.key, self.table
        )
    }
}

/// The name a nested key (`otlp.endpoint`) had before the nested tables (`otlp_endpoint`); the key itself when
/// it was never flat.
pub(crate) fn flat_name(nested: &'static str) -> &'static str {
    ALIASES
        .iter()
        .find(|a| nested.split_once('.') == Some((a.table, a.key)))
        .map_or(nested, |a| a.flat)
}

/// Every deprecated flat key.
pub(super) const ALIASES: &[Alias] = &[
    Alias {
        flat: "trace_dir",
        table: "local",
        key: "trace_dir",
    },
    Alias {
        flat: "otlp_endpoint",
        table: "otlp",
        key: "endpoint",
    },
    Alias {
        flat: "otlp_protocol",
        table: "otlp",
        key: "protocol",
    },
    Alias {
        flat: "otlp_timeout_ms",
        table: "otlp",
        key: "timeout_ms",
    },
    Alias {
        flat: "otlp_headers_vault_key",
        table: "otlp",
        key: "headers_vault_key",
    },
    Alias {
        flat: "otlp_headers_required",
        table: "otlp",
        key: "headers_required",
    },
    Alias {
        flat: "system_metrics_interval_secs",
        table: "profiling",
        key: "system_metrics_interval_secs",
    },
    Alias {
        flat: "pyroscope_endpoint",
        table: "profiling",
        key: "pyroscope_endpoint",
    },
];

/// The alias whose flat key is `name`.
pub(super) fn of_flat(name: &str) -> Option<&'static Alias> {
    ALIASES.iter().find(|a| a.flat == name)
}

/// A flat key set next to its nested key.
#[derive(Debug)]
pub(super) struct Conflict {
    /// The deprecated key.
    pub(super) alias: &'static Alias,
    /// Where the flat key stands in the file.
    pub(super) at: usize,
}

impl Conflict {
    /// The flat key, dotted from the document's root.
    pub(super) fn key(&self) -> String {
        format!("telemetry.{}", self.alias.flat)
    }

    /// What is wrong, naming both keys.
    pub(super) fn message(&self) -> String {
        let a = self.alias;
        format!(
            "`telemetry.{}` and `telemetry.{}` are both set; keep only `{}` in `[telemetry.{}]`",
            a.flat,
            a.nested(),
            a.key,
            a.table
        )
    }
}

/// Moves each flat key of the `[telemetry]` table `section` into its nested table; returns one warning per key
/// moved. A nested table that is not a table is left for the key check to report.
///
/// # Errors
/// The first flat key whose nested key is set too.
pub(super) fn migrate(section: &mut DeTable<'_>) -> Result<Vec<String>, Conflict> {
    let mut warnings = Vec::new();
    for alias in ALIASES {
        let Some((key, value)) = section.remove_entry(alias.flat) else {
            continue;
        };
        let Some(table) = nested_table(section, alias.table, key.span()) else {
            section.insert(key, value);
            continue;
        };
        if table.contains_key(alias.key) {
            return Err(Conflict {
                alias,
                at: key.span().start,
            });
        }
        table.insert(Spanned::new(key.span(), Cow::Borrowed(alias.key)), value);
        warnings.push(alias.warning());
    }
    Ok(warnings)
}

/// The table `name` of `section`, created (placed at `span`) when missing; `None` when it is not a table.
fn nested_table<'a, 'i>(
    section: &'a mut DeTable<'i>,
    name: &'static str,
    span: Range<usize>,
) -> Option<&'a mut DeTable<'i>> {
    if !section.contains_key(name) {
        let key = Spanned::new(span.clone(), Cow::Borrowed(name));
        section.insert(key, Spanned::new(span, DeValue::Table(DeTable::new())));
    }
    match section.get_mut(name)?.get_mut() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> DeTable<'_> {
        let mut root = DeTable::parse(text).unwrap().into_inner();
        match root.remove("telemetry").map(Spanned::into_inner) {
            Some(DeValue::Table(t)) => t,
            other => panic!("no section: {other:?}"),
        }
    }

    #[test]
    fn flat_keys_move_with_their_place_and_a_warning_each() {
        let text = "[telemetry]\notlp_endpoint = \"http://a:1\"\ntrace_dir = \"t\"\n";
        let mut s = section(text);
        let warnings = migrate(&mut s).unwrap();
        assert_eq!(warnings.len(), 2);
        assert!(
            warnings[1]
                .contains("`telemetry.otlp_endpoint` is deprecated: write `endpoint` in `[telemetry.otlp]`")
        );
        let Some(DeValue::Table(otlp)) = s.get("otlp").map(Spanned::get_ref) else {
            panic!("no otlp table");
        };
        let endpoint = otlp.get("endpoint").unwrap();
        assert_eq!(&text[endpoint.span()], "\"http://a:1\"");
        assert!(s.get("local").is_some() && s.get("trace_dir").is_none());
    }

    #[test]
    fn flat_and_nested_both_set_is_a_conflict_at_the_flat_key() {
        let text = "[telemetry]\notlp_protocol = \"grpc\"\n[telemetry.otlp]\nprotocol = \"grpc\"\n";
        let conflict = migrate(&mut section(text)).unwrap_err();
        assert_eq!(conflict.at, text.find("otlp_protocol").unwrap());
        assert!(
            conflict
                .message()
                .contains("`telemetry.otlp_protocol` and `telemetry.otlp.protocol`")
        );
    }

    #[test]
    fn every_alias_targets_a_field_of_its_table() {
        let top = super::super::keys::Keys::telemetry();
        for a in ALIASES {
            let table = top.nested(a.table).unwrap();
            assert!(table.accepts(a.key), "{}", a.nested());
            assert!(!top.accepts(a.flat), "{} is still a field", a.flat);
        }
    }
}

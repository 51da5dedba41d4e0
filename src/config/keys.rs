//! The keys each table of `[telemetry]` accepts, read from the config types themselves, and the check that
//! rejects any other key with its place and a did-you-mean hint.

use serde::de::{self, DeserializeOwned, Visitor};
use toml::Spanned;
use toml::de::DeValue;

use super::location::Locator;
use super::{
    BatchConfig, LocalConfig, OtlpConfig, SECRET_KEYS, SamplingConfig, TelemetryConfig, VaultConfig, alias,
};
use crate::error::{ConfigError, ConfigErrorKind};

/// What a table accepts.
#[derive(Debug)]
pub(super) enum Keys {
    /// Any key (`[telemetry.resource]`).
    Any,
    /// A struct's fields; those in `nested` are tables with keys of their own.
    Fields {
        /// The field names, as serde reads them.
        names: &'static [&'static str],
        /// The fields that are tables with a schema.
        nested: Vec<(&'static str, Keys)>,
    },
}

impl Keys {
    /// `[telemetry]` and the tables under it.
    pub(super) fn telemetry() -> Keys {
        let otlp = Keys::of::<OtlpConfig>(vec![("batch", Keys::of::<BatchConfig>(Vec::new()))]);
        Keys::of::<TelemetryConfig>(vec![
            ("local", Keys::of::<LocalConfig>(Vec::new())),
            ("otlp", otlp),
            ("console", Keys::of::<super::ConsoleConfig>(Vec::new())),
            ("logs", Keys::of::<super::LogsConfig>(Vec::new())),
            ("metrics", Keys::of::<super::MetricsConfig>(Vec::new())),
            ("admin", Keys::of::<super::AdminConfig>(Vec::new())),
            ("profiling", Keys::of::<super::ProfilingConfig>(Vec::new())),
            ("resource", Keys::Any),
            ("sampling", Keys::of::<SamplingConfig>(Vec::new())),
            ("vault", Keys::of::<VaultConfig>(Vec::new())),
        ])
    }

    fn of<T: DeserializeOwned>(nested: Vec<(&'static str, Keys)>) -> Keys {
        Keys::Fields {
            names: fields_of::<T>(),
            nested,
        }
    }

    /// The schema of the nested table `name`, when it has one.
    pub(super) fn nested(&self, name: &str) -> Option<&Keys> {
        match self {
            Keys::Any => None,
            Keys::Fields { nested, .. } => nested.iter().find(|(n, _)| *n == name).map(|(_, k)| k),
        }
    }

    /// Every field of this table and of the tables nested in it: its name, and the key to suggest for it (dotted
    /// from this table, with `prefix` before it).
    fn spellings(&self, prefix: &str, out: &mut Vec<(&'static str, String)>) {
        let Keys::Fields { names, nested } = self else {
            return;
        };
        out.extend(names.iter().map(|n| (*n, join(prefix, n))));
        for (table, keys) in nested {
            keys.spellings(&join(prefix, table), out);
        }
    }

    /// True when the table accepts `name`.
    pub(super) fn accepts(&self, name: &str) -> bool {
        match self {
            Keys::Any => true,
            Keys::Fields { names, .. } => names.contains(&name),
        }
    }
}

/// Every key `[telemetry]` accepts, dotted (its tables and their keys alike; `resource` takes any key below
/// it), for the check that the JSON Schema holds exactly these.
#[cfg(all(test, feature = "schema"))]
pub(super) fn accepted() -> Vec<String> {
    let mut out = Vec::new();
    Keys::telemetry().spellings("", &mut out);
    out.into_iter().map(|(_, key)| key).collect()
}

/// The field names serde's derive hands to `deserialize_struct` for `T`; empty for a type that is not a struct.
pub(super) fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(Captured(fields)) => fields,
        Ok(_) => &[],
    }
}

/// A deserializer that asks a struct for its field names, then stops.
struct FieldNames;

/// How [`FieldNames`] stops: with the names (none when the type did not deserialize as a struct).
#[derive(Debug)]
struct Captured(&'static [&'static str]);

impl std::fmt::Display for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "captured {} field names", self.0.len())
    }
}

impl std::error::Error for Captured {}

impl de::Error for Captured {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Captured(&[])
    }
}

impl<'de> de::Deserializer<'de> for FieldNames {
    type Error = Captured;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Captured> {
        Err(Captured(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Captured> {
        Err(Captured(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Rejects unknown and secret keys in the `[telemetry]` table `section`, at every level with a schema.
pub(super) fn check(section: &Spanned<DeValue<'_>>, err: &Locator<'_>) -> Result<(), ConfigError> {
    check_table(section, "", &Keys::telemetry(), err)
}

/// Checks the table at dotted `prefix` under `telemetry` against `keys`, and recurses into its nested tables.
/// At the top, the deprecated flat keys are accepted too.
fn check_table(
    table: &Spanned<DeValue<'_>>,
    prefix: &str,
    keys: &Keys,
    err: &Locator<'_>,
) -> Result<(), ConfigError> {
    if matches!(keys, Keys::Any) {
        return Ok(());
    }
    let DeValue::Table(entries) = table.get_ref() else {
        let kind = ConfigErrorKind::InvalidValue {
            message: "must be a table".to_owned(),
        };
        let key = if prefix.is_empty() {
            "telemetry".to_owned()
        } else {
            full_key(prefix)
        };
        return Err(err.at(Some(table.span().start), Some(key), kind));
    };
    for (key, value) in entries {
        let name = key.get_ref().as_ref();
        let dotted = join(prefix, name);
        if SECRET_KEYS.contains(&dotted.as_str()) {
            let message = "header values must never live in a config file: put them in a secret and name it \
                           with `headers_vault_key` in `[telemetry.otlp]` (sources: `[telemetry.vault]`)"
                .to_owned();
            let kind = ConfigErrorKind::SecretInConfig { message };
            return Err(err.at(Some(key.span().start), Some(full_key(&dotted)), kind));
        }
        let flat_alias = prefix.is_empty() && alias::of_flat(name).is_some();
        if !keys.accepts(name) && !flat_alias {
            let kind = ConfigErrorKind::UnknownKey {
                hint: hint(name, prefix, keys),
            };
            return Err(err.at(Some(key.span().start), Some(full_key(&dotted)), kind));
        }
        if let Some(nested) = keys.nested(name) {
            check_table(value, &dotted, nested, err)?;
        }
    }
    Ok(())
}

/// `telemetry.{dotted}`.
fn full_key(dotted: &str) -> String {
    format!("telemetry.{dotted}")
}

/// `name` in the table at dotted `prefix` (empty for `[telemetry]` itself).
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The key to suggest for the unknown `name` in the table at `prefix`: the closest field of the table or, dotted,
/// of a table nested in it (`max_queue_size` in `[telemetry.otlp]` → `batch.max_queue_size`), and at the top,
/// the nested home of a deprecated flat key (`otlp_endpiont` → `otlp.endpoint`); never a deprecated name.
fn hint(name: &str, prefix: &str, keys: &Keys) -> Option<String> {
    let mut candidates = Vec::new();
    keys.spellings("", &mut candidates);
    if prefix.is_empty() {
        candidates.extend(alias::ALIASES.iter().map(|a| (a.flat, a.nested())));
    }
    closest(name, &candidates)
}

/// The suggestion whose spelling is closest to `name`, when it is close enough to be a typo.
fn closest(name: &str, candidates: &[(&str, String)]) -> Option<String> {
    candidates
        .iter()
        .map(|(spelling, suggestion)| (strsim::jaro_winkler(name, spelling), suggestion))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_serde() {
        assert_eq!(
            fields_of::<BatchConfig>(),
            ["max_queue_size", "max_export_batch_size", "scheduled_delay_ms"]
        );
        assert!(fields_of::<TelemetryConfig>().contains(&"otlp"));
        assert!(fields_of::<VaultConfig>().contains(&"strict_permissions"));
        assert!(fields_of::<String>().is_empty());
        assert!(fields_of::<super::super::Backend>().is_empty());
    }

    #[test]
    fn nested_tables_are_fields_of_their_parent() {
        fn walk(keys: &Keys) {
            if let Keys::Fields { names, nested } = keys {
                for (name, sub) in nested {
                    assert!(names.contains(name), "{name} is not a field");
                    walk(sub);
                }
            }
        }
        walk(&Keys::telemetry());
    }

    #[test]
    fn hints_prefer_nested_homes_over_flat_names() {
        let top = Keys::telemetry();
        assert_eq!(hint("sampel_rate", "", &top).as_deref(), Some("sample_rate"));
        assert_eq!(hint("otlp_endpiont", "", &top).as_deref(), Some("otlp.endpoint"));
        assert_eq!(hint("trace_dri", "", &top).as_deref(), Some("local.trace_dir"));
        assert_eq!(hint("endpoint", "", &top).as_deref(), Some("otlp.endpoint"));
        let otlp = top.nested("otlp").unwrap();
        assert_eq!(hint("endpiont", "otlp", otlp).as_deref(), Some("endpoint"));
        assert_eq!(
            hint("max_queue_size", "otlp", otlp).as_deref(),
            Some("batch.max_queue_size")
        );
        assert_eq!(hint("zzz", "", &top), None);
    }
}

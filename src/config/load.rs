//! Reading a config file and finding its `[telemetry]` section.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::legacy::LegacyDoc;
use super::location::{key_span, lookup, value_span, Position};
use super::{validate, TelemetryConfig, KNOWN_KEYS, KNOWN_NESTED, SECRET_KEYS};
use crate::error::{ConfigError, ConfigErrorKind};

/// Config files larger than this are refused: a telemetry section is a few hundred bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A parsed, validated section and the warnings it produced (deprecations, for instance).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The section.
    pub config: TelemetryConfig,
    /// Sentences to show a person; empty when all is well.
    pub warnings: Vec<String>,
    /// The raw bytes' hash, to tell an unchanged file at no cost.
    pub content_hash: u64,
    text: String,
}

impl Loaded {
    /// Where the value of a dotted key (`telemetry.trace_dir`) stands in the file, for errors found later.
    pub fn locate(&self, key: &str) -> Option<Position> {
        let root = DeTable::parse(&self.text).ok()?;
        let path: Vec<&str> = key.split('.').collect();
        value_span(root.get_ref(), &path).map(|s| Position::of_offset(&self.text, s.start))
    }
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    telemetry: Option<TelemetryConfig>,
}

/// Reads and validates the `[telemetry]` section of the TOML file at `path`.
///
/// # Errors
/// [`ConfigError`] with the file, line, column and key when the file is missing, unreadable, not UTF-8, too
/// large, not TOML, or its section is invalid.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let bytes = read_bounded(path)?;
    let hash = hash_bytes(&bytes);
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ConfigError::unplaced(
            path,
            ConfigErrorKind::NotUtf8 {
                offset: e.valid_up_to(),
            },
        )
    })?;
    let (config, warnings) = parse(path, text)?;
    Ok(Loaded {
        config,
        warnings,
        content_hash: hash,
        text: text.to_owned(),
    })
}

/// A config document held in memory (a reload handle's), parsed and validated as a file would be; `label` names
/// it in errors.
///
/// Unlike a file, a document without a `[telemetry]` table is refused (a typo in its name must not reset every
/// setting to its default), and so is one over [`MAX_FILE_BYTES`].
pub(crate) fn from_text(label: &Path, text: String) -> Result<Loaded, ConfigError> {
    let size = text.len() as u64;
    if size > MAX_FILE_BYTES {
        let kind = ConfigErrorKind::TooLarge {
            size,
            limit: MAX_FILE_BYTES,
        };
        return Err(ConfigError::unplaced(label, kind));
    }
    // A document that does not parse gets `parse`'s located error below.
    let lacks_section = DeTable::parse(&text).is_ok_and(|root| lookup(root.get_ref(), "telemetry").is_none());
    if lacks_section {
        let kind = ConfigErrorKind::InvalidValue {
            message: "the document has no `[telemetry]` table".to_owned(),
        };
        let mut e = ConfigError::unplaced(label, kind);
        e.key = Some("telemetry".to_owned());
        return Err(e);
    }
    let (config, warnings) = parse(label, &text)?;
    Ok(Loaded {
        config,
        warnings,
        content_hash: hash_bytes(text.as_bytes()),
        text,
    })
}

/// A typed config changed in code, validated as a file's section would be. Errors name the key, with no
/// position (there is no text).
pub(crate) fn from_config(label: &Path, config: TelemetryConfig) -> Result<Loaded, ConfigError> {
    validate::validate(&config).map_err(|(key, kind)| ConfigError {
        path: label.to_path_buf(),
        position: None,
        key: Some(format!("telemetry.{key}")),
        kind,
    })?;
    Ok(Loaded {
        content_hash: hash_bytes(format!("{config:?}").as_bytes()),
        config,
        warnings: Vec::new(),
        text: String::new(),
    })
}

/// Parses and validates the `[telemetry]` section of `text`; `path` only labels errors.
///
/// # Errors
/// See [`load_file`].
pub fn parse_str(path: impl AsRef<Path>, text: &str) -> Result<TelemetryConfig, ConfigError> {
    parse(path.as_ref(), text).map(|(config, _)| config)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let io_err = |e: std::io::Error| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ConfigErrorKind::Missing
        } else {
            ConfigErrorKind::Io {
                message: e.to_string(),
            }
        };
        ConfigError::unplaced(path, kind)
    };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ConfigError::unplaced(
            path,
            ConfigErrorKind::TooLarge {
                size,
                limit: MAX_FILE_BYTES,
            },
        ));
    }
    std::fs::read(path).map_err(io_err)
}

/// FNV-1a: a stable hash of the file's bytes (no dependency on `std`'s randomized hasher).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<(TelemetryConfig, Vec<String>), ConfigError> {
    let err = Locator { path, text };
    let root = DeTable::parse(text).map_err(|e| err.toml(&e, None))?;
    let root = root.get_ref();
    let mut warnings = Vec::new();
    let legacy: LegacyDoc = toml::from_str(text).map_err(|e| err.toml(&e, None))?;
    let config = match lookup(root, "telemetry") {
        Some(section) => {
            check_keys(section, &err)?;
            if legacy.present() {
                warnings.push(
                    "`[observability]` / `[debug.traces]` are deprecated and ignored next to `[telemetry]`; remove them"
                        .to_owned(),
                );
            }
            let doc: Doc = toml::from_str(text).map_err(|e| err.toml(&e, Some(root)))?;
            doc.telemetry.unwrap_or_default()
        }
        None if legacy.present() => {
            warnings.push(
                "`[observability]` / `[debug.traces]` are deprecated: they were migrated to `[telemetry]`; move the keys there"
                    .to_owned(),
            );
            legacy.migrate().map_err(|(key, message)| {
                let span = value_span(root, &key.split('.').collect::<Vec<_>>());
                err.at(
                    span.map(|s| s.start),
                    Some(key),
                    ConfigErrorKind::InvalidValue { message },
                )
            })?
        }
        None => TelemetryConfig::default(),
    };
    validate::validate(&config).map_err(|(key, kind)| {
        let path: Vec<&str> = std::iter::once("telemetry").chain(key.split('.')).collect();
        let span = value_span(root, &path);
        err.at(span.map(|s| s.start), Some(format!("telemetry.{key}")), kind)
    })?;
    Ok((config, warnings))
}

fn check_keys(section: &toml::Spanned<DeValue<'_>>, err: &Locator<'_>) -> Result<(), ConfigError> {
    check_table(section, "", KNOWN_KEYS, err)
}

/// Rejects keys of `table` (at dotted `prefix` under `telemetry`) not in `known`, and recurses into the nested
/// tables that have a schema. `[telemetry.resource]` takes any key.
fn check_table(
    table: &toml::Spanned<DeValue<'_>>,
    prefix: &str,
    known: &[&'static str],
    err: &Locator<'_>,
) -> Result<(), ConfigError> {
    let dotted = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let DeValue::Table(entries) = table.get_ref() else {
        let kind = ConfigErrorKind::InvalidValue {
            message: "must be a table".to_owned(),
        };
        let key = if prefix.is_empty() {
            "telemetry".to_owned()
        } else {
            format!("telemetry.{prefix}")
        };
        return Err(err.at(Some(table.span().start), Some(key), kind));
    };
    for (key, value) in entries {
        let name = key.get_ref().as_ref();
        if SECRET_KEYS.contains(&dotted(name).as_str()) {
            let message =
                "header values must never live in a config file: put them in a secret and name it with \
                           `otlp_headers_vault_key` (sources: `[telemetry.vault]`)"
                    .to_owned();
            let kind = ConfigErrorKind::SecretInConfig { message };
            return Err(err.at(
                Some(key.span().start),
                Some(format!("telemetry.{}", dotted(name))),
                kind,
            ));
        }
        if !known.contains(&name) {
            let kind = ConfigErrorKind::UnknownKey {
                hint: closest(name, known).map(str::to_owned),
            };
            return Err(err.at(
                Some(key.span().start),
                Some(format!("telemetry.{}", dotted(name))),
                kind,
            ));
        }
        if let Some((_, nested)) = KNOWN_NESTED.iter().find(|(path, _)| *path == dotted(name)) {
            check_table(value, &dotted(name), nested, err)?;
        }
    }
    Ok(())
}

/// The known key closest to `name`, when it is close enough to be a typo.
fn closest(name: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn at(&self, offset: Option<usize>, key: Option<String>, kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            path: PathBuf::from(self.path),
            position: offset.map(|o| Position::of_offset(self.text, o)),
            key,
            kind,
        }
    }

    /// A TOML error, with the key whose value contains the error's span when `root` is given.
    fn toml(&self, e: &toml::de::Error, root: Option<&DeTable<'_>>) -> ConfigError {
        let span = e.span();
        let key = span.clone().zip(root).and_then(|(s, root)| key_at(root, s.start));
        let message = e.message().trim_end().to_owned();
        let kind = if key.is_some() {
            ConfigErrorKind::InvalidValue { message }
        } else {
            ConfigErrorKind::Syntax { message }
        };
        self.at(span.map(|s| s.start), key, kind)
    }
}

/// The `telemetry.*` key whose key or value span contains `offset`.
fn key_at(root: &DeTable<'_>, offset: usize) -> Option<String> {
    let DeValue::Table(section) = lookup(root, "telemetry")?.get_ref() else {
        return None;
    };
    section.iter().find_map(|(k, v)| {
        let name = k.get_ref().as_ref();
        let hit = v.span().contains(&offset)
            || key_span(root, &["telemetry", name]).is_some_and(|s| s.contains(&offset));
        hit.then(|| format!("telemetry.{name}"))
    })
}

//! Reading a config file and finding its `[telemetry]` section.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::keys;
use super::legacy::LegacyDoc;
use super::location::{Locator, Position, lookup, value_span};
use super::{TelemetryConfig, alias, sampling, validate};
use crate::error::{ConfigError, ConfigErrorKind};

/// Config files larger than this are refused: a telemetry section is a few hundred bytes.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;

/// A parsed, validated section and the warnings it produced (deprecations, for instance).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Loaded {
    /// The section.
    pub(crate) config: TelemetryConfig,
    /// Sentences to show a person; empty when all is well.
    pub(crate) warnings: Vec<String>,
    /// The raw bytes' hash, to tell an unchanged file at no cost.
    pub(crate) content_hash: u64,
    text: String,
}

impl Loaded {
    /// Where the value of a dotted key (`telemetry.local.trace_dir`) stands in the file, for errors found later;
    /// found also where the file used the key's deprecated flat alias (`telemetry.trace_dir`).
    pub(crate) fn locate(&self, key: &str) -> Option<Position> {
        let mut root = DeTable::parse(&self.text).ok()?;
        if let Some(DeValue::Table(section)) = root.get_mut().get_mut("telemetry").map(Spanned::get_mut) {
            // The file was loaded: its aliases do not conflict.
            let _ = alias::migrate(section);
        }
        let path: Vec<&str> = key.split('.').collect();
        value_span(root.get_ref(), &path).map(|s| Position::of_offset(&self.text, s.start))
    }
}

/// Reads and validates the `[telemetry]` section of the TOML file at `path`.
///
/// # Errors
/// [`ConfigError`] with the file, line, column and key when the file is missing, unreadable, not UTF-8, too
/// large, not TOML, or its section is invalid.
pub(crate) fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
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
pub(crate) fn from_config(label: &Path, mut config: TelemetryConfig) -> Result<Loaded, ConfigError> {
    let unplaced = |(key, kind)| ConfigError {
        path: label.to_path_buf(),
        position: None,
        key: Some(format!("telemetry.{key}")),
        kind,
    };
    validate::validate(&config).map_err(unplaced)?;
    // In code `sampling.probability`, when set, replaces `sample_rate`.
    sampling::fold_probability(&mut config, false).map_err(unplaced)?;
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
/// [`ConfigError`] with the line, column and key when the text is not TOML or its section is invalid.
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

/// Parses and validates the `[telemetry]` section of `text` (or migrates the legacy sections); returns it with
/// its warnings. `path` only labels errors.
pub(crate) fn parse(path: &Path, text: &str) -> Result<(TelemetryConfig, Vec<String>), ConfigError> {
    let err = Locator::new(path, text);
    let mut root = DeTable::parse(text).map_err(|e| err.toml(&e, None))?;
    let legacy: LegacyDoc = toml::from_str(text).map_err(|e| err.toml(&e, None))?;
    let mut warnings = Vec::new();
    let config = if let Some(section) = root.get_mut().get_mut("telemetry") {
        if legacy.present() {
            warnings.push(
                "`[observability]` / `[debug.traces]` are deprecated and ignored next to `[telemetry]`; remove them"
                    .to_owned(),
            );
        }
        read_section(section, &err, &mut warnings)?
    } else if legacy.present() {
        warnings.push(
            "`[observability]` / `[debug.traces]` are deprecated: they were migrated to `[telemetry]`; move the keys there"
                .to_owned(),
        );
        legacy.migrate().map_err(|(key, message)| {
            let span = value_span(root.get_ref(), &key.split('.').collect::<Vec<_>>());
            err.at(
                span.map(|s| s.start),
                Some(key),
                ConfigErrorKind::InvalidValue { message },
            )
        })?
    } else {
        TelemetryConfig::default()
    };
    // Aliases were moved in `root`, keeping their places: a nested key finds its flat spelling.
    let place = |(key, kind): (&str, ConfigErrorKind)| {
        let path: Vec<&str> = std::iter::once("telemetry").chain(key.split('.')).collect();
        let span = value_span(root.get_ref(), &path);
        err.at(span.map(|s| s.start), Some(format!("telemetry.{key}")), kind)
    };
    let mut config = config;
    validate::validate(&config).map_err(place)?;
    let written = |path: &[&str]| value_span(root.get_ref(), path).is_some();
    let both = written(&["telemetry", "sample_rate"]) && written(&["telemetry", "sampling", "probability"]);
    sampling::fold_probability(&mut config, both).map_err(place)?;
    for (key, feature) in config.profiling.without_feature() {
        warnings.push(format!(
            "`telemetry.{key}` has no effect: livetel was built without its cargo feature `{feature}`"
        ));
    }
    Ok((config, warnings))
}

/// Checks the keys of the `[telemetry]` table `section`, moves its deprecated flat keys into their nested
/// tables (in place, with a warning each), and deserializes it.
fn read_section(
    section: &mut Spanned<DeValue<'_>>,
    err: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<TelemetryConfig, ConfigError> {
    keys::check(section, err)?;
    let span = section.span();
    let DeValue::Table(table) = section.get_mut() else {
        let kind = ConfigErrorKind::InvalidValue {
            message: "must be a table".to_owned(),
        };
        return Err(err.at(Some(span.start), Some("telemetry".to_owned()), kind));
    };
    let moved = alias::migrate(table).map_err(|c| {
        let kind = ConfigErrorKind::InvalidValue { message: c.message() };
        err.at(Some(c.at), Some(c.key()), kind)
    })?;
    warnings.extend(moved);
    let de = toml::de::Deserializer::from(Spanned::new(span, table.clone()));
    TelemetryConfig::deserialize(de).map_err(|e| err.toml(&e, Some(section)))
}

//! Error types: one per phase, each saying what failed and where.

use std::path::PathBuf;

use serde::Serialize;

/// A config that cannot take effect, with the file, line, column and key it concerns.
///
/// ```
/// let err = livetel::config::parse_str("t.toml", "[telemetry]\nsampel_rate = 0.5\n").unwrap_err();
/// assert_eq!(err.position.map(|p| p.line), Some(2));
/// assert!(err.to_string().contains("did you mean `sample_rate`"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[error("{}{}{kind}", location(path, position), key_prefix(key))]
#[non_exhaustive]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// Where in the file, when the error has a place.
    pub position: Option<Position>,
    /// The dotted key concerned, e.g. `telemetry.sample_rate`.
    pub key: Option<String>,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a config.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {message}")]
    Io {
        /// The OS error.
        message: String,
    },
    /// The file is gone; the last good config keeps running.
    #[error("the file is missing; the last good config keeps running")]
    Missing,
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The file is larger than a config file should be.
    #[error("the file is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Size of the file.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// TOML syntax error.
    #[error("{message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A key the `[telemetry]` table does not know.
    #[error("unknown key{}", hint.as_ref().map(|h| format!("; did you mean `{h}`?")).unwrap_or_default())]
    UnknownKey {
        /// The closest known key, if one is close.
        hint: Option<String>,
    },
    /// A value of the wrong type or out of range.
    #[error("{message}")]
    InvalidValue {
        /// What is wrong with it.
        message: String,
    },
    /// Header values written into the config file instead of the vault.
    #[error("{message}")]
    SecretInConfig {
        /// Where the secret belongs instead.
        message: String,
    },
    /// A component could not be built from a valid config (e.g. the trace dir is not writable).
    #[error("{message}")]
    Build {
        /// What failed.
        message: String,
    },
}

fn location(path: &std::path::Path, position: &Option<Position>) -> String {
    match position {
        Some(p) => format!("{}:{}:{}: ", path.display(), p.line, p.column),
        None => format!("{}: ", path.display()),
    }
}

fn key_prefix(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default()
}

impl ConfigError {
    /// An error with no position in the file.
    pub(crate) fn unplaced(path: impl Into<PathBuf>, kind: ConfigErrorKind) -> Self {
        ConfigError {
            path: path.into(),
            position: None,
            key: None,
            kind,
        }
    }

    /// True when the file was missing.
    pub fn is_missing(&self) -> bool {
        matches!(self.kind, ConfigErrorKind::Missing)
    }
}

/// Why [`crate::init`] or [`crate::Builder::build`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The config at start-up is not valid (there is no last good one to fall back to).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Another global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    SubscriberAlreadySet,
    /// The control thread or its runtime could not start.
    #[error("cannot start livetel's control thread: {0}")]
    Runtime(#[source] std::io::Error),
    /// The file watcher could not start.
    #[error("cannot watch {path}: {message}")]
    Watch {
        /// The directory that could not be watched.
        path: PathBuf,
        /// The watcher's error.
        message: String,
    },
}

/// A 1-based line and column in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text's end and to a char boundary).
    pub fn of_offset(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Position { line, column }
    }
}

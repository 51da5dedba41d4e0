//! `[telemetry.console]`: what livetel prints.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `[telemetry.console]`: human-readable output of events (tracing-subscriber's `fmt` layer), and optionally
/// JSON lines to a daily-rolling file. Every key is live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ConsoleConfig {
    /// On or off. Unset: on with [`crate::init`] (and `Builder::init`), off with `Builder::build` and
    /// `Builder::build_layer` (whose users usually bring their own `fmt` layer).
    pub enabled: Option<bool>,
    /// How a line looks.
    pub format: ConsoleFormat,
    /// `EnvFilter` directives for the console and the file (`RUST_LOG`, when set, overrides it).
    pub filter: String,
    /// Colours: `"auto"` (on when the writer is a terminal), `true` or `false`.
    pub ansi: Ansi,
    /// Where lines go.
    pub writer: ConsoleWriter,
    /// A file path: JSON lines, also, to a daily-rolling file (`<file>.YYYY-MM-DD`, UTC), written by a
    /// background thread. Unset by default.
    pub file: Option<PathBuf>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: None,
            format: ConsoleFormat::Compact,
            filter: "info".to_owned(),
            ansi: Ansi::Auto,
            writer: ConsoleWriter::Stderr,
            file: None,
        }
    }
}

impl ConsoleConfig {
    /// Whether the console is on, given the default of the way livetel was started.
    pub fn is_enabled(&self, default: bool) -> bool {
        self.enabled.unwrap_or(default)
    }
}

/// The line format of the console: tracing-subscriber's own formatters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum ConsoleFormat {
    /// One line per event, span fields inline.
    #[default]
    Compact,
    /// Several lines per event, for a person at a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}

impl ConsoleFormat {
    /// The name used in config files and status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleFormat::Compact => "compact",
            ConsoleFormat::Pretty => "pretty",
            ConsoleFormat::Json => "json",
        }
    }
}

/// Where console lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum ConsoleWriter {
    /// Standard error.
    #[default]
    Stderr,
    /// Standard output.
    Stdout,
}

impl ConsoleWriter {
    /// The name used in config files and status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleWriter::Stderr => "stderr",
            ConsoleWriter::Stdout => "stdout",
        }
    }
}

/// Colours in console lines: `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Ansi {
    /// On when the writer is a terminal.
    #[default]
    Auto,
    /// Always on.
    On,
    /// Always off.
    Off,
}

impl Serialize for Ansi {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ansi::Auto => s.serialize_str("auto"),
            Ansi::On => s.serialize_bool(true),
            Ansi::Off => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Ansi {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(Ansi::On),
            Raw::Bool(false) => Ok(Ansi::Off),
            Raw::Word(w) if w == "auto" => Ok(Ansi::Auto),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "invalid ansi `{w}`: expected \"auto\", true or false"
            ))),
        }
    }
}

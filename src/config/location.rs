//! Where things stand in a config file: key paths to the spans of their values and back, and [`Locator`], which
//! turns a byte offset into an error with the file, line and column ([`Position`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(crate) use crate::error::Position;
use crate::error::{ConfigError, ConfigErrorKind};

/// Finds the span of the value at `path` (e.g. `["telemetry", "sample_rate"]`) in a parsed document.
pub(crate) fn value_span(root: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let value = lookup(root, first)?;
    if rest.is_empty() {
        return Some(value.span());
    }
    match value.get_ref() {
        DeValue::Table(t) => value_span(t, rest),
        _ => None,
    }
}

/// The value of `key` in `table`, with its span.
pub(crate) fn lookup<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    table.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

/// Turns offsets into the errors' file, line and column.
pub(super) struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> Locator<'a> {
    /// Errors about `text`, the contents of the file at `path`.
    pub(super) fn new(path: &'a Path, text: &'a str) -> Self {
        Locator { path, text }
    }

    /// An error at byte `offset`, about `key`.
    pub(super) fn at(
        &self,
        offset: Option<usize>,
        key: Option<String>,
        kind: ConfigErrorKind,
    ) -> ConfigError {
        ConfigError {
            path: PathBuf::from(self.path),
            position: offset.map(|o| Position::of_offset(self.text, o)),
            key,
            kind,
        }
    }

    /// A TOML error, with the `telemetry.*` key (at any depth) whose key or value contains the error's span when
    /// the `[telemetry]` table `section` is given.
    pub(super) fn toml(&self, e: &toml::de::Error, section: Option<&Spanned<DeValue<'_>>>) -> ConfigError {
        let span = e.span();
        let key = span
            .clone()
            .zip(section)
            .and_then(|(s, section)| key_at(section, "telemetry", s.start));
        let message = e.message().trim_end().to_owned();
        let kind = if key.is_some() {
            ConfigErrorKind::InvalidValue { message }
        } else {
            ConfigErrorKind::Syntax { message }
        };
        self.at(span.map(|s| s.start), key, kind)
    }
}

/// The dotted key under `table` (named `prefix`), deepest first, whose key or value contains `offset`.
fn key_at(table: &Spanned<DeValue<'_>>, prefix: &str, offset: usize) -> Option<String> {
    let DeValue::Table(entries) = table.get_ref() else {
        return None;
    };
    entries.iter().find_map(|(k, v)| {
        let dotted = format!("{prefix}.{}", k.get_ref());
        key_at(v, &dotted, offset)
            .or_else(|| (v.span().contains(&offset) || k.span().contains(&offset)).then_some(dotted))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_chars() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(Position::of_offset(text, 0), Position { line: 1, column: 1 });
        let b = text.find('b').unwrap();
        assert_eq!(Position::of_offset(text, b), Position { line: 2, column: 1 });
        let eq = text.rfind('=').unwrap();
        assert_eq!(Position::of_offset(text, eq), Position { line: 2, column: 4 });
        assert_eq!(Position::of_offset(text, 10_000).line, 3);
    }
}

//! Key paths to where their values stand in the file; [`Position`] turns byte offsets into line and column.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(crate) use crate::error::Position;

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

pub(crate) fn lookup<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    table.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
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

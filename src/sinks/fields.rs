//! The fields of spans and events: their values ([`FieldValue`], [`Fields`]), the visitors that collect them
//! ([`Collect`] at creation, [`Update`] after), and their JSON.

use tracing_core::field::{Field, Visit};

/// A recorded field value. Debug-formatted values arrive as strings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    /// Up to 24 bytes inline: a short value allocates nothing on the traced thread and leaves nothing for the
    /// writer thread to free (cross-thread frees contend on the allocator's arena lock).
    Str(compact_str::CompactString),
}

/// Fields in the order they were recorded; up to four live inline, so a typical span allocates no vector that
/// its writer thread would have to free (cross-thread frees contend on the allocator's arena lock).
pub(crate) type Fields = smallvec::SmallVec<[(&'static str, FieldValue); 4]>;

/// Appends every visited field (to [`Fields`], or to another inline size of the same vector): what a span's or
/// an event's fields are at its creation, each field once.
pub(crate) struct Collect<'a, A = [(&'static str, FieldValue); 4]>(pub(crate) &'a mut smallvec::SmallVec<A>)
where
    A: smallvec::Array<Item = (&'static str, FieldValue)>;

impl<A: smallvec::Array<Item = (&'static str, FieldValue)>> Collect<'_, A> {
    #[inline]
    fn put(&mut self, field: &Field, value: FieldValue) {
        self.0.push((field.name(), value));
    }
}

/// Sets every visited field: a field recorded again (`Span::record`) replaces its value, as an OpenTelemetry
/// attribute set again does. A span that records one field in a loop holds one value, not a growing list, and
/// every sink gets each key once. For what a span records after its creation; [`Collect`] is for its creation,
/// where each field comes once and no search is needed.
pub(crate) struct Update<'a, A = [(&'static str, FieldValue); 4]>(pub(crate) &'a mut smallvec::SmallVec<A>)
where
    A: smallvec::Array<Item = (&'static str, FieldValue)>;

impl<A: smallvec::Array<Item = (&'static str, FieldValue)>> Update<'_, A> {
    fn put(&mut self, field: &Field, value: FieldValue) {
        let name = field.name();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((name, value)),
        }
    }
}

/// The `record_*` methods of a visitor that stores each value by its own `put`.
macro_rules! visit_by_put {
    ($visitor:ident) => {
        impl<A: smallvec::Array<Item = (&'static str, FieldValue)>> Visit for $visitor<'_, A> {
            fn record_f64(&mut self, field: &Field, value: f64) {
                self.put(field, FieldValue::F64(value));
            }

            fn record_i64(&mut self, field: &Field, value: i64) {
                self.put(field, FieldValue::I64(value));
            }

            fn record_u64(&mut self, field: &Field, value: u64) {
                self.put(field, FieldValue::U64(value));
            }

            fn record_bool(&mut self, field: &Field, value: bool) {
                self.put(field, FieldValue::Bool(value));
            }

            fn record_str(&mut self, field: &Field, value: &str) {
                self.put(field, FieldValue::Str(value.into()));
            }

            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.put(
                    field,
                    FieldValue::Str(compact_str::format_compact!("{value:?}")),
                );
            }
        }
    };
}

visit_by_put!(Collect);
visit_by_put!(Update);

/// The field that names a span for the sinks in place of its callsite's name (tracing-opentelemetry's
/// convention): livetel's own server and consumer spans set it (`GET /users/{id}`), and any span may.
pub(crate) const OTEL_NAME: &str = "otel.name";

/// The span's `otel.name`, the last recorded: `None` without one.
pub(crate) fn otel_name(fields: &Fields) -> Option<&str> {
    fields.iter().rev().find_map(|(k, v)| match v {
        FieldValue::Str(s) if *k == OTEL_NAME => Some(s.as_str()),
        _ => None,
    })
}

/// True for a field that marks its span in error: `error` (anything but `false`), or `otel.status_code` = ERROR.
/// The one definition the tail sampler and every signal that counts errors share.
pub(crate) fn marks_error((name, value): &(&'static str, FieldValue)) -> bool {
    match (*name, value) {
        ("error", FieldValue::Bool(b)) => *b,
        ("error", _) => true,
        ("otel.status_code", FieldValue::Str(s)) => s.eq_ignore_ascii_case("error"),
        _ => false,
    }
}

/// Writes fields as the inside of a JSON object (`"a":1,"b":"x"`).
pub(crate) fn write_json(out: &mut String, fields: &[(&'static str, FieldValue)]) {
    use std::fmt::Write as _;
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, name);
        out.push(':');
        match value {
            FieldValue::I64(v) => out.push_str(itoa::Buffer::new().format(*v)),
            FieldValue::U64(v) => out.push_str(itoa::Buffer::new().format(*v)),
            FieldValue::F64(v) if v.is_finite() => {
                let _ = write!(out, "{v}");
            }
            FieldValue::F64(v) => push_str(out, &v.to_string()),
            FieldValue::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
            FieldValue::Str(s) => push_str(out, s),
        }
    }
}

/// A JSON string. Most names and values need no escaping and are copied as they are; the rest go through
/// serde_json.
fn push_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_json_object_body() {
        let mut s = String::new();
        let fields = vec![
            ("a", FieldValue::Str("x\"y\n".into())),
            ("n", FieldValue::U64(3)),
            ("f", FieldValue::F64(f64::NAN)),
        ];
        write_json(&mut s, &fields);
        assert_eq!(s, r#""a":"x\"y\n","n":3,"f":"NaN""#);
    }

    #[test]
    fn strings_match_serde_json_with_or_without_the_fast_path() {
        for v in [
            "",
            "plain",
            "ünïcödé ✓",
            "tab\there",
            "quote\"",
            "back\\slash",
            "\u{1}",
            "del\u{7f}",
        ] {
            let mut s = String::new();
            push_str(&mut s, v);
            assert_eq!(s, serde_json::to_string(v).unwrap_or_default(), "{v:?}");
        }
    }

    #[test]
    fn numbers_and_bools() {
        let mut s = String::new();
        let fields = vec![
            ("i", FieldValue::I64(-42)),
            ("u", FieldValue::U64(u64::MAX)),
            ("b", FieldValue::Bool(true)),
            ("f", FieldValue::F64(1.5)),
        ];
        write_json(&mut s, &fields);
        assert_eq!(s, r#""i":-42,"u":18446744073709551615,"b":true,"f":1.5"#);
    }
}

//! Span and event fields into the inside of a JSON object, escaped by `serde_json`.

use std::fmt::Write as _;

use tracing_core::field::{Field, Visit};

/// Appends `"name":value` pairs to a string.
pub(crate) struct JsonFields<'a>(pub(crate) &'a mut String);

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        push_str(self.0, field.name());
        self.0.push(':');
    }
}

fn push_str(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.0, "{value}");
        } else {
            push_str(self.0, &value.to_string());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_str(self.0, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.key(field);
        push_str(self.0, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaped_json_object_body() {
        let mut s = String::new();
        super::push_str(&mut s, "a\"b\n");
        assert_eq!(s, r#""a\"b\n""#);
    }
}

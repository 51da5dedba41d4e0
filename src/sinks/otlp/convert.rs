//! Records to OpenTelemetry `SpanData` and `SdkLogRecord`s, and settings to a `Resource`.

use std::borrow::Cow;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::OtlpSettings;
use crate::clock;
use crate::sinks::fields::{FieldValue, Fields};
use crate::sinks::record::{LogRecord, Record};

pub(super) fn resource(s: &OtlpSettings) -> Resource {
    let mut attrs: Vec<KeyValue> = s
        .resource
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    if let Some(v) = &s.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    Resource::builder()
        .with_attributes(attrs)
        .with_service_name(s.service_name.clone())
        .build()
}

pub(super) fn span_data(r: &Record, scope: &InstrumentationScope) -> SpanData {
    let context = SpanContext::new(
        TraceId::from(r.ids.trace_id),
        SpanId::from(r.ids.span_id),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let end_ns = r.start_ns + r.dur_ns.unwrap_or(0);
    #[allow(unused_mut, reason = "profiling's costs are added only with the feature")]
    let (kind, status, mut attributes) = attributes(&r.fields, r.meta.target());
    #[cfg(feature = "profiling")]
    attributes.extend(
        r.costs
            .fields()
            .iter()
            .map(|(k, v)| KeyValue::new(*k, value::<Value>(v))),
    );
    let name = match crate::sinks::fields::otel_name(&r.fields) {
        Some(name) => Cow::Owned(name.to_owned()),
        None => Cow::Borrowed(r.meta.name()),
    };
    let events = r
        .events
        .iter()
        .map(|e| {
            let name = e
                .fields
                .iter()
                .find(|(k, _)| *k == "message")
                .map_or(Cow::Borrowed(e.meta.name()), |(_, v)| Cow::Owned(text(v)));
            let attrs = e
                .fields
                .iter()
                .filter(|(k, _)| *k != "message")
                .map(|(k, v)| KeyValue::new(*k, value::<Value>(v)))
                .collect();
            Event::new(name, clock::wall(e.ts_ns), attrs, 0)
        })
        .collect();
    let mut span_events = SpanEvents::default();
    span_events.events = events;
    span_events.dropped_count = r.events.dropped();
    SpanData {
        span_context: context,
        parent_span_id: if r.ids.parent_span_id == 0 {
            SpanId::INVALID
        } else {
            SpanId::from(r.ids.parent_span_id)
        },
        parent_span_is_remote: r.ids.parent_remote,
        span_kind: kind,
        name,
        start_time: clock::wall(r.start_ns),
        end_time: clock::wall(end_ns),
        attributes,
        dropped_attributes_count: 0,
        events: span_events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

/// A log record as opentelemetry-appender-tracing makes one: severity from the level, the `message` field as
/// body, the target (the exported scope's name, and `code.namespace` as for spans), the other fields as
/// attributes, and the trace context of the span it happened in. `logger` only creates the empty record.
pub(super) fn log_record(r: &LogRecord, logger: &SdkLogger) -> SdkLogRecord {
    let mut out = logger.create_log_record();
    let level = *r.meta.level();
    out.set_severity_number(severity(level));
    out.set_severity_text(level.as_str());
    out.set_target(r.meta.target());
    out.set_event_name(r.meta.name());
    let at = clock::wall(r.ts_ns);
    out.set_timestamp(at);
    // Required: the OTLP transform reads it unconditionally (the SDK's logger sets it on `emit`).
    out.set_observed_timestamp(at);
    out.add_attribute("code.namespace", r.meta.target());
    for (k, v) in &r.fields {
        match *k {
            "message" => out.set_body(value::<AnyValue>(v)),
            _ => out.add_attribute(*k, value::<AnyValue>(v)),
        }
    }
    if let Some((ids, sampled)) = r.span {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        out.set_trace_context(
            TraceId::from(ids.trace_id),
            SpanId::from(ids.span_id),
            Some(flags),
        );
    }
    out
}

/// The OpenTelemetry severity of a tracing level (the first of each range, as the appender does).
fn severity(level: tracing_core::Level) -> Severity {
    match level {
        tracing_core::Level::TRACE => Severity::Trace,
        tracing_core::Level::DEBUG => Severity::Debug,
        tracing_core::Level::INFO => Severity::Info,
        tracing_core::Level::WARN => Severity::Warn,
        tracing_core::Level::ERROR => Severity::Error,
    }
}

/// Fields to attributes; `otel.kind` and `otel.status_code` set the span's kind and status, and `otel.name` its
/// name ([`span_data`]), as in tracing-opentelemetry.
fn attributes(fields: &Fields, target: &'static str) -> (SpanKind, Status, Vec<KeyValue>) {
    let mut kind = SpanKind::Internal;
    let mut status = Status::Unset;
    let mut attrs = Vec::with_capacity(fields.len() + 1);
    attrs.push(KeyValue::new("code.namespace", target));
    for (k, v) in fields {
        match *k {
            "otel.kind" => kind = span_kind(&text(v)),
            "otel.status_code" if text(v).eq_ignore_ascii_case("error") => status = Status::error(""),
            "otel.status_code" if text(v).eq_ignore_ascii_case("ok") => status = Status::Ok,
            crate::sinks::fields::OTEL_NAME => {}
            _ => attrs.push(KeyValue::new(*k, value::<Value>(v))),
        }
    }
    (kind, status, attrs)
}

fn span_kind(s: &str) -> SpanKind {
    match s.trim_matches('"').to_ascii_lowercase().as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

/// A field's value as an attribute value: `Value` for spans, `AnyValue` for log records. A `u64` beyond `i64`
/// becomes its decimal text.
fn value<T: From<i64> + From<f64> + From<bool> + From<String>>(v: &FieldValue) -> T {
    match v {
        FieldValue::I64(i) => T::from(*i),
        FieldValue::U64(u) => i64::try_from(*u).map_or_else(|_| T::from(u.to_string()), T::from),
        FieldValue::F64(f) => T::from(*f),
        FieldValue::Bool(b) => T::from(*b),
        FieldValue::Str(s) => T::from(String::from(s.as_str())),
    }
}

fn text(v: &FieldValue) -> String {
    match v {
        FieldValue::Str(s) => s.to_string(),
        FieldValue::I64(i) => i.to_string(),
        FieldValue::U64(u) => u.to_string(),
        FieldValue::F64(f) => f.to_string(),
        FieldValue::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::logs::LoggerProvider as _;
    use opentelemetry_sdk::logs::SdkLoggerProvider;

    use super::*;
    use crate::sinks::record::{SpanIds, TEST_EVENT};

    fn convert(span: Option<(SpanIds, bool)>) -> SdkLogRecord {
        let fields: Fields = smallvec::smallvec![
            ("message", FieldValue::Str("tool failed".into())),
            ("n", FieldValue::U64(7)),
            ("big", FieldValue::U64(u64::MAX)),
        ];
        let logger = SdkLoggerProvider::builder().build().logger("test");
        log_record(&LogRecord::now(&TEST_EVENT, fields, span), &logger)
    }

    #[test]
    fn a_log_record_has_severity_body_target_fields_and_timestamps() {
        let r = convert(None);
        assert_eq!(r.severity_number(), Some(Severity::Warn));
        assert_eq!(r.severity_text(), Some("WARN"));
        assert_eq!(r.body(), Some(&AnyValue::from("tool failed")));
        assert_eq!(r.target().map(|t| t.as_ref()), Some("agent::tool"));
        assert!(r.timestamp().is_some() && r.observed_timestamp().is_some());
        let attrs: Vec<(String, AnyValue)> = r
            .attributes_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(
            attrs,
            [
                ("code.namespace".to_owned(), AnyValue::from("agent::tool")),
                ("n".to_owned(), AnyValue::Int(7)),
                ("big".to_owned(), AnyValue::from(u64::MAX.to_string())),
            ]
        );
        assert!(r.trace_context().is_none(), "outside any span");
    }

    /// Profiling's costs follow the span's fields as attributes.
    #[cfg(feature = "profiling")]
    #[test]
    fn costs_are_attributes() {
        let mut r = Record::instant(&TEST_EVENT, smallvec::smallvec![("n", FieldValue::U64(1))]);
        r.dur_ns = Some(1_000);
        r.costs = crate::sinks::record::Costs {
            profile_id: Some(0xab),
            cpu_micros: Some(12),
            alloc: Some([3, 300, 2, 100]),
        };
        let data = span_data(&r, &InstrumentationScope::builder("livetel").build());
        let attrs: Vec<(String, String)> = data
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        let want = [
            ("pyroscope.profile.id", "00000000000000ab"),
            ("resource.cpu.micros", "12"),
            ("alloc.count", "3"),
            ("alloc.bytes", "300"),
            ("dealloc.count", "2"),
            ("dealloc.bytes", "100"),
            ("alloc.net_bytes", "200"),
        ];
        for (k, v) in want {
            assert!(
                attrs.contains(&(k.to_owned(), v.to_owned())),
                "{k}={v} in {attrs:?}"
            );
        }
    }

    /// `otel.name` names the span and is no attribute; `otel.kind` and `otel.status_code` set kind and status.
    #[test]
    fn otel_fields_name_the_span_and_set_kind_and_status() {
        let fields: Fields = smallvec::smallvec![
            ("otel.name", FieldValue::Str("GET /users/{id}".into())),
            ("otel.kind", FieldValue::Str("server".into())),
            ("http.response.status_code", FieldValue::U64(500)),
            ("otel.status_code", FieldValue::Str("ERROR".into())),
        ];
        let mut r = Record::instant(&TEST_EVENT, fields);
        r.dur_ns = Some(1_000);
        let scope = InstrumentationScope::builder("livetel").build();
        let data = span_data(&r, &scope);
        assert_eq!(data.name, "GET /users/{id}");
        assert_eq!(data.span_kind, SpanKind::Server);
        assert!(matches!(data.status, Status::Error { .. }));
        let keys: Vec<&str> = data.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["code.namespace", "http.response.status_code"]);
        r.fields.clear();
        assert_eq!(
            span_data(&r, &scope).name,
            r.meta.name(),
            "the callsite's name without one"
        );
    }

    #[test]
    fn a_log_record_in_a_span_carries_its_ids_and_sampling() {
        let ids = SpanIds {
            trace_id: 0xabc,
            span_id: 0xdef,
            ..SpanIds::default()
        };
        for (sampled, flags) in [(true, TraceFlags::SAMPLED), (false, TraceFlags::default())] {
            let r = convert(Some((ids, sampled)));
            let cx = r.trace_context().expect("trace context");
            assert_eq!(
                (cx.trace_id, cx.span_id),
                (TraceId::from(0xabc_u128), SpanId::from(0xdef_u64))
            );
            assert_eq!(cx.trace_flags, Some(flags));
        }
    }
}

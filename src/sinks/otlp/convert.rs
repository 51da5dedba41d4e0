//! Records to OpenTelemetry `SpanData`, and settings to a `Resource`.

use std::borrow::Cow;

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::OtlpSettings;
use crate::clock;
use crate::sinks::record::{FieldValue, Fields, Record};

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
    let (kind, status, attributes) = attributes(&r.fields, r.meta.target());
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
                .map(|(k, v)| KeyValue::new(*k, value(v)))
                .collect();
            Event::new(name, clock::wall(e.ts_ns), attrs, 0)
        })
        .collect();
    let mut span_events = SpanEvents::default();
    span_events.events = events;
    SpanData {
        span_context: context,
        parent_span_id: if r.ids.parent_span_id == 0 {
            SpanId::INVALID
        } else {
            SpanId::from(r.ids.parent_span_id)
        },
        parent_span_is_remote: r.ids.parent_remote,
        span_kind: kind,
        name: Cow::Borrowed(r.meta.name()),
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

/// Fields to attributes; `otel.kind` and `otel.status_code` set the span's kind and status, as in
/// tracing-opentelemetry.
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
            _ => attrs.push(KeyValue::new(*k, value(v))),
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

fn value(v: &FieldValue) -> Value {
    match v {
        FieldValue::I64(i) => Value::I64(*i),
        FieldValue::U64(u) => {
            i64::try_from(*u).map_or_else(|_| Value::String(u.to_string().into()), Value::I64)
        }
        FieldValue::F64(f) => Value::F64(*f),
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Str(s) => Value::String(String::from(s.as_str()).into()),
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

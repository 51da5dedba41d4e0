//! The metrics' hook on the hot path: every span that closes is counted in its series.
//!
//! Per span, on a label set seen before, with no `span_labels` configured: a scan of the span's fields for
//! `otel.kind`, a probe of the hook's callsite table (open addressing on the callsite pointer, slots claimed once
//! by a `OnceLock` and never freed: no lock, no hashing of strings), a binary search of the bucket, two relaxed
//! atomic adds, and for a sampled span one `try_lock` of the bucket's exemplar slot. With `span_labels` (or a
//! callsite whose probe sequence is full) the series is found instead in this hook's map from (callsite, kind,
//! status, label values) to series, read through one `ArcSwap` load. A label set not seen before by this hook
//! goes through [`Store::series_for`] (a lock) once, and the map is copied with the new entry (copy on write:
//! label sets are few and bounded).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use compact_str::CompactString;
use smallvec::SmallVec;

use super::store::{Kind, Labels, Series, Store};
use crate::sinks::record::FieldValue;
use crate::traces::hooks::{ClosedSpan, FieldsRead, SpanHook, Verdict};

/// What identifies a series within one hook (whose service name and `span_labels` are fixed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HotKey {
    callsite: usize,
    kind: Kind,
    error: bool,
    extra: SmallVec<[Option<CompactString>; 2]>,
}

/// A snapshot bigger than this is not copied further: label sets beyond it take the store's lock per span
/// (they can only be overflow spans, as `max_series` is at most this).
const MAX_CACHED: usize = 1 << 20;

/// Slots of the callsite table (a power of two), and how many are probed before the map is used instead.
const SLOTS: usize = 512;
const PROBES: usize = 8;

/// One callsite's series, by kind and status: the fast path when no `span_labels` are configured.
struct Callsite {
    callsite: usize,
    series: [OnceLock<Arc<Series>>; 10],
}

/// The running part of the metrics signal: counts spans into the shared [`Store`].
pub(crate) struct MetricsHook {
    /// Callsite pointer → its series (no `span_labels`): open addressing, slots claimed once, never freed.
    callsites: Box<[OnceLock<Callsite>]>,
    store: Arc<Store>,
    service: Arc<str>,
    /// `span_labels`: the field names, and their label names.
    span_labels: Box<[(String, Arc<str>)]>,
    cache: ArcSwap<HashMap<HotKey, Arc<Series>, BuildHasherDefault<Fx>>>,
    /// Label sets kept per metric (`max_series`).
    pub(crate) max_series: usize,
    /// Kept alive while a generation holds this hook: the `/metrics` server, if any.
    pub(crate) server: Option<Arc<super::server::Server>>,
    /// Kept alive while a generation holds this hook: the OTLP exporter, if any.
    pub(crate) exporter: Option<Arc<super::otlp::Exporter>>,
}

impl MetricsHook {
    /// A hook counting into `store`, for spans of service `service`, with the values of `span_labels` fields
    /// as labels.
    pub(crate) fn new(
        store: Arc<Store>,
        service: &str,
        span_labels: &[String],
        max_series: usize,
        server: Option<Arc<super::server::Server>>,
    ) -> MetricsHook {
        MetricsHook {
            callsites: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            store,
            service: service.into(),
            span_labels: span_labels
                .iter()
                .map(|f| (f.clone(), crate::config::metrics::label_name(f).into()))
                .collect(),
            cache: ArcSwap::default(),
            max_series,
            server,
            exporter: None,
        }
    }

    /// The same hook, keeping `exporter` alive while a generation holds it.
    pub(crate) fn exporting(mut self, exporter: Option<Arc<super::otlp::Exporter>>) -> MetricsHook {
        self.exporter = exporter;
        self
    }

    /// The cell of `callsite`'s series of `kind` and status in the callsite table; `None` when its probe
    /// sequence is full (the map serves it then).
    #[inline]
    fn cell(&self, callsite: usize, kind: Kind, error: bool) -> Option<&OnceLock<Arc<Series>>> {
        let start = (callsite as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 55;
        (0..PROBES).find_map(|i| {
            let slot = &self.callsites[(start as usize + i) & (SLOTS - 1)];
            let entry = slot.get_or_init(|| Callsite {
                callsite,
                series: Default::default(),
            });
            (entry.callsite == callsite).then(|| &entry.series[kind as usize * 2 + usize::from(error)])
        })
    }

    fn key(&self, span: &ClosedSpan<'_>, kind: Kind) -> HotKey {
        let extra = self
            .span_labels
            .iter()
            .map(|(field, _)| {
                span.fields
                    .iter()
                    .find(|(n, _)| n == field)
                    .map(|(_, v)| text_of(v))
            })
            .collect();
        HotKey {
            callsite: std::ptr::from_ref(span.meta) as usize,
            kind,
            error: span.error,
            extra,
        }
    }

    /// The series of `key` for a span named `name`, through the store; remembered in the snapshot.
    #[cold]
    fn miss(&self, key: HotKey, name: &'static str) -> Arc<Series> {
        let extra = self
            .span_labels
            .iter()
            .zip(&key.extra)
            .filter_map(|((_, label), v)| v.clone().map(|v| (Arc::clone(label), v)))
            .collect();
        let labels = Labels {
            span_name: name,
            kind: key.kind,
            error: key.error,
            service: Arc::clone(&self.service),
            extra,
        };
        let series = self.store.series_for(labels, self.max_series);
        if self.cache.load().len() < MAX_CACHED {
            self.cache.rcu(|map| {
                let mut map = HashMap::clone(map);
                map.insert(key.clone(), Arc::clone(&series));
                map
            });
        }
        series
    }
}

impl SpanHook for MetricsHook {
    fn on_close(&self, span: &ClosedSpan<'_>) -> Verdict {
        self.count(span);
        Verdict::Pass
    }

    /// `otel.kind`, the `span_labels` fields, and the error.
    fn fields_read(&self) -> FieldsRead {
        let labels = self.span_labels.iter().map(|(field, _)| field.clone());
        FieldsRead::Named(std::iter::once("otel.kind".to_owned()).chain(labels).collect())
    }
}

impl MetricsHook {
    /// Counts `span` in its series.
    #[inline]
    fn count(&self, span: &ClosedSpan<'_>) {
        let kind = kind_of(span);
        let bucket = self.store.bucket_of(span.duration_ns);
        let exemplar = span.sampled.then_some((span.ids.trace_id, span.ids.span_id));
        let callsite = std::ptr::from_ref(span.meta) as usize;
        if self.span_labels.is_empty()
            && let Some(cell) = self.cell(callsite, kind, span.error)
        {
            let series = match cell.get() {
                Some(series) => series,
                None => {
                    let key = self.key(span, kind);
                    let _ = cell.set(self.miss(key, span.meta.name()));
                    match cell.get() {
                        Some(series) => series,
                        None => return,
                    }
                }
            };
            series.record(bucket, span.duration_ns, exemplar);
            return;
        }
        let key = self.key(span, kind);
        let cache = self.cache.load();
        match cache.get(&key) {
            Some(series) => series.record(bucket, span.duration_ns, exemplar),
            None => {
                drop(cache);
                self.miss(key, span.meta.name())
                    .record(bucket, span.duration_ns, exemplar);
            }
        }
    }
}

/// The span's `otel.kind`; `internal` when it has none.
#[inline]
fn kind_of(span: &ClosedSpan<'_>) -> Kind {
    let mut kind = Kind::Internal;
    for (name, value) in span.fields.iter() {
        if *name == "otel.kind"
            && let FieldValue::Str(s) = value
        {
            kind = Kind::of(s);
        }
    }
    kind
}

/// A field's value as label text.
fn text_of(value: &FieldValue) -> CompactString {
    match value {
        FieldValue::Str(s) => s.clone(),
        FieldValue::I64(v) => CompactString::from(itoa::Buffer::new().format(*v)),
        FieldValue::U64(v) => CompactString::from(itoa::Buffer::new().format(*v)),
        FieldValue::F64(v) => compact_str::format_compact!("{v}"),
        FieldValue::Bool(v) => CompactString::const_new(if *v { "true" } else { "false" }),
    }
}

/// The Fx hash (rustc's): a few cycles per word. Keys are callsite pointers and small enums, plus
/// `span_labels` values when configured (whose number of distinct sets a hook remembers is bounded).
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

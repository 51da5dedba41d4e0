//! Span metrics (issue 22, first slice): rate, errors and duration of every span, kept in the process through
//! every reload and served on `/metrics` for Prometheus.
//!
//! # What it measures
//! For each series — span name, `otel.kind` (`internal` when the span has none), status (`error` when the span
//! ended in error as the tail sampler defines it, else `ok`), `service.name`, and the values of the
//! `[telemetry.metrics] span_labels` fields present on the span — a duration histogram in seconds
//! (`livetel_span_duration_seconds`), a call counter (`livetel_span_calls_total`) and, for `status="error"`
//! series, an error counter (`livetel_span_errors_total`, without the `status` label). Each histogram bucket
//! keeps an exemplar: the trace and span id (`trace_id`, `span_id`, hex) and duration of a recent **sampled**
//! span that fell in it, written only in OpenMetrics (text 0.0.4 cannot carry exemplars). livetel's own
//! counters are served beside them, read at scrape time: `livetel_spans_{started,exported,dropped,sampled_out,
//! dropped_by_bound}_total`, `livetel_log_records_{made,exported,dropped}_total`, `livetel_traces_*_total`
//! (tail decisions) and the gauge `livetel_tail_held_bytes`. On `/metrics` dotted names are not valid label
//! names: they become `span_name`, `otel_kind`, `service_name`, `otel_metric_overflow`, and a span label's dots
//! become `_`. With profiling on, its figures are served too ([`profiled`]): the process's gauges and the cost
//! summed per `agent.name` / `session.id`.
//!
//! **Never reset by a reload.** The [`Store`](store::Store) belongs to the signal, which lives as long as the
//! `Telemetry`; every hook a reload builds counts into it. A backend flip, a change of the metrics table, and
//! `enabled = false → true` all keep accumulating. The one key that cannot change a running store is `buckets`
//! (a new layout under the same name would break every `rate()` over the histogram): it is read when the
//! process starts, and a later change is listed in status `restart_required`, not applied.
//!
//! **Cardinality.** At most `max_series` label sets; spans of any further one count in one series labelled
//! `otel_metric_overflow="true"`, and status warns once per metric family and lists them in
//! `metrics.overflowed`.
//!
//! # Why fastmetrics writes `/metrics`
//! The store is our own (atomics, which OTLP export will read next), so the exposition crate must write
//! exemplars from values it does not own. prometheus-client 0.26 cannot: its `Exemplar` has no public
//! constructor, so exemplars come only from its own `HistogramWithExemplars` (a lock per observation, and no
//! getters for OTLP). fastmetrics 0.7 writes Prometheus text 0.0.4 and OpenMetrics 1.0 from any type implementing
//! its encoder traits, exemplars included (`EncodeExemplar`): read in its sources, and checked end to end in
//! `tests/metrics_endpoint.rs` — `promtool check metrics` (lint clean) on the text, and a real Prometheus 2.42
//! scraping the OpenMetrics and storing its exemplars (promtool reads text 0.0.4 only). It is a young
//! single-maintainer crate; what it sees of ours is [`expose`] alone, so swapping it is one file.
//!
//! # Hot path
//! `MetricsHook::on_close` ([`hook`]) runs on the thread that closes the span: a scan of the span's fields for
//! `otel.kind`, a probe of the hook's callsite table (slots claimed once on the callsite pointer, no lock, no
//! string hashing), a binary search of the bucket, two relaxed atomic adds (bucket count, sum in integer
//! nanoseconds), and for a sampled span a `try_lock` of the bucket's exemplar slot (skipped when contended).
//! With `span_labels`, the series is found in a map read through one `ArcSwap` load, keyed with the label
//! values (inline up to 24 bytes: no allocation). A new label set takes the store's lock once per hook.
//! Counters are not sharded per thread: threads closing spans of one series share its cache lines.
//!
//! Measured (release, this 2-core machine, one thread): the hook alone costs 17 ns per unsampled span and
//! 26 ns per sampled one (exemplar included). On `cargo bench --bench hot_path -- livetel_local` (a tree of
//! three spans), metrics on cost 1.13–1.19× off: the hook, plus the seam keeping the fields of unsampled spans
//! while a hook is on.
//!
//! # `/metrics`
//! [`server`]: hyper 1 on a thread of its own (never the application's runtime), marked untraced, bounded
//! (64 connections, 2 s for headers, 5 s per connection, one request per connection, `GET` only, no body).
//! `Accept: application/openmetrics-text` gets OpenMetrics 1.0; anything else text 0.0.4. The listener is bound
//! in `prepare`, so an address in use rejects the reload at `metrics.listen` and the last good config keeps
//! running; an unchanged `listen` reuses the running server; a server no longer configured stops when the last
//! generation that holds it retires (after its drain).
//!
//! # Limits
//! - No OTLP metrics yet: `export_interval_ms` and `temporality` are parsed and validated for the next slice.
//! - At `enabled = false` no span is counted. At `backend = "none"` every span the filter admits is counted
//!   ([`crate::traces::hook_span`]), unsampled, so its buckets carry no exemplar.
//! - `calls_total` and `_count` are the same figure (the sum of the buckets); an error counter appears once its
//!   label set has had an error.

pub(crate) mod expose;
pub(crate) mod format;
pub(crate) mod hook;
pub(crate) mod own;
#[cfg(feature = "profiling")]
pub(crate) mod profiled;
pub(crate) mod server;
pub(crate) mod signal;
pub(crate) mod store;
#[cfg(test)]
mod tests;

pub(crate) use signal::MetricsSignal;

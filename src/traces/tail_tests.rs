//! Tail decisions through the real recorder, into a sink held in memory.

use std::sync::Arc;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

use super::TailPolicy;
use crate::counters::Counters;
use crate::sinks::memory::MemorySink;
use crate::sinks::{Sink, SinkSet};
use crate::traces::generation::{Directives, Generation, Traces};
use crate::traces::hooks::Hooks;
use crate::traces::live::Live;
use crate::traces::sampler::Sampler;
use crate::traces::{Placement, Recorder};

/// Runs `app` under a generation whose head keeps nothing and whose tail keeps errors and traces slower than
/// 1 ms, with bounds `tweak` may change; returns the sink and the counters.
fn run(tweak: impl FnOnce(&mut TailPolicy), app: impl FnOnce()) -> (Arc<MemorySink>, Arc<Counters>) {
    let mut policy = TailPolicy {
        errors: true,
        slow_ns: Some(1_000_000),
        max_spans: 64,
        max_traces: 16,
        max_age_ns: 60_000_000_000,
        max_bytes: 1 << 20,
    };
    tweak(&mut policy);
    let counters = Arc::new(Counters::default());
    let sink = Arc::new(MemorySink::default());
    let traces = Traces {
        filter: Some(Directives::new("trace", EnvFilter::new("trace"))),
        sampler: Sampler::new(0.0),
        tail: Some(policy),
        sinks: SinkSet::new([Arc::clone(&sink) as Arc<dyn Sink>]),
        ..Traces::off()
    };
    let generation = Arc::new(Generation::assemble(
        1,
        traces,
        None,
        None,
        Hooks::new(),
        Arc::clone(&counters),
    ));
    let nothing: Arc<dyn Fn() + Send + Sync> = Arc::new(|| {});
    let live = Arc::new(Live::new(generation, Arc::clone(&nothing), nothing));
    let recorder = Recorder::new(live, Placement::Alone);
    tracing::dispatcher::with_default(&tracing::Dispatch::new(Registry::default().with(recorder)), app);
    (sink, counters)
}

fn balanced(c: &Counters) {
    let s = c.snapshot();
    assert_eq!(s.in_flight(), 0, "{s:?}");
    assert_eq!(c.traces.buffered.get(), 0);
    assert_eq!(c.traces.buffered_bytes.get(), 0);
}

/// No latency threshold here: a stalled thread must not make "plain" slow (the next test has the slow root).
#[test]
fn error_fields_error_events_and_error_status_keep_whole_traces_and_the_rest_is_dropped() {
    let (sink, c) = run(
        |p| p.slow_ns = None,
        || {
            tracing::info_span!("plain").in_scope(|| tracing::info_span!("plain.child").in_scope(|| {}));
            tracing::info_span!("failed").in_scope(|| {
                tracing::info_span!("failed.child", error = "boom").in_scope(|| {});
            });
            tracing::info_span!("status").in_scope(|| {
                let s = tracing::info_span!("status.child", otel.status_code = tracing::field::Empty);
                s.record("otel.status_code", "ERROR");
            });
            tracing::info_span!("logged").in_scope(|| {
                tracing::info_span!("logged.child").in_scope(|| tracing::error!("went wrong"));
            });
        },
    );
    assert_eq!(
        sink.span_names(),
        [
            "failed.child",
            "failed",
            "status.child",
            "status",
            "logged.child",
            "logged"
        ]
    );
    let t = c.traces.snapshot();
    assert_eq!(
        (
            t.kept_by_error,
            t.kept_by_latency,
            t.dropped_by_sampling,
            t.kept_by_head
        ),
        (3, 0, 1, 0)
    );
    let s = c.snapshot();
    assert_eq!((s.started, s.exported, s.sampled_out), (8, 6, 2));
    assert!(t.peak_buffered_bytes > 0);
    balanced(&c);
}

#[test]
fn a_slow_root_keeps_its_whole_trace() {
    let (sink, c) = run(
        |_| {},
        || {
            tracing::info_span!("slow").in_scope(|| {
                tracing::info_span!("slow.child").in_scope(|| {});
                // At least 1 ms: the threshold is a lower bound that a sleep always reaches.
                std::thread::sleep(std::time::Duration::from_millis(3));
            });
        },
    );
    assert_eq!(sink.span_names(), ["slow.child", "slow"]);
    let t = c.traces.snapshot();
    assert_eq!(
        (t.kept_by_latency, t.kept_by_error, t.dropped_by_sampling),
        (1, 0, 0)
    );
    balanced(&c);
}

#[test]
fn a_trace_over_the_span_bound_is_dropped_whole_and_counted() {
    let (sink, c) = run(
        |p| p.max_spans = 3,
        || {
            tracing::info_span!("big", error = true).in_scope(|| {
                for _ in 0..5 {
                    tracing::info_span!("big.child").in_scope(|| {});
                }
            });
            tracing::info_span!("small", error = true)
                .in_scope(|| tracing::info_span!("small.child").in_scope(|| {}));
        },
    );
    assert_eq!(sink.span_names(), ["small.child", "small"]);
    let s = c.snapshot();
    assert_eq!((s.started, s.exported, s.dropped_by_bound), (8, 2, 6));
    assert_eq!(c.traces.snapshot().dropped_by_bound, 1);
    balanced(&c);
}

#[test]
fn a_trace_that_would_go_over_the_byte_bound_is_dropped_whole_and_counted() {
    // Room for about two held spans: the third span of the first trace goes over.
    let (sink, c) = run(
        |p| p.max_bytes = 800,
        || {
            tracing::info_span!("big", error = true).in_scope(|| {
                for _ in 0..3 {
                    tracing::info_span!("big.child").in_scope(|| {});
                }
            });
            tracing::info_span!("small", error = true).in_scope(|| {});
        },
    );
    assert_eq!(sink.span_names(), ["small"]);
    let s = c.snapshot();
    assert_eq!((s.started, s.exported, s.dropped_by_bound), (5, 1, 4));
    assert_eq!(c.traces.snapshot().dropped_by_bound, 1);
    balanced(&c);
}

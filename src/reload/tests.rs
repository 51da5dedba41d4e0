//! The hot path with a sink defined here, plugged in through the same [`Sink`] trait as `local` and `otlp`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

use super::retire::Retirer;
use crate::counters::Counters;
use crate::sinks::memory::MemorySink;
use crate::sinks::{Sink, SinkSet, Takes};
use crate::traces::generation::{Directives, Generation, Traces};
use crate::traces::hooks::Hooks;
use crate::traces::live::Live;
use crate::traces::sampler::Sampler;
use crate::traces::{Placement, Recorder};

fn generation(id: u64, sinks: &[Arc<MemorySink>], counters: &Arc<Counters>) -> Arc<Generation> {
    sampled_generation(id, sinks, counters, 1.0)
}

fn sampled_generation(
    id: u64,
    sinks: &[Arc<MemorySink>],
    counters: &Arc<Counters>,
    rate: f64,
) -> Arc<Generation> {
    let sinks = SinkSet::new(sinks.iter().map(|s| Arc::clone(s) as Arc<dyn Sink>));
    // As the reload path builds it: the traces' directives, when a sink takes logs.
    let logs = sinks
        .takes(Takes::LOGS)
        .then(|| Directives::new("trace", EnvFilter::new("trace")));
    let traces = Traces {
        filter: Some(Directives::new("trace", EnvFilter::new("trace"))),
        sampler: Sampler::new(rate),
        sinks,
        ..Traces::off()
    };
    Arc::new(Generation::assemble(
        id,
        traces,
        None,
        logs,
        Hooks::new(),
        Arc::clone(counters),
    ))
}

fn nothing() -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(|| {})
}

#[test]
fn a_sink_defined_in_a_test_records_fans_out_and_retires_through_the_trait() {
    let counters = Arc::new(Counters::default());
    let (a, b) = (Arc::new(MemorySink::default()), Arc::new(MemorySink::default()));
    let live = Arc::new(Live::new(
        generation(1, &[a.clone(), b.clone()], &counters),
        nothing(),
        nothing(),
    ));
    let recorder = Recorder::new(Arc::clone(&live), Placement::Alone);
    let dispatch = tracing::Dispatch::new(Registry::default().with(recorder));
    tracing::dispatcher::with_default(&dispatch, || {
        let outer = tracing::info_span!("outer");
        let _in = outer.enter();
        tracing::info_span!("inner").in_scope(|| tracing::info!("inside"));
    });
    // Both sinks of the set got every span, children first (a span is sent when it closes).
    assert_eq!(a.span_names(), ["inner", "outer"]);
    assert_eq!(b.span_names(), ["inner", "outer"]);
    // A span counts once per sink: 2 spans × 2 sinks.
    let counts = counters.snapshot();
    assert_eq!((counts.started, counts.exported, counts.dropped), (4, 4, 0));

    // Retiring: the reload path closes and flushes each sink of the replaced generation through the trait.
    let mut retirer = Retirer::default();
    retirer.hand_over(
        &live,
        Arc::new(Generation::off(2, Arc::clone(&counters))),
        Duration::ZERO,
    );
    retirer.close_all(&live, Duration::from_secs(1));
    for sink in [&a, &b] {
        assert!(sink.is_closed());
        assert_eq!(sink.flushes.load(Ordering::Relaxed), 1);
    }
}

/// A sink two draining generations share stays open while either still drains: a newer one timing out first
/// (each drains for the timeout of its own config) must not close it under the older one's open spans.
#[test]
fn a_timed_out_generation_leaves_a_sink_an_older_draining_one_still_uses() {
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(MemorySink::default());
    let other = Arc::new(MemorySink::default());
    let g0 = generation(0, std::slice::from_ref(&shared), &counters);
    let live = Live::new(Arc::clone(&g0), nothing(), nothing());
    let g1 = generation(1, std::slice::from_ref(&shared), &counters);
    let mut retirer = Retirer::default();
    // g0 drains for a minute; g1, which reuses its sink, for no time at all.
    retirer.hand_over(&live, Arc::clone(&g1), Duration::from_secs(60));
    retirer.hand_over(&live, generation(2, &[other], &counters), Duration::ZERO);
    // Open spans hold both (an extra reference each).
    let _open = (g0, g1);
    retirer.tick(&live, std::time::Instant::now() + Duration::from_millis(1));
    assert!(
        !shared.is_closed(),
        "closed under the older generation's open spans"
    );
}

/// Runs `events` under a generation sampling `rate` of traces with a sink that takes logs and one that does not;
/// returns them.
fn log_and_instant_sinks(
    rate: f64,
    events: impl FnOnce(),
) -> (Arc<MemorySink>, Arc<MemorySink>, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let logs = Arc::new(MemorySink::logging());
    let instants = Arc::new(MemorySink::default());
    let live = Arc::new(Live::new(
        sampled_generation(1, &[logs.clone(), instants.clone()], &counters, rate),
        nothing(),
        nothing(),
    ));
    let recorder = Recorder::new(live, Placement::Alone);
    let dispatch = tracing::Dispatch::new(Registry::default().with(recorder));
    tracing::dispatcher::with_default(&dispatch, events);
    (logs, instants, counters)
}

fn nested_events() {
    tracing::info!("outside");
    tracing::info_span!("outer").in_scope(|| {
        tracing::info!("in outer");
        tracing::info_span!("inner").in_scope(|| tracing::info!("in inner"));
    });
}

#[test]
fn events_reach_a_sink_that_takes_logs_once_with_the_ids_of_their_span() {
    let (logs, instants, counters) = log_and_instant_sinks(1.0, nested_events);
    let got = logs.logs.lock().map(|l| l.clone()).unwrap_or_default();
    let spans: Vec<_> = got.iter().map(|r| r.span).collect();
    let [None, Some((outer, true)), Some((inner, true))] = spans[..] else {
        panic!("{got:?}");
    };
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(
        inner.parent_span_id, outer.span_id,
        "the nearest span, not the root"
    );
    let c = counters.log_snapshot();
    assert_eq!((c.made, c.exported, c.dropped), (3, 3, 0));
    // Not twice: the sink that takes logs gets no instants; the other one gets the three, as before.
    let records = |s: &MemorySink| {
        let records = s.records.lock().map(|r| r.clone()).unwrap_or_default();
        records.iter().filter(|(_, span)| !span).count()
    };
    assert_eq!((records(&logs), records(&instants)), (0, 3));
}

#[test]
fn events_in_unsampled_traces_are_still_logs() {
    let (logs, instants, counters) = log_and_instant_sinks(0.0, nested_events);
    let got = logs.logs.lock().map(|l| l.clone()).unwrap_or_default();
    let sampled: Vec<_> = got.iter().map(|r| r.span.map(|(_, s)| s)).collect();
    assert_eq!(sampled, [None, Some(false), Some(false)]);
    assert_eq!(counters.log_snapshot().exported, 3);
    assert!(
        instants.records.lock().is_ok_and(|r| r.is_empty()),
        "instants follow sampling"
    );
}

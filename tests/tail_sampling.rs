//! Tail sampling end to end: errors and slow traces kept whole at the real OTLP receiver and in the Chrome files,
//! the head fraction of the rest, a live strategy change, and the buffer bounds.
//!
//! "Slow" is a threshold of 2 ms that the slow traces exceed by sleeping 3 ms (a sleep never ends early): no
//! assertion depends on how long anything else took. A trace that is slow by accident (a preempted thread) is
//! kept by latency too; the head fraction is measured by trace id, so such a trace does not disturb it.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use common::receiver::Receiver;
use common::{Fixture, trace_files, wait_settled};
use serde_json::Value;
use tracing::dispatcher::with_default;

const TRACES: u64 = 100_000;
const PROBABILITY: f64 = 0.1;

/// How trace `i` ends: one in a hundred in error (four ways, in turn), one in a hundred slow, the rest fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fine,
    Slow,
    ErrorField,
    StatusCode,
    ErrorEvent,
    ErrReturn,
}

fn kind(i: u64) -> Kind {
    match (i % 100, (i / 100) % 4) {
        (7, 0) => Kind::ErrorField,
        (7, 1) => Kind::StatusCode,
        (7, 2) => Kind::ErrorEvent,
        (7, _) => Kind::ErrReturn,
        (53, _) => Kind::Slow,
        _ => Kind::Fine,
    }
}

#[livetel::instrument(err, skip_all, fields(i = i))]
fn io(i: u64, kind: Kind) -> Result<(), String> {
    tracing::info!(i, "io done");
    match kind {
        Kind::StatusCode => {
            tracing::Span::current().record("otel.status_code", "ERROR");
        }
        Kind::ErrorEvent => tracing::error!(i, "io failed"),
        Kind::ErrReturn => return Err("refused".to_owned()),
        _ => {}
    }
    Ok(())
}

/// Trace `i`: `job` > `step` > `io` (with an event), ending as [`kind`] says.
fn trace(i: u64) {
    let k = kind(i);
    tracing::info_span!("job", i).in_scope(|| {
        let step = tracing::info_span!("step", i, error = tracing::field::Empty);
        step.in_scope(|| {
            let _ = io(i, k);
        });
        if k == Kind::ErrorField {
            step.record("error", "disk full");
        }
        drop(step);
        if k == Kind::Slow {
            std::thread::sleep(Duration::from_millis(3));
        }
    });
}

fn head_keeps(trace_id: &str) -> bool {
    let low = u64::from_str_radix(&trace_id[trace_id.len() - 16..], 16).expect("hex trace id");
    low < (PROBABILITY * 18_446_744_073_709_551_616.0) as u64
}

/// The OTLP spans grouped by trace, keyed by the `i` of their `job` root.
fn otlp_traces(spans: &[Value]) -> BTreeMap<u64, (String, Vec<&Value>)> {
    let mut by_id: HashMap<&str, Vec<&Value>> = HashMap::new();
    for s in spans {
        by_id
            .entry(s["trace_id"].as_str().expect("trace id"))
            .or_default()
            .push(s);
    }
    let mut out = BTreeMap::new();
    for (id, spans) in by_id {
        let root = spans
            .iter()
            .find(|s| s["name"] == "job")
            .expect("every trace has its root");
        let i = root["attributes"]["i"].as_u64().expect("root has i");
        assert!(
            out.insert(i, (id.to_owned(), spans)).is_none(),
            "trace {i} exported twice"
        );
    }
    out
}

#[test]
fn every_error_and_slow_trace_arrives_whole_and_the_head_keeps_its_fraction_of_the_rest() {
    let rx = Receiver::start();
    let f = Fixture::new(&format!(
        "watch = false\nbackend = [\"local\", \"otlp\"]\notlp.endpoint = \"{}\"\n\
         otlp.batch.max_queue_size = 65536\notlp.batch.scheduled_delay_ms = 50\n\
         sampling.strategy = \"probability\"\nsampling.probability = {PROBABILITY}\n\
         sampling.always_sample_errors = true\nsampling.always_sample_slow_seconds = 0.002\n",
        rx.grpc_endpoint()
    ));
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        // Fixed ids: the head's decisions are the same on every run.
        livetel::__private::seed_thread_ids(0x7a11_5eed);
        for i in 0..TRACES {
            // Paced: the test is about what is kept, not about overload.
            // Span copies and log records share the local writer's queue: pace on both.
            if i % 1000 == 0 {
                while t.counters().in_flight() + t.refresh_status().logs.in_flight() > 8_000 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            trace(i);
        }
    });
    let counts = wait_settled(&t);
    let status = t.refresh_status();
    let otlp_exported = status
        .sinks
        .iter()
        .find_map(|sink| sink.otlp.as_ref())
        .expect("otlp sink")
        .spans_exported;
    let sampling = status.sampling.traces;
    assert_eq!((counts.dropped, counts.dropped_by_bound), (0, 0), "{counts:?}");
    assert_eq!(status.logs.dropped, 0, "{:?}", status.logs);
    assert_eq!(counts.started, counts.exported + counts.sampled_out);
    assert_eq!(counts.started, 2 * 3 * TRACES, "two sinks, three spans a trace");
    drop(t);

    let spans = rx.wait_spans(otlp_exported as usize);
    let otlp = otlp_traces(&spans);
    for (path, events) in trace_files(&f.traces) {
        common::assert_well_formed(&path, &events);
    }
    let chrome = chrome_traces(&f);
    let mut head_kept = 0;
    let mut others = 0;
    let mut others_head_kept = 0;
    for i in 0..TRACES {
        let k = kind(i);
        let got = otlp.get(&i);
        if let Some((id, spans)) = got {
            let mut names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["io", "job", "step"], "trace {i} whole at the receiver");
            let io = spans.iter().find(|s| s["name"] == "io").expect("io");
            assert!(
                !io["events"].as_array().expect("events").is_empty(),
                "trace {i}: io's events"
            );
            assert_eq!(
                chrome.get(&i).map(|c| c.0.join(",")).as_deref(),
                Some("io,job,step"),
                "trace {i} whole in the files"
            );
            assert!(chrome[&i].1 >= 1, "trace {i}: its event in the files");
            if head_keeps(id) {
                head_kept += 1;
            }
        } else {
            // Its events are in the files as instants (events are logs, which are not sampled); its spans not.
            assert!(
                chrome.get(&i).is_none_or(|c| c.0.is_empty()),
                "trace {i}'s spans in the files but not at the receiver"
            );
        }
        match k {
            Kind::Fine => {
                others += 1;
                others_head_kept += u64::from(got.is_some_and(|(id, _)| head_keeps(id)));
            }
            _ => assert!(got.is_some(), "{k:?} trace {i} was not kept"),
        }
    }
    assert_eq!(sampling.kept_by_head, head_kept);
    let errors = (0..TRACES)
        .filter(|i| !matches!(kind(*i), Kind::Fine | Kind::Slow))
        .count() as u64;
    assert_eq!(errors, TRACES / 100);
    let fraction = others_head_kept as f64 / others as f64;
    assert!(
        (fraction - PROBABILITY).abs() <= 0.02 * PROBABILITY,
        "head kept {fraction} of the other traces"
    );
    assert_eq!(
        sampling.kept_by_head
            + sampling.kept_by_error
            + sampling.kept_by_latency
            + sampling.dropped_by_sampling,
        TRACES
    );
    assert_eq!(
        (
            sampling.dropped_by_bound,
            sampling.buffered,
            sampling.buffered_bytes
        ),
        (0, 0, 0)
    );
}

/// The Chrome files' spans grouped by their `i`: sorted span names, and how many instants.
fn chrome_traces(f: &Fixture) -> HashMap<u64, (Vec<String>, usize)> {
    let mut out: HashMap<u64, (Vec<String>, usize)> = HashMap::new();
    for (_, events) in trace_files(&f.traces) {
        for e in &events {
            let Some(i) = e["args"]["i"].as_u64() else {
                continue;
            };
            let entry = out.entry(i).or_default();
            match e["ph"].as_str() {
                Some("X") => entry.0.push(e["name"].as_str().unwrap_or_default().to_owned()),
                Some("i") => entry.1 += 1,
                _ => {}
            }
        }
    }
    for (names, _) in out.values_mut() {
        names.sort_unstable();
    }
    out
}

/// Traces make `job` > `step` under `t`, `n` of them, each with field `i` from `from`.
fn jobs(t: &livetel::Telemetry, from: u64, n: u64) {
    with_default(t.dispatch().expect("own subscriber"), || {
        for i in from..from + n {
            tracing::info_span!("job", i).in_scope(|| tracing::info_span!("step", i).in_scope(|| {}));
        }
    });
}

#[test]
fn a_strategy_changed_live_applies_to_traces_started_after_the_reload() {
    let f = Fixture::new("watch = false\nsampling.strategy = \"always_off\"");
    let t = f.start();
    jobs(&t, 0, 100);
    // A trace open across the reload keeps the decision it began with, whole.
    let d = t.dispatch().expect("own subscriber").clone();
    let open = with_default(&d, || tracing::info_span!("job", i = 1000u64));
    f.write("watch = false\nsampling.strategy = \"always_on\"");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    assert_eq!(
        t.status().borrow().sampling.strategy,
        livetel::config::Strategy::AlwaysOn
    );
    with_default(&d, || {
        open.in_scope(|| tracing::info_span!("step", i = 1000u64).in_scope(|| {}));
    });
    drop(open);
    jobs(&t, 2000, 100);
    wait_settled(&t);
    let traces = t.refresh_status().sampling.traces;
    drop(t);
    let got: HashSet<u64> = chrome_traces(&f).into_keys().collect();
    assert_eq!(got, (2000..2100).collect::<HashSet<_>>());
    assert_eq!((traces.kept_by_head, traces.dropped_by_sampling), (100, 101));
}

#[test]
fn a_tiny_buffer_counts_what_it_drops_and_keeps_the_rest_whole() {
    let f = Fixture::new(
        "watch = false\nsampling.strategy = \"always_off\"\nsampling.always_sample_errors = true\n\
         sampling.max_traces_in_flight = 2\nsampling.max_spans_per_trace = 4\n",
    );
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        // Five traces open at once (side by side on one thread: not a file Perfetto would nest): two are held,
        // three are over the bound.
        let roots: Vec<_> = (0..5u64)
            .map(|i| tracing::info_span!(parent: None, "job", i))
            .collect();
        for (i, root) in (0u64..).zip(&roots) {
            tracing::info_span!(parent: root, "step", i, error = true).in_scope(|| {});
        }
        drop(roots);
        // One trace over the span bound: dropped whole. One within it: kept whole.
        for (i, steps) in [(10u64, 5), (11, 3)] {
            tracing::info_span!("job", i).in_scope(|| {
                for _ in 0..steps {
                    tracing::info_span!("step", i, error = true).in_scope(|| {});
                }
            });
        }
    });
    let counts = wait_settled(&t);
    let traces = t.refresh_status().sampling.traces;
    drop(t);
    assert_eq!(
        (traces.kept_by_error, traces.dropped_by_bound),
        (3, 4),
        "{traces:?}"
    );
    // Three refused traces of 2 spans, and one of 6.
    assert_eq!(counts.dropped_by_bound, 3 * 2 + 6, "{counts:?}");
    assert_eq!(counts.started, counts.exported + counts.dropped_by_bound);
    let got = chrome_traces(&f);
    let mut kept: Vec<u64> = got.keys().copied().collect();
    kept.sort_unstable();
    assert_eq!(kept, [0, 1, 11]);
    assert_eq!(got[&0].0, ["job", "step"]);
    assert_eq!(got[&11].0, ["job", "step", "step", "step"]);
}

/// A server span that joins a caller's trace the caller did not sample is held like any local root: an error in
/// it keeps it, whole, under the caller's trace id.
#[test]
fn a_span_joining_an_unsampled_caller_is_held_and_kept_on_error() {
    let f = Fixture::new("watch = false\nsampling.always_sample_errors = true");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        for (i, error) in [(0u64, true), (1, false)] {
            let headers: HashMap<String, String> = [(
                "traceparent".to_owned(),
                format!("00-4bf92f3577b34da6a3ce929d0e0e47{i:02x}-00f067aa0ba902b7-00"),
            )]
            .into();
            let server = tracing::info_span!(parent: None, "job", i);
            assert!(livetel::propagation::set_parent(
                &server,
                &livetel::propagation::extract(&headers)
            ));
            server.in_scope(|| {
                let step = tracing::info_span!("step", i, error = tracing::field::Empty);
                if error {
                    step.record("error", "refused");
                }
            });
        }
    });
    let counts = wait_settled(&t);
    let traces = t.refresh_status().sampling.traces;
    drop(t);
    assert_eq!(
        (traces.kept_by_error, traces.dropped_by_sampling),
        (1, 1),
        "{traces:?}"
    );
    assert_eq!((counts.started, counts.exported, counts.sampled_out), (4, 2, 2));
    let got = chrome_traces(&f);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), [0]);
    assert_eq!(got[&0].0, ["job", "step"]);
}

//! `[telemetry.profiling]` on spans, through the real layer and the Chrome sink: allocation figures match a
//! known allocation pattern exactly (current-thread runtime), `resource.cpu.micros` is present and a parent's is
//! at least its child's, and each key switches live. Needs the counting allocator, so the whole file is
//! `profiling-alloc`.
#![cfg(feature = "profiling-alloc")]

mod common;

use std::hint::black_box;

use common::{Fixture, PATIENCE, spans, trace_files, wait_status};
use livetel::ReloadOutcome;
use serde_json::Value;
use tracing::Instrument;
use tracing::dispatcher::with_default;

#[global_allocator]
static ALLOC: livetel::profiling::CountingAllocator = livetel::profiling::CountingAllocator::system();

fn apply(t: &livetel::Telemetry, f: &Fixture, body: &str) {
    f.write(body);
    match t.reload_trigger().reload_blocking() {
        ReloadOutcome::Applied { .. } => {}
        other => panic!("{body:?} was not applied: {other:?}"),
    }
}

/// The args of every span named `name` in the trace files, in the order written.
fn args_of(f: &Fixture, name: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, events) in trace_files(&f.traces) {
        for s in spans(&events) {
            if s["name"] == name {
                out.push(s["args"].clone());
            }
        }
    }
    out
}

/// Exactly: 1000 and 48 bytes allocated and freed, 16 bytes grown to 64 by a realloc (a free and an
/// allocation) and freed, and 100 bytes allocated that leave the span alive.
async fn known_pattern() -> Vec<u8> {
    let v: Vec<u8> = Vec::with_capacity(1000);
    black_box(&v);
    drop(v);
    let b = Box::new([7u8; 48]);
    black_box(&b);
    drop(b);
    let mut grown: Vec<u8> = Vec::with_capacity(16);
    grown.reserve_exact(64);
    black_box(&grown);
    drop(grown);
    Vec::with_capacity(100)
}

#[test]
fn alloc_figures_match_a_known_pattern_exactly() {
    let f = Fixture::new("watch = false\n[telemetry.profiling]\nalloc = true");
    let t = f.start();
    assert!(livetel::profiling::allocator_installed());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let kept = with_default(t.dispatch().expect("own subscriber"), || {
        rt.block_on(known_pattern().instrument(tracing::info_span!("alloc.known")))
    });
    assert_eq!(kept.capacity(), 100);
    let status = t.status().borrow().clone();
    let p = status.profiling.as_ref().expect("profiling in status");
    assert!(p.alloc && p.allocator_installed && !p.cpu_time, "{p:?}");
    drop(t);
    let args = args_of(&f, "alloc.known");
    assert_eq!(args.len(), 1, "{args:?}");
    let a = &args[0];
    assert_eq!(a["alloc.count"], 5, "{a}");
    assert_eq!(a["alloc.bytes"], 1000 + 48 + 16 + 64 + 100, "{a}");
    assert_eq!(a["dealloc.count"], 4, "{a}");
    assert_eq!(a["dealloc.bytes"], 1000 + 48 + 16 + 64, "{a}");
    assert_eq!(a["alloc.net_bytes"], 100, "{a}");
    assert!(a.get("resource.cpu.micros").is_none(), "cpu_time is off: {a}");
}

/// Burns some CPU on this thread.
fn spin(n: u64) -> u64 {
    (0..n).fold(0u64, |x, i| black_box(x.wrapping_mul(31).wrapping_add(i)))
}

#[test]
fn cpu_time_is_present_and_a_parent_holds_its_child() {
    let f = Fixture::new("watch = false\n[telemetry.profiling]\ncpu_time = true");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("cpu.parent").in_scope(|| {
            spin(200_000);
            tracing::info_span!("cpu.child").in_scope(|| spin(2_000_000));
            spin(200_000);
        });
    });
    drop(t);
    let micros = |name| {
        let args = args_of(&f, name);
        assert_eq!(args.len(), 1, "{name}: {args:?}");
        args[0]["resource.cpu.micros"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: no resource.cpu.micros in {}", args[0]))
    };
    let (parent, child) = (micros("cpu.parent"), micros("cpu.child"));
    assert!(child > 0, "two million multiplications took no CPU time?");
    assert!(parent >= child, "parent {parent} < child {child}");
    assert!(args_of(&f, "cpu.child")[0].get("alloc.count").is_none());
}

/// Whether a thread of this process has the name `name` now.
fn thread_named(name: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks
        .flatten()
        .any(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
}

fn wait_for(what: &str, pred: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !pred() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn every_key_switches_live_and_the_sampler_thread_stops() {
    let f = Fixture::new("watch = false\n[telemetry.profiling]\nalloc = true");
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    let span = |name: &'static str| {
        with_default(&d, || {
            tracing::info_span!("live", step = name).in_scope(|| black_box(vec![1u8; 10]))
        })
    };
    span("alloc");
    apply(&t, &f, "watch = false\n[telemetry.profiling]\ncpu_time = true");
    span("cpu");
    apply(
        &t,
        &f,
        "watch = false\n[telemetry.profiling]\ncpu_time = true\nsystem_metrics_interval_secs = 1",
    );
    let s = wait_status(&t, "two process samples", |s| {
        s.profiling.as_ref().is_some_and(|p| p.system_samples >= 2)
    });
    let p = s.profiling.as_ref().unwrap();
    assert_eq!(p.system_metrics_interval_secs, Some(1));
    assert!(
        p.process.is_some_and(|x| x.memory_rss > 0 && x.thread_count > 0),
        "{p:?}"
    );
    assert!(thread_named("livetel-procmet"));
    apply(&t, &f, "watch = false\n[telemetry.profiling]\ncpu_time = true");
    wait_for("the sampler thread stops", || !thread_named("livetel-procmet"));
    let taken = t.status().borrow().profiling.as_ref().unwrap().system_samples;
    span("cpu again");
    apply(&t, &f, "watch = false");
    span("off");
    assert!(t.status().borrow().profiling.is_none());
    drop(t);

    let all: Vec<Value> = args_of(&f, "live");
    let by_step = |step: &str| {
        all.iter()
            .find(|a| a["step"] == step)
            .unwrap_or_else(|| panic!("no span of step {step}: {all:?}"))
            .clone()
    };
    let has = |a: &Value, k: &str| a.get(k).is_some();
    let a = by_step("alloc");
    assert!(has(&a, "alloc.bytes") && !has(&a, "resource.cpu.micros"), "{a}");
    assert!(a["alloc.bytes"].as_u64().unwrap() >= 10, "{a}");
    for step in ["cpu", "cpu again"] {
        let a = by_step(step);
        assert!(
            !has(&a, "alloc.bytes") && has(&a, "resource.cpu.micros"),
            "{step}: {a}"
        );
    }
    let a = by_step("off");
    assert!(!has(&a, "alloc.bytes") && !has(&a, "resource.cpu.micros"), "{a}");

    // Every process sample was written once, as an instant event of the Chrome file.
    let written: usize = trace_files(&f.traces)
        .iter()
        .map(|(_, events)| events.iter().filter(|e| e["name"] == "process.metrics").count())
        .sum();
    assert_eq!(written as u64, taken, "samples taken {taken}, written {written}");
}

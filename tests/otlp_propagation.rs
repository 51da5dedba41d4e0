//! W3C context propagation keeps working after any number of reloads, and the remote side becomes a child of
//! the caller in the exported trace.

mod common;

use std::collections::HashMap;

use common::Fixture;
use common::receiver::Receiver;
use livetel::propagation;

#[test]
fn remote_parent_survives_fifty_reloads() {
    let rx = Receiver::start();
    let base = rx.otlp_body();
    let f = Fixture::new(&base);
    let t = f.start();
    let trigger = t.reload_trigger();
    for i in 0..50 {
        let filter = if i % 2 == 0 { "info,noise=debug" } else { "info" };
        f.write(&format!("filter = \"{filter}\"\n{base}"));
        assert!(trigger.reload_blocking().is_applied(), "reload {i}");
    }
    assert_eq!(t.status().borrow().generation, 51);
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let call = tracing::info_span!("a2a.call");
        let mut headers: HashMap<String, String> = HashMap::new();
        call.in_scope(|| propagation::inject(&tracing::Span::current(), &mut headers));
        let traceparent = headers.get("traceparent").expect("traceparent injected").clone();
        assert!(
            traceparent.ends_with("-03"),
            "sampled and random flags: {traceparent}"
        );
        // The "remote" side: a fresh root that adopts the caller as its parent.
        let handle = tracing::info_span!(parent: None, "a2a.handle");
        assert!(propagation::set_parent(&handle, &propagation::extract(&headers)));
        handle.in_scope(|| tracing::info_span!("a2a.work").in_scope(|| {}));
        drop(handle);
        drop(call);
    });
    drop(t);
    let spans = rx.wait_spans(3);
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("{n} exported"))
    };
    let (call, handle, work) = (by_name("a2a.call"), by_name("a2a.handle"), by_name("a2a.work"));
    assert_eq!(handle["trace_id"], call["trace_id"]);
    assert_eq!(handle["parent_span_id"], call["span_id"]);
    assert_eq!(work["trace_id"], call["trace_id"]);
    assert_eq!(work["parent_span_id"], handle["span_id"]);
}

#[test]
fn unsampled_remote_parent_is_followed_and_tracestate_kept() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let mut headers = HashMap::new();
        headers.insert(
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_owned(),
        );
        headers.insert("tracestate".to_owned(), "vendor=abc".to_owned());
        let span = tracing::info_span!(parent: None, "handle");
        assert!(propagation::set_parent(&span, &propagation::extract(&headers)));
        assert_eq!(
            propagation::trace_id(&span).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let child = span.in_scope(|| tracing::info_span!("child"));
        let mut out = HashMap::new();
        propagation::inject(&child, &mut out);
        assert!(out["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(
            out["traceparent"].ends_with("-00"),
            "unsampled decision inherited: {}",
            out["traceparent"]
        );
        assert_eq!(out["tracestate"], "vendor=abc");
    });
    let c = t.shutdown();
    assert_eq!((c.started, c.sampled_out, c.exported), (2, 2, 0), "{c:?}");
    // Garbage headers give no parent.
    let mut bad = HashMap::new();
    bad.insert("traceparent".to_owned(), "nonsense".to_owned());
    assert!(!opentelemetry::trace::TraceContextExt::has_active_span(
        &propagation::extract(&bad)
    ));
}

#[test]
fn kept_fraction_tracks_the_live_ratio_over_100k_roots() {
    let f = Fixture::new("watch = false\nbackend = \"local\"\nsample_rate = 0.25");
    let t = f.start();
    let roots = 100_000u64;
    let run = |ratio: f64| {
        let before = t.counters();
        tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
            for _ in 0..roots {
                tracing::info_span!("root").in_scope(|| {});
            }
        });
        let after = t.counters();
        let kept = (after.started - before.started) - (after.sampled_out - before.sampled_out);
        let fraction = kept as f64 / roots as f64;
        println!("sampling: ratio {ratio}: kept {fraction:.4} of {roots} roots");
        assert!(
            (fraction - ratio).abs() <= 0.02 * ratio,
            "ratio {ratio}: kept {fraction}"
        );
    };
    run(0.25);
    f.write("watch = false\nbackend = \"local\"\nsample_rate = 0.75");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    run(0.75);
}

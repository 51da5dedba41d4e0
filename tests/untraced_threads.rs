//! livetel's own threads are never recorded, yet a callsite first reached on one of them is not switched off
//! for the app's threads. (With `Dispatch::none()` as those threads' default, tracing-core registered such a
//! callsite through `NoSubscriber`, cached `never` for every thread and every layer.) Its own test binary:
//! livetel is the global default here.

mod common;

use common::{Fixture, span_names};

/// One callsite: first reached on livetel's control thread (inside a `Handle::modify` change), then on the app's.
fn shared_callsite(from: &str) {
    tracing::info_span!("shared.callsite", from).in_scope(|| {});
}

#[test]
fn a_callsite_first_reached_on_livetels_thread_is_recorded_on_the_apps() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.builder().init().expect("global init");
    let outcome = t.handle().modify_blocking(|cfg| {
        shared_callsite("control thread");
        cfg.sample_rate = 1.0;
    });
    assert!(
        !matches!(outcome, livetel::ReloadOutcome::Rejected { .. }),
        "{outcome:?}"
    );
    for _ in 0..3 {
        shared_callsite("app thread");
    }
    let c = t.shutdown();
    assert_eq!(
        span_names(&f.traces).get("shared.callsite"),
        Some(&3),
        "the app's 3 spans are recorded, the control thread's is not: {c:?}"
    );
}

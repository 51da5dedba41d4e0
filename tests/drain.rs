//! A replaced generation drains: its open spans and their children finish in it; it retires when the last one
//! closes, or is closed after `drain_timeout_ms`, counting what arrives later as dropped.

mod common;

use common::{Fixture, span_names, trace_files, wait_status};
use livetel::status::SinkState;
use tracing::dispatcher::with_default;

#[test]
fn retires_when_its_last_span_closes() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let first_file = t.status().borrow().trace_file.clone().expect("local file");
    let root = with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("long_root")
    });
    f.write("watch = false\nbackend = \"none\"");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    let s = wait_status(&t, "a draining sink", |s| {
        s.sinks.iter().any(|sink| sink.state == SinkState::Draining)
    });
    assert_eq!(s.sinks[1].trace_file.as_ref(), Some(&first_file));
    // A child created after the flip joins its parent's (draining) generation.
    with_default(t.dispatch().expect("own subscriber"), || {
        root.in_scope(|| tracing::info_span!("child_after_flip").in_scope(|| {}));
    });
    drop(root);
    wait_status(&t, "the drained sink gone", |s| s.sinks.len() == 1);
    let c = t.counters();
    assert_eq!((c.started, c.exported, c.dropped), (2, 2, 0), "{c:?}");
    drop(t);
    let names = span_names(&f.traces);
    assert_eq!(
        (names.get("long_root"), names.get("child_after_flip")),
        (Some(&1), Some(&1))
    );
    assert_eq!(trace_files(&f.traces).len(), 1);
}

#[test]
fn drain_timeout_closes_the_old_file() {
    let f = Fixture::new("watch = false\nbackend = \"local\"\ndrain_timeout_ms = 50");
    let t = f.start();
    let stuck = with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("never_closes_in_time")
    });
    let second = format!(
        "[telemetry]\nwatch = false\nservice_name = \"second\"\n[telemetry.local]\ntrace_dir = {:?}\n",
        f.traces.display().to_string()
    );
    std::fs::write(&f.config, second).unwrap();
    assert!(t.reload_trigger().reload_blocking().is_applied());
    // The old generation is retired by its timeout although a span still holds it.
    wait_status(&t, "the timed-out sink retired", |s| s.sinks.len() == 1);
    drop(stuck);
    let c = t.counters();
    assert_eq!(
        (c.started, c.exported, c.dropped),
        (1, 0, 1),
        "a span closed after the timeout is counted: {c:?}"
    );
    drop(t);
    let files = trace_files(&f.traces);
    assert_eq!(files.len(), 2, "both files complete JSON");
}

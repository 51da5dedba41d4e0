//! Each live field flips and takes effect, for spans created after the reload.

mod common;

use common::{Fixture, span_names, trace_files};
use livetel::ReloadOutcome;
use tracing::dispatcher::with_default;

fn apply(t: &livetel::Telemetry, f: &Fixture, body: &str) -> u64 {
    f.write(body);
    match t.reload_trigger().reload_blocking() {
        ReloadOutcome::Applied { generation } => generation,
        other => panic!("{body:?} was not applied: {other:?}"),
    }
}

#[test]
fn backend_flips_between_local_and_none() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("under_local_1").in_scope(|| {})
    });
    apply(&t, &f, "watch = false\nbackend = \"none\"");
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("under_none").in_scope(|| {})
    });
    apply(&t, &f, "watch = false\nbackend = \"local\"");
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("under_local_2").in_scope(|| {})
    });
    drop(t);
    let names = span_names(&f.traces);
    assert_eq!(names.get("under_local_1"), Some(&1));
    assert_eq!(names.get("under_local_2"), Some(&1));
    assert_eq!(names.get("under_none"), None);
    assert_eq!(
        trace_files(&f.traces).len(),
        2,
        "each local generation writes its own file"
    );
}

#[test]
fn disabled_records_nothing() {
    let f = Fixture::new("watch = false\nenabled = false");
    let t = f.start();
    assert_eq!(t.status().borrow().backend, livetel::config::Backend::None);
    with_default(t.dispatch().expect("own subscriber"), || {
        let span = tracing::info_span!("off");
        assert!(span.is_disabled());
    });
}

#[test]
fn filter_flips() {
    let f = Fixture::new("watch = false\nfilter = \"info\"");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::debug_span!("debug_before").in_scope(|| {})
    });
    apply(&t, &f, "watch = false\nfilter = \"debug\"");
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::debug_span!("debug_after").in_scope(|| {})
    });
    apply(&t, &f, "watch = false\nfilter = \"warn,live_fields=trace\"");
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::trace_span!("trace_by_target").in_scope(|| {})
    });
    drop(t);
    let names = span_names(&f.traces);
    assert_eq!(names.get("debug_before"), None);
    assert_eq!(names.get("debug_after"), Some(&1));
    assert_eq!(names.get("trace_by_target"), Some(&1));
    assert_eq!(
        trace_files(&f.traces).len(),
        1,
        "a filter change does not rotate the file"
    );
}

#[test]
fn sample_rate_keeps_whole_traces_and_the_same_file() {
    let f = Fixture::new("watch = false\nsample_rate = 1.0");
    let t = f.start();
    let file = t.status().borrow().trace_file.clone();
    apply(&t, &f, "watch = false\nsample_rate = 0.5");
    assert_eq!(
        t.status().borrow().trace_file,
        file,
        "a sample rate change must not rotate the file"
    );
    let traces = 10_000u64;
    with_default(t.dispatch().expect("own subscriber"), || {
        for seq in 0..traces {
            tracing::info_span!("root", seq).in_scope(|| {
                tracing::info_span!("child", seq)
                    .in_scope(|| tracing::info_span!("grandchild", seq).in_scope(|| {}));
            });
        }
    });
    apply(&t, &f, "watch = false\nsample_rate = 0.0");
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("never_kept").in_scope(|| {})
    });
    let counts = t.counters();
    drop(t);
    let names = span_names(&f.traces);
    let roots = names["root"] as f64;
    assert!(
        (roots / traces as f64 - 0.5).abs() < 0.05,
        "kept {roots} of {traces}"
    );
    assert_eq!(
        names["child"], names["root"],
        "children follow their root's decision"
    );
    assert_eq!(names["grandchild"], names["root"]);
    assert_eq!(names.get("never_kept"), None);
    assert_eq!(
        counts.started,
        counts.sampled_out + names.values().sum::<usize>() as u64
    );
}

#[test]
fn trace_dir_and_service_name_rotate_the_file() {
    let f = Fixture::new("watch = false");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("in_first").in_scope(|| {})
    });
    let other = f.dir.path().join("other-traces");
    let body = format!(
        "watch = false\nservice_name = \"renamed\"\n[telemetry.local]\ntrace_dir = {:?}",
        other.display().to_string()
    );
    std::fs::write(&f.config, format!("[telemetry]\n{body}\n")).unwrap();
    assert!(t.reload_trigger().reload_blocking().is_applied());
    let status = t.status().borrow().clone();
    assert!(status.trace_file.as_ref().unwrap().starts_with(&other));
    assert_eq!(status.service_name, "renamed");
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("in_second").in_scope(|| {})
    });
    drop(t);
    assert_eq!(span_names(&f.traces).get("in_first"), Some(&1));
    let files = trace_files(&other);
    assert_eq!(files.len(), 1);
    let events = &files[0].1;
    assert!(events.iter().any(|e| e["name"] == "in_second"));
    let process = events.iter().find(|e| e["name"] == "process_name").unwrap();
    assert_eq!(process["args"]["name"], "renamed");
}

#[test]
fn span_directives_see_their_spans_across_a_reload() {
    // `[outer]=debug`: debug spans are enabled only inside `outer`. Such a filter must see spans enter and
    // exit; a plain filter does not (livetel skips those callbacks then).
    let f = Fixture::new("watch = false\nfilter = \"info,[outer]=debug\"");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        tracing::debug_span!("outside").in_scope(|| {});
        let outer = tracing::info_span!("outer");
        let entered = outer.enter();
        tracing::debug_span!("inside_before_reload").in_scope(|| {});
        // Reload while `outer` is entered: it keeps its generation's filter, whose scope stays balanced.
        f.write("watch = false\nfilter = \"info,[outer]=debug\"\nsample_rate = 1.0\ninclude_args = true");
        assert!(t.reload_trigger().reload_blocking().is_applied());
        tracing::debug_span!("inside_after_reload").in_scope(|| {});
        drop(entered);
        tracing::debug_span!("outside_again").in_scope(|| {});
    });
    drop(t);
    let names = span_names(&f.traces);
    assert_eq!(names.get("inside_before_reload"), Some(&1));
    assert_eq!(names.get("inside_after_reload"), Some(&1));
    assert_eq!(
        (names.get("outside"), names.get("outside_again")),
        (None, None),
        "{names:?}"
    );
}

//! `include_args` records `#[livetel::instrument]` arguments only while on, for spans created after the reload,
//! and `skip(...)` is always honoured. Each livetel instance follows its own config: the flag is read from the
//! instance in the current dispatcher, not from process-wide state.

mod common;

use common::{Fixture, spans, trace_files};
use tracing::dispatcher::with_default;

#[livetel::instrument(name = "llm.chat", skip(api_key))]
fn chat(model: &str, prompt: &str, api_key: &str) -> usize {
    prompt.len() + model.len() + api_key.len()
}

#[test]
fn arguments_follow_the_live_flag() {
    let f = Fixture::new("watch = false\ninclude_args = false");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        chat("m-off", "hello", "SECRET-KEY")
    });
    f.write("watch = false\ninclude_args = true");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    assert!(t.status().borrow().include_args);
    with_default(t.dispatch().expect("own subscriber"), || {
        chat("m-on", "hi there", "SECRET-KEY")
    });
    drop(t);
    let files = trace_files(&f.traces);
    let all: Vec<_> = files
        .iter()
        .flat_map(|(_, e)| spans(e).into_iter().cloned().collect::<Vec<_>>())
        .collect();
    assert_eq!(all.len(), 2);
    assert!(
        all[0]["args"].is_null(),
        "no arguments while include_args is off: {}",
        all[0]
    );
    assert_eq!(all[1]["args"]["model"], "\"m-on\"");
    assert_eq!(all[1]["args"]["prompt"], "\"hi there\"");
    for (path, _) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            !text.contains("SECRET-KEY"),
            "a skipped argument reached {}",
            path.display()
        );
    }
}

/// Two instances in one process, one with `include_args` on and one off, each used on its own thread at the same
/// time: each records arguments as its own config says, through a reload of one of them.
#[test]
fn two_instances_follow_their_own_config() {
    let on = Fixture::new("watch = false\ninclude_args = true");
    let off = Fixture::new("watch = false\ninclude_args = false");
    let (t_on, t_off) = (on.start(), off.start());
    let calls = |t: &livetel::Telemetry, model: &'static str| {
        let dispatch = t.dispatch().expect("own subscriber").clone();
        std::thread::spawn(move || {
            with_default(&dispatch, || {
                for _ in 0..200 {
                    chat(model, "p", "SECRET-KEY");
                }
            })
        })
    };
    for worker in [calls(&t_on, "m-on"), calls(&t_off, "m-off")] {
        worker.join().expect("worker");
    }
    // Turning the second one on leaves the first as it was, and the other way round.
    off.write("watch = false\ninclude_args = true");
    on.write("watch = false\ninclude_args = false");
    assert!(t_off.reload_trigger().reload_blocking().is_applied());
    assert!(t_on.reload_trigger().reload_blocking().is_applied());
    for worker in [calls(&t_on, "m-on-later"), calls(&t_off, "m-off-later")] {
        worker.join().expect("worker");
    }
    drop((t_on, t_off));
    let args = |f: &Fixture| -> Vec<serde_json::Value> {
        trace_files(&f.traces)
            .iter()
            .flat_map(|(_, e)| {
                spans(e)
                    .into_iter()
                    .map(|s| s["args"]["model"].clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (first, second) = (args(&on), args(&off));
    assert_eq!((first.len(), second.len()), (400, 400));
    assert!(
        first[..200].iter().all(|m| m == "\"m-on\""),
        "on: {:?}",
        &first[..3]
    );
    assert!(
        first[200..].iter().all(serde_json::Value::is_null),
        "off after its reload"
    );
    assert!(
        second[..200].iter().all(serde_json::Value::is_null),
        "off: {:?}",
        &second[..3]
    );
    assert!(
        second[200..].iter().all(|m| m == "\"m-off-later\""),
        "on after its reload"
    );
}

//! `include_args` records `#[livetel::instrument]` arguments only while on, for spans created after the reload,
//! and `skip(...)` is always honoured. In its own test binary: the flag is process-wide.

mod common;

use common::{spans, trace_files, Fixture};
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

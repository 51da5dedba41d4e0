//! Every console format prints events inside spans it never saw begin: spans its filter leaves out, spans that
//! began under another format, root events inside a span. tracing-subscriber's `pretty` and `json` formatters
//! require field sets livetel gives them; without them these lines panicked on the app thread.

mod common;

use common::Fixture;
use tracing::dispatcher::with_default;

fn config(format: &str) -> String {
    format!(
        "watch = false\nbackend = \"local\"\nfilter = \"info\"\n[telemetry.console]\nenabled = true\nansi = false\nfilter = \"warn\"\nformat = \"{format}\""
    )
}

#[test]
fn every_format_prints_inside_spans_it_did_not_see() {
    let f = Fixture::new(&config("compact"));
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    // Opened under `compact`, and left out by the console's filter (INFO < WARN) though traces record it.
    let outer = with_default(&d, || tracing::info_span!("outer", n = 1));
    let mut printed = 0;
    for format in ["pretty", "json", "compact", "json", "pretty"] {
        f.write(&config(format));
        assert!(t.reload_trigger().reload_blocking().is_applied(), "{format}");
        with_default(&d, || {
            outer.in_scope(|| {
                tracing::warn!(format, "inside a span the console did not see");
                tracing::warn!(parent: None, format, "a root event inside it");
                tracing::info_span!("inner").in_scope(|| tracing::warn!(format, "two levels in"));
            })
        });
        printed += 3;
    }
    drop(outer);
    let s = t.refresh_status();
    assert_eq!(s.console.as_ref().map(|c| c.format), Some("pretty"));
    // The app thread went through every line; livetel's own records balance.
    let logs = s.logs;
    assert_eq!(
        logs.made, printed,
        "every WARN event also became a log record: {logs:?}"
    );
    t.shutdown();
}

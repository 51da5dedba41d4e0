//! Local backend I/O faults never panic or stall the app; they show in status, and the file stays loadable.

mod common;

use common::tmpfs::Tmpfs;
use common::{Fixture, trace_files, wait_status};
use tracing::dispatcher::with_default;

#[test]
fn disk_full_shows_in_status_and_never_stalls() {
    let f = Fixture::new("");
    let small = f.dir.path().join("small");
    let fs = Tmpfs::mount(&small, "64k");
    std::fs::write(
        &f.config,
        format!(
            "[telemetry]\nwatch = false\n[telemetry.local]\ntrace_dir = {:?}\n",
            small.display().to_string()
        ),
    )
    .unwrap();
    let t = f.start();
    let payload = "x".repeat(512);
    with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..2_000u32 {
            tracing::info_span!("fill", i, payload = payload.as_str()).in_scope(|| {});
        }
    });
    let s = wait_status(&t, "the disk-full error", |s| {
        s.sinks.iter().any(|sink| sink.error.is_some())
    });
    let error = s.sinks[0].error.clone().unwrap_or_default();
    assert!(error.contains("No space left"), "{error}");
    let c = t.counters();
    assert!(c.dropped > 0 && c.exported > 0, "{c:?}");
    drop(t);
    // What was written before the disk filled still loads as complete JSON.
    let files = trace_files(&small);
    assert_eq!(files.len(), 1);
    assert!(files[0].1.iter().any(|e| e["name"] == "fill"));
    let c2 = c;
    println!(
        "disk full: {} spans exported, {} dropped, error in status: {error}",
        c2.exported, c2.dropped
    );
    drop(fs);
}

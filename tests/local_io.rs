//! Local backend I/O faults never panic or stall the app; they show in status, and the file stays loadable.

mod common;

use common::tmpfs::Tmpfs;
use common::{Fixture, trace_files, wait_settled, wait_status};
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

/// Past `max_file_mb` a file is finished and the next begun; past `max_files` the oldest this sink wrote is
/// deleted, never another file of the directory. The disk the backend holds stays bounded, every file loads on
/// its own and names its threads, and every span is counted exported.
#[test]
fn files_rotate_at_their_size_and_the_oldest_past_max_files_are_deleted() {
    let f = Fixture::new("watch = false\nlocal.max_file_mb = 1\nlocal.max_files = 2\n");
    std::fs::create_dir_all(&f.traces).unwrap();
    let theirs = f.traces.join("someone_else.json");
    std::fs::write(&theirs, "[]").unwrap();
    let t = f.start();
    let first = t.status().borrow().sinks[0]
        .trace_file
        .clone()
        .expect("a trace file");
    let payload = "x".repeat(200);
    let made = 20_000u64;
    with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..made {
            tracing::info_span!("rotated", i, payload = payload.as_str()).in_scope(|| {});
        }
    });
    let counts = wait_settled(&t);
    assert_eq!((counts.exported, counts.dropped), (made, 0), "{counts:?}");
    let last = t.refresh_status().sinks[0]
        .trace_file
        .clone()
        .expect("a trace file");
    assert_ne!(first, last, "the sink writes a later file now");
    drop(t);

    let files = trace_files(&f.traces);
    let ours: Vec<_> = files.iter().filter(|(p, _)| *p != theirs).collect();
    assert_eq!(
        ours.len(),
        2,
        "max_files: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(theirs.exists(), "a file the sink did not write is never deleted");
    assert!(!first.exists(), "the oldest file was deleted");
    assert!(ours.iter().any(|(p, _)| *p == last));
    let mut kept = 0;
    for (path, events) in &ours {
        let bytes = std::fs::metadata(path).unwrap().len();
        assert!(
            bytes <= (1 << 20) + 64 * 1024,
            "{} is {bytes} bytes",
            path.display()
        );
        common::assert_well_formed(path, events);
        assert_eq!(events[0]["name"], "process_name", "{}", path.display());
        let tid = common::spans(events)[0]["tid"].clone();
        assert!(
            events
                .iter()
                .any(|e| e["name"] == "thread_name" && e["tid"] == tid),
            "{} names the thread of its spans",
            path.display()
        );
        kept += common::spans(events).len() as u64;
    }
    assert!(
        kept > 0 && kept < made,
        "{kept} of {made} spans in the two files kept"
    );
}

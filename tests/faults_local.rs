//! Local backend faults: the trace dir is a file, or its filesystem turns read-only while the writer runs.
//! No panic, no stall, the error shows in status, the file written so far still loads.

mod common;

use std::time::Instant;

use common::tmpfs::Tmpfs;
use common::{Fixture, trace_files, wait_status};
use livetel::ReloadOutcome;

#[test]
fn trace_dir_that_is_a_file_is_rejected_with_its_place() {
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f.start();
    let file = f.dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    std::fs::write(
        &f.config,
        format!(
            "[telemetry]\nwatch = false\nbackend = \"local\"\n[telemetry.local]\ntrace_dir = {:?}\n",
            file.display().to_string()
        ),
    )
    .unwrap();
    let ReloadOutcome::Rejected { error } = t.reload_trigger().reload_blocking() else {
        panic!("a file accepted as trace dir")
    };
    assert_eq!(
        (error.key.as_deref(), error.position.map(|p| p.line)),
        (Some("telemetry.local.trace_dir"), Some(5))
    );
    assert_eq!(
        t.status().borrow().backend,
        livetel::config::Backend::None,
        "the last good config keeps running"
    );
}

/// Linux refuses to remount a filesystem read-only while a file on it is open for writing, so a running writer
/// cannot be surprised that way; the mid-run write failure is covered by the full-disk test (`local_io.rs`).
/// Here the trace dir lies on a read-only filesystem (which binds root too) when a reload points at it.
#[test]
fn trace_dir_on_a_read_only_filesystem_is_rejected() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("before").in_scope(|| {})
    });
    let mnt = f.dir.path().join("ro");
    let fs = Tmpfs::mount(&mnt, "8m");
    fs.read_only();
    std::fs::write(
        &f.config,
        format!(
            "[telemetry]\nwatch = false\n[telemetry.local]\ntrace_dir = {:?}\n",
            mnt.join("traces").display().to_string()
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    let outcome = t.reload_trigger().reload_blocking();
    let ReloadOutcome::Rejected { error } = outcome else {
        panic!("a read-only trace dir was accepted: {outcome:?}")
    };
    println!("read-only filesystem: rejected in {:?}: {error}", t0.elapsed());
    assert!(error.to_string().contains("Read-only"), "{error}");
    assert_eq!(error.position.map(|p| p.line), Some(4));
    // The last good generation keeps writing where it did.
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("after").in_scope(|| {})
    });
    let s = wait_status(&t, "the error", |s| s.last_error.is_some());
    assert_eq!(s.generation, 1);
    let c = t.shutdown();
    assert_eq!((c.started, c.exported), (2, 2), "{c:?}");
    assert_eq!(trace_files(&f.traces).len(), 1);
    drop(fs);
}

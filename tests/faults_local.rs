//! Local backend faults: the trace dir is a file, or its filesystem turns read-only while the writer runs.
//! No panic, no stall, the error shows in status, the file written so far still loads.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{trace_files, wait_status, Fixture};
use livetel::ReloadOutcome;

#[test]
fn trace_dir_that_is_a_file_is_rejected_with_its_place() {
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f.start();
    let file = f.dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    std::fs::write(&f.config, format!("[telemetry]\nwatch = false\nbackend = \"local\"\ntrace_dir = {:?}\n", file.display().to_string())).unwrap();
    let ReloadOutcome::Rejected { error } = t.reload_trigger().reload_blocking() else { panic!("a file accepted as trace dir") };
    assert_eq!((error.key.as_deref(), error.position.map(|p| p.line)), (Some("telemetry.trace_dir"), Some(4)));
    assert_eq!(t.status().borrow().backend, livetel::config::Backend::None, "the last good config keeps running");
}

/// A real tmpfs, remounted read-only on demand, unmounted when dropped.
struct Fs(PathBuf);

impl Fs {
    fn mount(at: &Path) -> Fs {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(at).status();
        assert!(ok.is_ok_and(|s| s.success()), "mounting a tmpfs needs root (CI runs as root)");
        Fs(at.to_path_buf())
    }

    fn read_only(&self) {
        let ok = Command::new("mount").args(["-o", "remount,ro"]).arg(&self.0).status();
        assert!(ok.is_ok_and(|s| s.success()), "remount read-only");
    }
}

impl Drop for Fs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn filesystem_turning_read_only_under_the_writer() {
    let f = Fixture::new("");
    let mnt = f.dir.path().join("ro");
    let fs = Fs::mount(&mnt);
    std::fs::write(&f.config, format!("[telemetry]\nwatch = false\ntrace_dir = {:?}\n", mnt.display().to_string())).unwrap();
    let t = f.start();
    let burst = |name: &'static str| {
        tracing::dispatcher::with_default(t.dispatch(), || {
            for i in 0..2_000u32 {
                tracing::info_span!("span", name, i).in_scope(|| {});
            }
        })
    };
    burst("before");
    wait_status(&t, "the first spans written", |_| t.counters().exported >= 2_000);
    fs.read_only();
    let t0 = Instant::now();
    burst("after");
    let took = t0.elapsed();
    let s = wait_status(&t, "the read-only error", |s| s.layers[0].error.is_some());
    let error = s.layers[0].error.clone().unwrap_or_default();
    let c = t.shutdown();
    println!("read-only filesystem: 2000 spans traced in {took:?} after the remount, error in status: {error}; {c:?}");
    assert!(error.contains("Read-only"), "{error}");
    assert!(took < Duration::from_secs(2), "tracing stalled on a read-only disk: {took:?}");
    assert_eq!(c.started, c.exported + c.dropped, "{c:?}");
    let files = trace_files(&mnt);
    assert_eq!(files.len(), 1);
    assert!(files[0].1.iter().filter(|e| e["ph"] == "X").count() >= 2_000, "what was written before still loads");
}

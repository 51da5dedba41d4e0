//! The console's JSON log file: every line written or counted as dropped, a deleted file reopened, a full disk
//! reported in status and never a panic or a stall; `RUST_LOG` overrides the console's filter and says so.

mod common;

use std::path::Path;

use common::Fixture;
use livetel::status::{LogFileStatus, TelemetryStatus};

fn file_config(path: &Path) -> String {
    format!(
        "watch = false\nbackend = \"none\"\n[telemetry.console]\nenabled = true\nansi = false\nfilter = \"warn\"\nfile = {:?}",
        path.display().to_string()
    )
}

fn file_status(s: &TelemetryStatus) -> &LogFileStatus {
    s.console
        .as_ref()
        .and_then(|c| c.file.as_ref())
        .expect("a log file in status")
}

/// Logs `n` WARN events numbered from `from` (WARN: the console filter of these tests, so the test's own output
/// stays short while the file gets every line).
fn log(t: &livetel::Telemetry, from: u64, n: u64, pad: &str) {
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        for i in from..from + n {
            tracing::warn!(target: "file_test", i, pad, "line");
        }
    });
}

/// Waits until the file has accounted for `n` lines (written or dropped), through status.
fn accounted(t: &livetel::Telemetry, n: u64) -> LogFileStatus {
    let deadline = std::time::Instant::now() + common::PATIENCE;
    loop {
        let s = t.refresh_status();
        let f = file_status(&s).clone();
        if f.lines_written + f.lines_dropped >= n {
            return f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "file never accounted for {n} lines: {f:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Every daily file of `path` (`<path>.YYYY-MM-DD`), in name order, concatenated.
fn read_all(path: &Path) -> String {
    let dir = path.parent().expect("a directory");
    let prefix = format!("{}.", path.file_name().and_then(|n| n.to_str()).expect("a name"));
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("log dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).expect("log file"))
        .collect()
}

#[test]
fn json_lines_reach_the_file_and_a_deleted_file_is_reopened() {
    let fx = Fixture::new("watch = false");
    let path = fx.dir.path().join("logs").join("app.log");
    fx.write(&file_config(&path));
    let t = fx.start();
    log(&t, 0, 20, "");
    let first = accounted(&t, 20);
    assert_eq!((first.lines_written, first.lines_dropped), (20, 0));
    // Read by listing the directory, not by today's name: the run may cross midnight UTC.
    let text = read_all(&path);
    let numbers: Vec<u64> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            assert_eq!(v["fields"]["message"], "line");
            v["fields"]["i"].as_u64().expect("i")
        })
        .collect();
    assert_eq!(numbers, (0..20).collect::<Vec<_>>());

    for entry in std::fs::read_dir(path.parent().expect("dir")).expect("log dir") {
        std::fs::remove_file(entry.expect("entry").path()).expect("delete the log file");
    }
    log(&t, 20, 5, "");
    let after = accounted(&t, 25);
    assert_eq!((after.lines_written, after.lines_dropped), (25, 0));
    assert!(
        after
            .error
            .as_deref()
            .is_some_and(|e| e.contains("was deleted; reopened")),
        "{after:?}"
    );
    let text = std::fs::read_to_string(&after.path).expect("reopened file");
    assert_eq!(
        text.lines().count(),
        5,
        "the lines after the deletion are in the new file"
    );
    t.shutdown();
}

#[test]
fn a_full_disk_is_a_status_error_and_counted_drops() {
    let fx = Fixture::new("watch = false");
    let mount = fx.dir.path().join("small");
    let _fs = common::tmpfs::Tmpfs::mount(&mount, "64k");
    fx.write(&file_config(&mount.join("app.log")));
    let t = fx.start();
    let pad = "x".repeat(1000);
    // 200 lines of about 1.1 KB into 64 KiB: most cannot be written.
    log(&t, 0, 200, &pad);
    let f = accounted(&t, 200);
    assert_eq!(
        f.lines_written + f.lines_dropped,
        200,
        "every line written or counted"
    );
    assert!(f.lines_dropped > 100, "{f:?}");
    assert!(
        f.error.as_deref().is_some_and(|e| e.contains("cannot write")),
        "{f:?}"
    );
    // The writer goes on: 200 more lines are each written or counted too.
    log(&t, 200, 200, &pad);
    let f = accounted(&t, 400);
    assert_eq!(f.lines_written + f.lines_dropped, 400, "{f:?}");
    // No line is left in part: the disk's last partial write was cut back.
    let text = read_all(&mount.join("app.log"));
    assert_eq!(text.lines().count() as u64, f.lines_written);
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line whole");
    }
    t.shutdown();
}

#[test]
fn rust_log_overrides_the_console_filter_and_is_listed() {
    let fx = Fixture::new(
        "watch = false\nbackend = \"none\"\n[telemetry.console]\nenabled = true\nfilter = \"info\"",
    );
    let t = fx
        .builder()
        .env_overrides(livetel::config::EnvOverrides::from_lookup(|k| {
            (k == "RUST_LOG").then(|| "error,my_crate=debug".to_owned())
        }))
        .build()
        .expect("starts");
    let s = t.refresh_status();
    assert_eq!(
        s.console.as_ref().map(|c| c.filter.as_str()),
        Some("error,my_crate=debug")
    );
    assert!(
        s.env_overrides
            .iter()
            .any(|o| o.key == "console.filter" && o.variable == "RUST_LOG"),
        "{:?}",
        s.env_overrides
    );
    // Nothing takes logs at `none`: no logs filter in force.
    assert_eq!(s.logs_filter, None);
    t.shutdown();
}

#[test]
fn the_console_is_off_by_default_with_build_and_build_layer() {
    let fx = Fixture::new("watch = false\nbackend = \"none\"");
    let t = fx.start();
    assert!(t.refresh_status().console.is_none());
    t.shutdown();
    let (_layer, t) = fx
        .builder()
        .build_layer::<tracing_subscriber::Registry>()
        .expect("starts");
    assert!(t.refresh_status().console.is_none());
    t.shutdown();
}

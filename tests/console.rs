//! The console, live: its format and its writer flip while 4 threads log. Every line is whole, in one format
//! or the other, on one stream or the other, and every event is printed exactly once.
//!
//! The console writes to the process's own stderr and stdout, so the test runs itself again as a child process
//! (the same test, with `LIVETEL_CONSOLE_CHILD` set) and reads the child's two streams.

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::Fixture;

const THREADS: u64 = 4;
const CHILD: &str = "LIVETEL_CONSOLE_CHILD";
/// (format, writer) in turn; each flip changes one of the two.
const PHASES: [(&str, &str); 4] = [
    ("compact", "stderr"),
    ("json", "stderr"),
    ("json", "stdout"),
    ("compact", "stdout"),
];

fn console(format: &str, writer: &str) -> String {
    format!(
        "watch = false\nbackend = \"none\"\n[telemetry.console]\nenabled = true\nansi = false\nformat = \"{format}\"\nwriter = \"{writer}\"\nfilter = \"info\""
    )
}

#[test]
fn console_format_and_writer_flip_live_without_torn_or_lost_lines() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "console_format_and_writer_flip_live_without_torn_or_lost_lines",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("child starts");
    let (stdout, stderr) = read_both(out);
    let total: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CHILD_TOTAL="))
        .unwrap_or_else(|| panic!("child did not finish; stderr:\n{stderr}"))
        .parse()
        .expect("a count");
    let mut seen = HashSet::new();
    let mut formats = HashSet::new();
    for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        for line in text.lines().filter(|l| l.contains("tick")) {
            let (format, key) =
                parse(line).unwrap_or_else(|| panic!("torn or mixed line on {stream}: {line:?}"));
            formats.insert((format, stream));
            assert!(seen.insert(key), "printed twice: {line}");
        }
    }
    assert_eq!(seen.len() as u64, total, "every event printed exactly once");
    for (format, writer) in PHASES {
        assert!(
            formats.contains(&(format, writer)),
            "no {format} lines on {writer}: {formats:?}"
        );
    }
}

/// `(format, (thread, i))` of a whole line in one of the two formats.
fn parse(line: &str) -> Option<(&'static str, (u64, u64))> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
        let f = &v["fields"];
        (f["message"] == "tick").then_some(())?;
        return Some(("json", (f["thread"].as_u64()?, f["i"].as_u64()?)));
    }
    // compact: `<timestamp>  INFO console: tick thread=1 i=5`
    let rest = line.split_once(" INFO ")?.1;
    let rest = rest.strip_prefix("console: tick ")?;
    let mut fields = rest.split(' ');
    let thread = fields.next()?.strip_prefix("thread=")?.parse().ok()?;
    let i = fields.next()?.strip_prefix("i=")?.parse().ok()?;
    fields.next().is_none().then_some(("compact", (thread, i)))
}

fn read_both(mut child: std::process::Child) -> (String, String) {
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).map(|_| s)
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("child stdout");
    let status = child.wait().expect("child exits");
    let stderr = reader.join().expect("reader").expect("child stderr");
    assert!(status.success(), "child failed:\n{stderr}");
    (stdout, stderr)
}

/// The child: 4 threads log until the main thread has gone through every phase twice.
fn child() {
    let (format, writer) = PHASES[0];
    let fx = Fixture::new(&console(format, writer));
    let t = fx.start();
    let dispatch = t.dispatch().expect("own subscriber").clone();
    let stop = Arc::new(AtomicBool::new(false));
    let printed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (dispatch, stop, printed) = (dispatch.clone(), Arc::clone(&stop), Arc::clone(&printed));
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) || i < 200 {
                        tracing::info!(target: "console", thread, i, "tick");
                        printed.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                    i
                })
            })
        })
        .collect();
    for (format, writer) in PHASES.iter().cycle().skip(1).take(2 * PHASES.len()) {
        fx.write(&console(format, writer));
        let outcome = t.reload_trigger().reload_blocking();
        assert!(outcome.is_applied(), "{outcome:?}");
        // Let the threads print a few hundred lines under this phase before the next flip (a count, not a time).
        let from = printed.load(Ordering::Relaxed);
        let deadline = std::time::Instant::now() + common::PATIENCE;
        while printed.load(Ordering::Relaxed) < from + 400 {
            assert!(
                std::time::Instant::now() < deadline,
                "the workers stopped printing"
            );
            std::thread::yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let total: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    drop(t);
    println!("CHILD_TOTAL={total}");
}

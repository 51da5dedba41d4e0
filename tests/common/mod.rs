//! Helpers shared by the integration tests: a config file in a temp dir, waiting on status, reading traces.
#![allow(dead_code)]

pub mod callsite;
#[cfg(feature = "cli")]
pub mod cli;
pub mod prometheus;
pub mod receiver;
pub mod seed;
pub mod tmpfs;
pub mod vault;
pub mod venv;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use livetel::status::{SpanCounts, TelemetryStatus};
use livetel::{Builder, Telemetry};
use serde_json::Value;

/// Liveness bound for waits on the watcher: generous because this machine is shared; never a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub traces: PathBuf,
}

impl Fixture {
    /// A temp dir holding `telemetry.toml` with `body` under `[telemetry]` (from line 4) plus a trace dir inside
    /// it, set with the dotted key `local.trace_dir` (so `body` must not open a `[telemetry.local]` table).
    pub fn new(body: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("telemetry.toml");
        let traces = dir.path().join("traces");
        let f = Fixture { dir, config, traces };
        f.write(body);
        f
    }

    pub fn section(&self, body: &str) -> String {
        format!(
            "[telemetry]\nlocal.trace_dir = {:?}\nservice_name = \"test\"\n{body}\n",
            self.traces.display().to_string()
        )
    }

    /// Rewrites the file in place.
    pub fn write(&self, body: &str) {
        std::fs::write(&self.config, self.section(body)).expect("write config");
    }

    pub fn builder(&self) -> Builder {
        Builder::new(&self.config)
            .env_overrides(livetel::config::EnvOverrides::from_lookup(|_| None))
            .reload_on_sighup(false)
            .session_id("test")
    }

    pub fn start(&self) -> Telemetry {
        self.builder().build().expect("livetel starts")
    }
}

/// Waits until status satisfies `pred`; panics with the last status after [`PATIENCE`].
pub fn wait_status(
    t: &Telemetry,
    what: &str,
    pred: impl Fn(&TelemetryStatus) -> bool,
) -> Arc<TelemetryStatus> {
    let rx = t.status();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let s = rx.borrow().clone();
        if pred(&s) {
            return s;
        }
        if Instant::now() > deadline {
            panic!(
                "status never showed {what}; last: {}",
                serde_json::to_string_pretty(&*s).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until every span started so far is exported, dropped or sampled out (none open, queued or in an
/// export); returns the counts. Panics after [`PATIENCE`].
pub fn wait_settled(t: &Telemetry) -> SpanCounts {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let c = t.counters();
        if c.in_flight() == 0 {
            return c;
        }
        assert!(Instant::now() < deadline, "spans still in flight: {c:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The app: a thread of its own makes `n` spans `app.op` (fields `phase` and `i`) back to back, under `t`'s
/// subscriber. Returns once all `n` are made. Panics if they are not within [`PATIENCE`]: a liveness bound,
/// not a speed. With a collector that answers nothing, an app thread that has not finished is one waiting on
/// the exporter.
pub fn app_makes(t: &Telemetry, phase: u64, n: u64) {
    let d = t.dispatch().expect("own subscriber").clone();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&d, || {
            for i in 0..n {
                tracing::info_span!("app.op", phase, i).in_scope(|| {});
            }
        });
        let _ = done.send(());
    });
    if finished.recv_timeout(PATIENCE).is_err() {
        panic!(
            "phase {phase}: the app did not finish its {n} spans within {PATIENCE:?}: \
             an app call is waiting on something (the exporter?); counters {:?}",
            t.counters()
        );
    }
}

/// Runs `future` to completion on a current-thread Tokio runtime of its own, under `dispatch` (the default
/// dispatcher wherever the future and the tasks it spawns run).
pub fn block_on_under<F: std::future::Future>(dispatch: &tracing::Dispatch, future: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tracing::dispatcher::with_default(dispatch, || rt.block_on(future))
}

/// livetel alone (its own subscriber): the guard and its dispatcher.
pub fn alone(f: &Fixture) -> (Telemetry, tracing::Dispatch) {
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    (t, d)
}

/// livetel as a layer of the user's own stack: the guard and the stack's dispatcher.
pub fn own_stack(f: &Fixture) -> (Telemetry, tracing::Dispatch) {
    use tracing_subscriber::prelude::*;
    let (layer, t) = f.builder().build_layer().expect("starts");
    (
        t,
        tracing::Dispatch::new(tracing_subscriber::registry().with(layer)),
    )
}

/// The one item of `items` that `pred` takes; panics naming `what` when there is not exactly one.
pub fn find_one<'a>(items: &'a [Value], pred: impl Fn(&Value) -> bool, what: &str) -> &'a Value {
    let found: Vec<&Value> = items.iter().filter(|s| pred(s)).collect();
    assert_eq!(found.len(), 1, "one {what}: {items:#?}");
    found[0]
}

/// Every `.json` file in `dir`, parsed (panics on a file that is not complete JSON).
pub fn trace_files(dir: &Path) -> Vec<(PathBuf, Vec<Value>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p).expect("read trace");
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{} is not complete JSON: {err}", p.display()));
            let events = v
                .as_array()
                .unwrap_or_else(|| panic!("{} is not a JSON array", p.display()))
                .clone();
            out.push((p, events));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The complete (`X`) span events of a file.
pub fn spans(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["ph"] == "X").collect()
}

/// Span counts by name over every file in `dir`.
pub fn span_names(dir: &Path) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (_, events) in trace_files(dir) {
        for s in spans(&events) {
            *m.entry(s["name"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
    }
    m
}

/// Checks what Perfetto needs of a Chrome JSON trace: every event has ph/pid/tid/ts (metadata aside), durations
/// are non-negative, and complete events on one thread nest (a child lies within its parent).
pub fn assert_well_formed(path: &Path, events: &[Value]) {
    let mut by_tid: HashMap<u64, Vec<(f64, f64)>> = HashMap::new();
    for e in events {
        let ph = e["ph"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: event without ph: {e}", path.display()));
        assert!(
            e["pid"].is_u64() && e["tid"].is_u64(),
            "{}: event without pid/tid: {e}",
            path.display()
        );
        if ph == "X" {
            let ts = e["ts"].as_f64().expect("ts");
            let dur = e["dur"].as_f64().expect("dur");
            assert!(dur >= 0.0);
            by_tid
                .entry(e["tid"].as_u64().unwrap_or(0))
                .or_default()
                .push((ts, ts + dur));
        }
    }
    for (tid, mut slices) in by_tid {
        // Sort by start, longer first; then every slice must end within the innermost open slice.
        slices.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut stack: Vec<f64> = Vec::new();
        for (start, end) in slices {
            while stack.last().is_some_and(|top| *top <= start) {
                stack.pop();
            }
            if let Some(top) = stack.last() {
                assert!(
                    end <= *top + 0.001,
                    "{}: tid {tid}: slice [{start},{end}] overlaps its parent ending {top}",
                    path.display()
                );
            }
            stack.push(end);
        }
    }
}

/// Runs `tree(seq)` under `tel`'s own subscriber until `stop`, each with a fresh `seq` (`thread << 32 | n`), one
/// every half millisecond, and waits while more than `max_backlog` spans are unwritten: a paced producer for
/// tests about flips, not overload.
pub fn paced_trees(
    thread: u64,
    tel: &Telemetry,
    stop: &std::sync::atomic::AtomicBool,
    max_backlog: u64,
    mut tree: impl FnMut(u64),
) {
    use std::sync::atomic::Ordering::SeqCst;
    let dispatch = tel.dispatch().expect("own subscriber").clone();
    tracing::dispatcher::with_default(&dispatch, || {
        let mut n = 0u64;
        while !stop.load(SeqCst) {
            while tel.counters().in_flight() > max_backlog && !stop.load(SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            tree((thread << 32) | n);
            n += 1;
            std::thread::sleep(Duration::from_micros(500));
        }
    });
}

/// An example's binary: `cargo test` builds the examples next to the test binaries, target/<profile>/examples/.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    profile_dir.join("examples").join(name)
}

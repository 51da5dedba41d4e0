//! The OTLP receiver peer (tests/otlp_receiver/receiver.py) from a test: started on free loopback ports,
//! stopped when dropped. Its Python venv is created on first use, so `cargo test` works on a fresh machine.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Pinned so a test run means the same thing every time.
pub const PY_PACKAGES: &[&str] = &["opentelemetry-proto==1.45.2", "grpcio==1.85.1"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python, created with the pinned packages if missing (`LIVETEL_TEST_PYTHON` overrides).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("LIVETEL_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    super::venv::ensure("otlp-venv", PY_PACKAGES).join("python")
}

/// Fault modes of the receiver.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer every request this late.
    pub delay_ms: u64,
    /// Answer every k-th request with an error (UNAVAILABLE / 503), without recording it.
    pub fail_every: u64,
    /// Hold every request, unanswered and unrecorded, until [`Receiver::release`].
    pub stall: bool,
}

/// Export requests the receiver has seen: `received` counts arrivals, `answered` the answers it has begun to
/// send (success or error). While it stalls, `received - answered` requests are held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    pub received: u64,
    pub answered: u64,
}

pub struct Receiver {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub grpc_port: u16,
    pub http_port: u16,
    out: PathBuf,
    logs_out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    pub fn start() -> Receiver {
        Self::start_with(Faults::default(), None)
    }

    /// Starts a receiver; `ports` reuses given ports (a restart after a kill).
    pub fn start_with(faults: Faults, ports: Option<(u16, u16)>) -> Receiver {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (mut rx, line) = Self::spawn(&faults, ports, false);
            if rx.ready(&line) {
                return rx;
            }
            rx.kill();
            // A restart on the same ports can race the old socket's release: try again briefly.
            assert!(
                ports.is_some() && Instant::now() < deadline,
                "the receiver did not start: {line:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Loads the receiver (Python and grpc: the slow part of a start) without binding `ports`: the collector
    /// is down, connections are refused, until [`Receiver::go`] binds them, which takes milliseconds.
    pub fn loaded(faults: Faults, ports: (u16, u16)) -> Receiver {
        let (rx, line) = Self::spawn(&faults, Some(ports), true);
        assert_eq!(line.trim(), "LOADED", "the receiver did not load");
        rx
    }

    /// Binds the ports of a [`Receiver::loaded`] receiver: the collector is up.
    pub fn go(&mut self) {
        self.command("go");
        let mut line = String::new();
        let _ = self.stdout.read_line(&mut line);
        assert!(self.ready(&line), "the receiver did not bind its ports: {line:?}");
    }

    fn spawn(faults: &Faults, ports: Option<(u16, u16)>, deferred: bool) -> (Receiver, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("spans.jsonl");
        let logs_out = dir.path().join("logs.jsonl");
        let (g, h) = ports.unwrap_or((0, 0));
        let mut child = Command::new(python())
            .arg(root().join("tests/otlp_receiver/receiver.py"))
            .arg("--out")
            .arg(&out)
            .arg("--logs-out")
            .arg(&logs_out)
            .args(["--grpc-port", &g.to_string(), "--http-port", &h.to_string()])
            .args([
                "--delay-ms",
                &faults.delay_ms.to_string(),
                "--fail-every",
                &faults.fail_every.to_string(),
            ])
            .args(faults.stall.then_some("--stall"))
            .args(deferred.then_some("--bind-on-go"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OTLP receiver");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let rx = Receiver {
            child,
            stdin,
            stdout,
            grpc_port: g,
            http_port: h,
            out,
            logs_out,
            _dir: dir,
        };
        (rx, line)
    }

    /// Takes the ports from a `READY <grpc> <http>` line; false for anything else.
    fn ready(&mut self, line: &str) -> bool {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let ["READY", gp, hp] = parts[..] {
            self.grpc_port = gp.parse().expect("port");
            self.http_port = hp.parse().expect("port");
            return true;
        }
        false
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// A `[telemetry]` body that exports to this receiver over gRPC, in batches every 20 ms.
    pub fn otlp_body(&self) -> String {
        format!(
            "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{}\"\n[telemetry.otlp.batch]\nscheduled_delay_ms = 20",
            self.grpc_endpoint()
        )
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Value> {
        json_lines(&self.out)
    }

    /// Waits until at least `n` spans arrived; returns them (panics after the patience runs out).
    pub fn wait_spans(&self, n: usize) -> Vec<Value> {
        wait_lines(&self.out, n, "spans")
    }

    /// Every log record received so far: `trace_id` and `span_id` (hex, empty outside spans), `flags`,
    /// `severity_number`, `severity_text`, `body`, `event_name`, `time`, `attributes`, `resource`, `scope` (the
    /// event's target), `protocol`, `headers`.
    pub fn logs(&self) -> Vec<Value> {
        json_lines(&self.logs_out)
    }

    /// Waits until at least `n` log records arrived; returns them (panics after the patience runs out).
    pub fn wait_logs(&self, n: usize) -> Vec<Value> {
        wait_lines(&self.logs_out, n, "log records")
    }

    /// Request counts so far (from the receiver's `<out>.requests`, rewritten atomically on every change).
    pub fn requests(&self) -> Requests {
        let mut path = self.out.clone().into_os_string();
        path.push(".requests");
        let v: Value = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        Requests {
            received: v["received"].as_u64().unwrap_or(0),
            answered: v["answered"].as_u64().unwrap_or(0),
        }
    }

    /// Waits until at least `n` requests arrived (panics after the patience runs out).
    pub fn wait_requests(&self, n: u64) -> Requests {
        let deadline = Instant::now() + super::PATIENCE;
        loop {
            let r = self.requests();
            if r.received >= n {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {r:?}, waited for {n} requests"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Answers every held request and stops holding new ones.
    pub fn release(&mut self) {
        self.command("release");
    }

    /// Holds every request from now on, until [`Receiver::release`].
    pub fn stall(&mut self) {
        self.command("stall");
    }

    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .expect("the receiver reads its stdin");
    }

    /// Kills the receiver (a collector crash); the spans file stays readable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON lines the receiver wrote to `path` so far.
fn json_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until `path` holds at least `n` lines of `what`; returns them (panics after the patience runs out).
fn wait_lines(path: &std::path::Path, n: usize, what: &str) -> Vec<Value> {
    let deadline = Instant::now() + super::PATIENCE;
    loop {
        let lines = json_lines(path);
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "received {} {what}, waited for {n}",
            lines.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}

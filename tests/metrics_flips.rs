//! A real Prometheus scrapes the demo agent's `/metrics` while its backend flips 20 times (local, none, OTLP to
//! a closed port, in turn, each by SIGHUP): no livetel counter or histogram series ever resets
//! (`resets(...[1m])` is 0 for every one), no scrape fails (`up` stays 1), and `histogram_quantile(0.99, ...)`
//! of `llm.chat` has a value. The demo and Prometheus are stopped here.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::prometheus::Prometheus;
use common::{Fixture, PATIENCE};

const FLIPS: usize = 20;

/// Stops the demo (SIGKILL) if the test fails before it ends it.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn body(backend: &str, closed: u16) -> String {
    format!(
        "watch = false\nbackend = {backend}\nsample_rate = 0.5\notlp.endpoint = \"http://127.0.0.1:{closed}\"\n\
         [telemetry.metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n"
    )
}

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("its address").port()
}

/// The demo's status lines, read on a thread of their own.
fn status_lines(demo: &mut Demo) -> mpsc::Receiver<String> {
    let stdout = demo.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(lines: &mpsc::Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|e| panic!("no status line for {what}: {e}"))
}

/// Waits until `promql` answers a non-empty vector that `done` accepts; returns it.
fn wait_query(
    prometheus: &Prometheus,
    promql: &str,
    done: impl Fn(&[(serde_json::Value, f64)]) -> bool,
) -> Vec<(serde_json::Value, f64)> {
    let deadline = Instant::now() + PATIENCE * 3;
    loop {
        let answer = prometheus.query(promql).unwrap_or_default();
        if !answer.is_empty() && done(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "{promql}: {answer:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn twenty_backend_flips_reset_no_series_and_leave_no_gap() {
    let closed = closed_port();
    let backends = ["\"local\"", "\"none\"", "\"otlp\""];
    let f = Fixture::new(&body(backends[0], closed));
    let mut demo = Demo(
        Command::new(common::example_binary("agent"))
            .arg("--config")
            .arg(&f.config)
            .args(["--threads", "2", "--rate", "100", "--duration", "300"])
            .env_remove("OTEL_SDK_DISABLED")
            .env_remove("OTEL_TRACES_SAMPLER")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run the agent example (built by cargo test)"),
    );
    let lines = status_lines(&mut demo);
    let first = next_line(&lines, "start");
    let addr: SocketAddr = first
        .split(" metrics=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the status line names the /metrics address: {first}"));
    let prometheus = Prometheus::start(f.dir.path(), addr, "200ms");
    wait_query(&prometheus, "up", |v| v.iter().all(|(_, up)| *up == 1.0));

    let pid = demo.0.id().to_string();
    for flip in 1..=FLIPS {
        let backend = backends[flip % backends.len()];
        f.write(&body(backend, closed));
        let sent = Command::new("kill").args(["-s", "HUP", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGHUP to the demo");
        let line = std::iter::repeat_with(|| next_line(&lines, "a flip"))
            .find(|l| l.contains("changed=") && !l.contains("changed=-"))
            .expect("a status line");
        assert!(
            line.contains("changed=backend") && !line.contains("ERROR"),
            "flip {flip}: {line}"
        );
        // Let a scrape or two land between flips.
        std::thread::sleep(Duration::from_millis(400));
    }
    // Every flip applied, as Prometheus last scraped it.
    wait_query(
        &prometheus,
        "sum(livetel_reloads_total{outcome=\"applied\"})",
        |v| v[0].1 >= FLIPS as f64,
    );

    // Every counter and histogram series livetel serves (`resets` drops the name, so one query per metric).
    let names = prometheus
        .api("/api/v1/label/__name__/values")
        .expect("metric names");
    let names: Vec<&str> = names["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| n.starts_with("livetel_"))
        .filter(|n| {
            ["_total", "_count", "_sum", "_bucket"]
                .iter()
                .any(|s| n.ends_with(s))
        })
        .collect();
    assert!(
        names.len() > 5,
        "livetel's counters and histograms were scraped: {names:?}"
    );
    for name in &names {
        let resets = wait_query(&prometheus, &format!("resets({name}[1m])"), |_| true);
        let reset: Vec<_> = resets.iter().filter(|(_, n)| *n != 0.0).collect();
        assert!(reset.is_empty(), "{name} reset over {FLIPS} flips: {reset:?}");
    }
    let gaps = wait_query(&prometheus, "min_over_time(up[1m])", |_| true);
    assert!(gaps.iter().all(|(_, up)| *up == 1.0), "a scrape failed: {gaps:?}");
    let p99 = wait_query(
        &prometheus,
        "histogram_quantile(0.99, sum by (le) (rate(livetel_span_duration_seconds_bucket{span_name=\"llm.chat\"}[1m])))",
        |_| true,
    );
    assert!(p99[0].1.is_finite() && p99[0].1 > 0.0, "p99 of llm.chat: {p99:?}");

    let stopped = Command::new("kill").args(["-s", "TERM", &pid]).status();
    assert!(stopped.is_ok_and(|s| s.success()));
    let exit = demo.0.wait().expect("the demo exits");
    assert!(exit.success(), "{exit:?}");
}

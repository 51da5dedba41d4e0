//! A real Prometheus (Debian's `prometheus` package, installed by `.ci/run`) on a loopback port of its own,
//! scraping one target, stopped when dropped; and its HTTP API.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running Prometheus, killed and reaped when dropped.
pub struct Prometheus {
    child: Child,
    pub port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus with its config and storage under `dir`, scraping `target` every `interval` (a
    /// Prometheus duration such as `1s` or `200ms`), exemplar storage on.
    pub fn start(dir: &Path, target: SocketAddr, interval: &str) -> Prometheus {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            l.local_addr().expect("its address").port()
        };
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\nscrape_configs:\n  - job_name: livetel\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("prometheus config");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus runs (.ci/run installs the `prometheus` package)");
        Prometheus { child, port }
    }

    /// `GET path` of its HTTP API, as JSON; `None` while it is not up.
    pub fn api(&self, path: &str) -> Option<serde_json::Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        // HTTP/1.0: a large answer comes whole, not chunked.
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut raw = String::new();
        s.read_to_string(&mut raw).ok()?;
        let (_, body) = raw.split_once("\r\n\r\n")?;
        serde_json::from_str(body).ok()
    }

    /// The instant vector a PromQL query answers: each series' labels and value.
    pub fn query(&self, promql: &str) -> Option<Vec<(serde_json::Value, f64)>> {
        let encoded: String = percent_encode(promql);
        let v = self.api(&format!("/api/v1/query?query={encoded}"))?;
        let result = v["data"]["result"].as_array()?;
        Some(
            result
                .iter()
                .map(|r| {
                    let value = r["value"][1].as_str().and_then(|s| s.parse().ok());
                    (r["metric"].clone(), value.unwrap_or(f64::NAN))
                })
                .collect(),
        )
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for a query string.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `promtool check metrics`: parses, and no lint problem.
pub fn promtool(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (.ci/run installs the `prometheus` package)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(body.as_bytes()).expect("feed promtool");
    drop(stdin);
    let out = child.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{body}"
    );
}

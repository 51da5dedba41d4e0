//! P6_profiled: the demo agent with every profiling feature on — allocation counts and CPU time per span,
//! process metrics each second, CPU profiles at 100 Hz with span names and ids pushed to a Pyroscope-style
//! `/ingest` on loopback — against the demo built without `profiling` (goal ≥ 0.96 turns/s).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::agent::{cargo_build, turns_per_sec};
use crate::measure::{Figure, ab};

/// Builds the demo with `profiling-alloc` and `profiling-pyroscope` (its `#[global_allocator]` counts) as
/// `agent-profiled`; call before the default build, which must be the last (`agent` is P6's binary).
pub fn build_profiled() -> Result<PathBuf, String> {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let examples = target.join("release").join("examples");
    cargo_build(&["--features", "profiling-alloc,profiling-pyroscope"])?;
    let profiled = examples.join("agent-profiled");
    std::fs::copy(examples.join("agent"), &profiled).map_err(|e| format!("copy: {e}"))?;
    Ok(profiled)
}

/// A Pyroscope-style `/ingest` that answers 200 to every push (a thread of its own, for the bench's life).
fn ingest() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    format!("http://{addr}")
}

/// P6_profiled: turns/s of the demo with every profiling feature on / built without `profiling`.
pub fn profiled_throughput(profiled: &Path, plain: &Path, rounds: usize, secs: f64) -> Figure {
    let dir = tempfile::tempdir().expect("temp dir");
    let traces = dir.path().join("traces").display().to_string();
    let common = format!(
        "[telemetry]\nwatch = false\nbackend = \"local\"\n[telemetry.local]\ntrace_dir = {traces:?}\n\
         [telemetry.console]\nenabled = false\n"
    );
    let on = dir.path().join("profiled.toml");
    let profiling = format!(
        "[telemetry.profiling]\nalloc = true\ncpu_time = true\nsystem_metrics_interval_secs = 1\n\
         pyroscope_endpoint = \"{}\"\npyroscope_sample_hz = 100\nspan_labels = \"name_and_id\"\n",
        ingest()
    );
    std::fs::write(&on, format!("{common}{profiling}")).expect("config");
    let off = dir.path().join("plain.toml");
    std::fs::write(&off, &common).expect("config");
    let m = ab(
        rounds,
        || turns_per_sec(profiled, &on, secs),
        || turns_per_sec(plain, &off, secs),
    );
    Figure::paired(
        "P6_profiled",
        m,
        "turns/s",
        ">= 0.96",
        "every profiling feature on (alloc, cpu_time, process metrics, Pyroscope at 100 Hz with span ids) / built without `profiling`, local backend".into(),
    )
}

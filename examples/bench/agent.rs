//! Figures that run livetel as users do: the demo agent's throughput instrumented vs uninstrumented (P6), and
//! how long a saved config takes to go live through the file watcher (P4).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::measure::{Figure, ab, percentile};
use crate::sink::Sink;
use crate::stacks::Livetel;

/// P4: file write → status shows the new generation, with the default debounce (100 ms).
pub fn reload_latency(writes: usize) -> Vec<Figure> {
    let l = Livetel::start("backend = \"local\"", true);
    let status = l.tel.status();
    let mut ms = Vec::with_capacity(writes);
    for k in 0..writes {
        let before = status.borrow().generation;
        let t = Instant::now();
        l.write(&format!(
            "backend = \"local\"\nsample_rate = {}",
            if k % 2 == 0 { 0.5 } else { 0.75 }
        ));
        while status.borrow().generation == before {
            assert!(t.elapsed() < Duration::from_secs(10), "a write never went live");
            std::thread::sleep(Duration::from_micros(200));
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(20));
    }
    let note = format!("{writes} writes, debounce 100 ms");
    vec![
        Figure::absolute(
            "P4_reload_p50_ms",
            percentile(ms.clone(), 0.5),
            "ms",
            "-",
            note.clone(),
        ),
        Figure::absolute("P4_reload_p99_ms", percentile(ms, 0.99), "ms", "<= 150", note),
    ]
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn cargo_build(extra: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root())
        .args(["build", "--release", "--quiet", "--example", "agent"])
        .args(extra)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo build {extra:?} failed"))
}

/// Builds the demo without and with instrumentation; returns (instrumented, uninstrumented) binaries.
pub fn build_agents() -> Result<(PathBuf, PathBuf), String> {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root().join("target"), PathBuf::from);
    let bin = target.join("release").join("examples").join("agent");
    let plain = target
        .join("release")
        .join("examples")
        .join("agent-uninstrumented");
    cargo_build(&["--no-default-features"])?;
    std::fs::copy(&bin, &plain).map_err(|e| format!("copy: {e}"))?;
    cargo_build(&[])?;
    Ok((bin, plain))
}

/// [`build_agents`], and the demo with every profiling feature (`agent-profiled`, built before the default
/// build so that `agent` stays P6's binary).
pub fn build_agents_profiled() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let profiled = crate::profiled::build_profiled()?;
    let (bin, plain) = build_agents()?;
    Ok((bin, plain, profiled))
}

/// Turns per second of one demo run.
pub fn turns_per_sec(agent: &Path, config: &Path, secs: f64) -> f64 {
    let out = Command::new(agent)
        .arg("--config")
        .arg(config)
        .args(["--rate", "0", "--threads", "1", "--duration", &secs.to_string()])
        .output();
    let Ok(out) = out else { return f64::NAN };
    let summary = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
    v["summary"]["turns"].as_f64().unwrap_or(f64::NAN) / secs
}

/// P6: demo-agent turns/s, instrumented build / uninstrumented build, under a local and an OTLP config.
pub fn agent_throughput(agents: &(PathBuf, PathBuf), sink: &Sink, rounds: usize, secs: f64) -> Vec<Figure> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = Vec::new();
    for (name, body, goal) in [
        ("P6_local", "backend = \"local\"".to_owned(), ">= 0.97"),
        (
            "P6_otlp",
            format!(
                "backend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{}\"",
                sink.endpoint
            ),
            ">= 0.95",
        ),
    ] {
        let config = dir.path().join(format!("{name}.toml"));
        let traces = dir.path().join("traces").display().to_string();
        // The console off, as before it existed: P6 is the cost of the spans; the console's is P1_event_console.
        let text = format!(
            "[telemetry]\nwatch = false\n{body}\n[telemetry.local]\ntrace_dir = {traces:?}\n[telemetry.console]\nenabled = false\n"
        );
        std::fs::write(&config, text).expect("config");
        let m = ab(
            rounds,
            || turns_per_sec(&agents.0, &config, secs),
            || turns_per_sec(&agents.1, &config, secs),
        );
        out.push(Figure::paired(
            name,
            m,
            "turns/s",
            goal,
            "instrumented build / build without `profiling`".into(),
        ));
    }
    out
}

//! Signals and panics during heavy tracing: chrome files left on disk are complete JSON whose events nest, and
//! OTLP spans accepted before a signal are flushed within the shutdown time limit.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::receiver::Receiver;
use common::seed::Rng;
use common::{assert_well_formed, span_names, trace_files, Fixture};
use serde_json::Value;

fn agent() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .join("examples")
        .join("agent")
}

/// Runs the demo with injected panics, stops it with `signal` after `after`, returns (exit ok, summary).
fn run(f: &Fixture, signal: Option<&str>, after: Duration, extra: &[&str]) -> (bool, Value) {
    let child = Command::new(agent())
        .arg("--config")
        .arg(&f.config)
        .args(["--rate", "0", "--threads", "2", "--panic-rate", "0.02"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the demo");
    std::thread::sleep(after);
    if let Some(sig) = signal {
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-s", sig, &pid])
            .status()
            .is_ok_and(|s| s.success()));
    }
    let out = child.wait_with_output().expect("demo exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let notes: Vec<&str> = stderr.lines().filter(|l| !l.contains("injected panic")).collect();
    if !out.status.success() {
        eprintln!("demo exited {:?}: {}", out.status, notes.join("\n"));
    }
    let summary = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (out.status.success(), summary)
}

fn files_complete(f: &Fixture) -> usize {
    let files = trace_files(&f.traces);
    for (path, events) in &files {
        assert_well_formed(path, events);
    }
    files.len()
}

#[test]
fn sigterm_and_sigint_during_heavy_tracing_with_panicking_tasks() {
    let mut rng = Rng::from_env("faults_signals");
    for sig in ["TERM", "INT"] {
        let f = Fixture::new("backend = \"local\"");
        let after = Duration::from_millis(500 + rng.below(1000));
        let (ok, summary) = run(&f, Some(sig), after, &["--work-scale", "0.05"]);
        assert!(ok, "SIG{sig}: the demo exits cleanly");
        let s = &summary["summary"];
        let crashed = s["crashed_tasks"].as_u64().unwrap_or(0);
        assert!(crashed > 0, "panics were injected and survived: {summary}");
        let files = files_complete(&f);
        let total: usize = span_names(&f.traces).values().sum();
        assert_eq!(
            total as u64,
            s["spans_created"].as_u64().unwrap_or(0),
            "SIG{sig}: every span on disk"
        );
        println!("SIG{sig} after {after:?}: {crashed} crashed tasks survived, {total} spans in {files} complete files");
    }
}

#[test]
fn panic_on_the_main_thread_leaves_complete_files() {
    let f = Fixture::new("backend = \"local\"");
    let (ok, _) = run(
        &f,
        None,
        Duration::ZERO,
        &["--work-scale", "0.05", "--panic-main-after", "1"],
    );
    assert!(!ok, "the injected main-thread panic ends the process");
    let files = files_complete(&f);
    let spans: usize = span_names(&f.traces).values().sum();
    assert!(
        files == 1 && spans > 0,
        "the file written so far loads: {spans} spans"
    );
    println!("main-thread panic: {spans} spans in a complete file");
}

#[test]
fn otlp_spans_accepted_before_sigterm_are_flushed() {
    let rx = Receiver::start();
    let f = Fixture::new(&format!(
        "backend = \"otlp\"\notlp_endpoint = \"{}\"\n[telemetry.otlp.batch]\nmax_queue_size = 65536\nscheduled_delay_ms = 5000",
        rx.grpc_endpoint()
    ));
    let t0 = Instant::now();
    let (ok, summary) = run(
        &f,
        Some("TERM"),
        Duration::from_millis(800),
        &["--work-scale", "2"],
    );
    let took = t0.elapsed();
    assert!(ok);
    let created = summary["summary"]["spans_created"].as_u64().unwrap_or(0);
    let got = rx.wait_spans(created as usize).len() as u64;
    // The batch delay is 5 s: everything arrived because shutdown flushed it, not because a timer fired.
    assert_eq!(got, created, "all accepted spans flushed at SIGTERM");
    assert!(
        took < Duration::from_secs(8),
        "shutdown within its limit: {took:?}"
    );
    println!("SIGTERM with OTLP: {created} spans accepted, {got} received, process gone after {took:?}");
}

#[test]
fn sigkill_leaves_a_complete_file() {
    // No handler, no guard drop, no flush: the file is complete because every batch ends with its bracket.
    let f = Fixture::new("backend = \"local\"");
    let mut rng = Rng::from_env("faults_sigkill");
    let after = Duration::from_millis(400 + rng.below(800));
    let (ok, _) = run(&f, Some("KILL"), after, &["--work-scale", "0.05"]);
    assert!(!ok);
    let files = files_complete(&f);
    let spans: usize = span_names(&f.traces).values().sum();
    println!("SIGKILL after {after:?}: {spans} spans in {files} complete file(s)");
    assert!(files == 1 && spans > 0);
}

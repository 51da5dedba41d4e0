//! The user-facing examples, run as a user runs them (binaries `cargo test` builds): each exits 0 and what it
//! says it sends arrives — spans at the real OTLP receiver with the secret headers the custom vault gave, or in a
//! complete Chrome trace file with the span names the example documents.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::receiver::Receiver;
use common::{span_names, trace_files};

/// Runs an example in a clean environment with `TMPDIR` set to `tmp`; returns its stdout (panics on failure).
fn run(name: &str, tmp: &Path, env: &[(&str, &str)]) -> String {
    let out = Command::new(common::example_binary(name))
        .env_clear()
        .env("TMPDIR", tmp)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run example {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The span names of the trace file an example printed (`... trace file ...: PATH` or `Some("PATH")`).
fn names_in_printed_trace(stdout: &str) -> HashMap<String, usize> {
    let path = stdout
        .lines()
        .find(|l| l.contains("trace file"))
        .and_then(|l| l.split(['"', ' ']).find(|w| w.ends_with(".json")))
        .unwrap_or_else(|| panic!("no trace file printed:\n{stdout}"));
    let dir = Path::new(path).parent().expect("trace dir");
    assert_eq!(
        trace_files(dir).len(),
        1,
        "one complete trace file in {}",
        dir.display()
    );
    span_names(dir)
}

#[test]
fn otlp_quickstart_exports_every_span_to_the_collector() {
    let rx = Receiver::start();
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = rx.grpc_endpoint();
    let stdout = run(
        "otlp_quickstart",
        tmp.path(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
    assert!(
        stdout.contains("spans started 10, exported 10, dropped 0"),
        "{stdout}"
    );
    let spans = rx.wait_spans(10);
    let orders = spans.iter().filter(|s| s["name"] == "order.process").count();
    assert_eq!(orders, 5, "{spans:?}");
    assert!(
        spans
            .iter()
            .all(|s| s["resource"]["service.name"] == "otlp-quickstart"),
        "{spans:?}"
    );
}

#[test]
fn custom_vault_sends_the_rotated_secret_after_the_reload() {
    let rx = Receiver::start();
    let tmp = tempfile::tempdir().unwrap();
    let endpoint = rx.grpc_endpoint();
    let stdout = run(
        "custom_vault",
        tmp.path(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
    assert!(
        stdout.contains(r#"headers sent: Some(["authorization", "x-tenant"])"#),
        "{stdout}"
    );
    assert!(stdout.contains("after rotation: Applied"), "{stdout}");
    assert!(
        !stdout.contains("token\""),
        "a secret value was printed: {stdout}"
    );
    let spans = rx.wait_spans(2);
    let auth = |name: &str| {
        let span = spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {spans:?}"));
        span["headers"]["authorization"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(auth("with.first.token"), "Bearer first-token");
    assert_eq!(auth("with.second.token"), "Bearer second-token");
}

#[test]
fn own_stack_records_every_step_beside_the_users_console() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = run("own_stack", tmp.path(), &[]);
    let names = names_in_printed_trace(&stdout);
    assert_eq!(names.get("job.step"), Some(&3), "{names:?}");
}

#[cfg(feature = "http")]
#[test]
fn axum_service_records_server_and_client_spans_per_route() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = run("axum_service", tmp.path(), &[]);
    assert_eq!(stdout.matches("hello, ").count(), 3, "{stdout}");
    let names = names_in_printed_trace(&stdout);
    for (name, n) in [
        ("demo.client", 3),
        ("GET /hello/{name}", 3),
        ("GET /greeting/{name}", 3),
        ("GET", 6),
    ] {
        assert_eq!(names.get(name), Some(&n), "{name}: {names:?}");
    }
}

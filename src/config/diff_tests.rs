//! Unit tests of [`super::ConfigDiff`].

use super::ConfigDiff;
use crate::config::{Backend, ConsoleFormat, TelemetryConfig, parse_str};

fn section(body: &str) -> TelemetryConfig {
    parse_str("t.toml", &format!("[telemetry]\n{body}\n")).unwrap()
}

/// The keys an OTLP sink is built from, as its kind declares them (an example for these tests).
const OTLP_SINK: &[&str] = &["otlp", "service_name", "service_version", "resource"];
/// The keys a local sink is built from.
const LOCAL_SINK: &[&str] = &["local", "service_name"];

fn diff(before: &str, after: &str) -> ConfigDiff {
    ConfigDiff::between(Some(&section(before)), &section(after))
}

#[test]
fn a_sample_rate_edit_is_the_sampling_probability() {
    let d = diff("sample_rate = 1.0", "sample_rate = 0.5");
    assert_eq!(d.changed(), ["sampling.probability"]);
    assert!(d.touches("sampling") && !d.touches("sample_rate"));
    assert!(d.to_add().is_empty() && d.to_remove().is_empty() && !d.touches_any(OTLP_SINK));
    // Written in its long form, it is the same key.
    let d = diff("sample_rate = 1.0", "sampling.probability = 0.5");
    assert_eq!(d.changed(), ["sampling.probability"]);
}

#[test]
fn an_endpoint_edit_changes_the_otlp_sink() {
    let d = diff(
        "backend = \"otlp\"\notlp.endpoint = \"http://a:4317\"",
        "backend = \"otlp\"\notlp.endpoint = \"http://b:4317\"",
    );
    assert_eq!(d.changed(), ["otlp.endpoint"]);
    assert_eq!(d.to_keep(), [Backend::Otlp]);
    assert!(d.touches_any(OTLP_SINK));
    assert!(d.touches("otlp") && !d.touches("otlp.endpoint.x"));
    // Under `local` the same edit is a changed key, and no sink is concerned.
    let d = diff(
        "otlp.endpoint = \"http://a:4317\"",
        "otlp.endpoint = \"http://b:4317\"",
    );
    assert_eq!(d.changed(), ["otlp.endpoint"]);
    assert_eq!(d.to_keep(), [Backend::Local]);
    assert!(!d.touches_any(LOCAL_SINK));
}

#[test]
fn a_backend_added_to_the_list() {
    let d = diff("backend = \"local\"", "backend = [\"local\", \"otlp\"]");
    assert_eq!(d.changed(), ["backend"]);
    assert_eq!(d.to_add(), [Backend::Otlp]);
    assert_eq!(d.to_keep(), [Backend::Local]);
    assert!(d.to_remove().is_empty() && !d.touches_any(LOCAL_SINK));
    let back = diff("backend = [\"local\", \"otlp\"]", "backend = \"local\"");
    assert_eq!(back.to_remove(), [Backend::Otlp]);
}

#[test]
fn disabling_removes_every_backend() {
    let d = diff(
        "backend = [\"local\", \"otlp\"]",
        "backend = [\"local\", \"otlp\"]\nenabled = false",
    );
    assert_eq!(d.changed(), ["enabled"]);
    assert_eq!(d.to_remove(), [Backend::Local, Backend::Otlp]);
}

#[test]
fn a_console_format_change() {
    let d = diff("console.format = \"compact\"", "console.format = \"json\"");
    assert_eq!(d.changed(), ["console.format"]);
    assert!(!d.touches_any(LOCAL_SINK));
    let mut next = section("");
    next.console.format = ConsoleFormat::Pretty;
    assert!(ConfigDiff::between(Some(&section("")), &next).touches("console"));
}

#[test]
fn identical_configs_make_an_empty_diff() {
    let body =
        "backend = [\"local\", \"otlp\"]\nsample_rate = 0.3\nresource.\"deployment.environment\" = \"prod\"";
    let d = diff(body, body);
    assert!(d.is_empty(), "{d:?}");
    assert!(d.changed().is_empty() && d.to_add().is_empty() && d.to_keep().len() == 2);
    assert!(d.to_remove().is_empty() && !d.touches("backend"));
}

#[test]
fn no_running_config_adds_every_backend() {
    let next = section("backend = [\"otlp\", \"local\"]");
    let d = ConfigDiff::between(None, &next);
    assert_eq!(d.to_add(), [Backend::Otlp, Backend::Local]);
    assert!(d.to_keep().is_empty() && d.to_remove().is_empty());
    // Every key is new: the leaves and the lists, sorted, the probability under its canonical name.
    for key in [
        "backend",
        "enabled",
        "otlp.batch.max_queue_size",
        "propagators",
        "sampling.probability",
    ] {
        assert!(d.changed().iter().any(|k| k == key), "{key} in {:?}", d.changed());
    }
    assert!(
        d.changed().windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    assert!(!d.changed().iter().any(|k| k == "sample_rate"));
}

#[test]
fn resource_entries_are_keys_and_change_the_otlp_sink() {
    let d = diff(
        "backend = [\"local\", \"otlp\"]\nresource.\"deployment.environment\" = \"dev\"",
        "backend = [\"local\", \"otlp\"]\nresource.\"deployment.environment\" = \"prod\"\nresource.team = \"a\"",
    );
    assert_eq!(d.changed(), ["resource.deployment.environment", "resource.team"]);
    assert!(d.touches_any(OTLP_SINK) && !d.touches_any(LOCAL_SINK));
}

#[test]
fn the_service_name_changes_both_sinks() {
    let d = diff(
        "backend = [\"local\", \"otlp\"]",
        "backend = [\"local\", \"otlp\"]\nservice_name = \"agent\"",
    );
    assert_eq!(d.changed(), ["service_name"]);
    assert!(d.touches_any(LOCAL_SINK) && d.touches_any(OTLP_SINK));
}

#[test]
fn rotated_headers_are_a_pseudo_key_and_change_the_otlp_sink() {
    let body = "backend = [\"local\", \"otlp\"]\nsample_rate = 0.5\notlp.headers_vault_key = \"K\"";
    let d = diff(body, body).with_headers_changed(true);
    assert_eq!(d.changed(), ["otlp.headers"]);
    assert!(d.touches_any(OTLP_SINK) && !d.touches_any(LOCAL_SINK));
    assert!(!d.is_empty());
    assert!(diff(body, body).with_headers_changed(false).is_empty());
    // Inserted in order, once.
    let d = diff(
        "sample_rate = 1.0",
        "sample_rate = 0.5\notlp.endpoint = \"http://a:4317\"",
    )
    .with_headers_changed(true)
    .with_headers_changed(true);
    assert_eq!(
        d.changed(),
        ["otlp.endpoint", "otlp.headers", "sampling.probability"]
    );
}

#[test]
fn restart_only_keys_are_split_off() {
    let mut d = diff("watch = true", "watch = false\nfilter = \"debug\"");
    assert_eq!(d.split_restart_required(), ["watch"]);
    assert_eq!(d.changed(), ["filter"]);
    let before = section("watch = true");
    assert_eq!(
        before.restart_required_changes(&section("watch = false")),
        ["watch"]
    );
    assert!(before.restart_required_changes(&before).is_empty());
}

#[test]
fn a_config_that_cannot_be_walked_is_compared_whole() {
    use std::os::unix::ffi::OsStrExt;
    let running = section("");
    let mut next = running.clone();
    next.local.trace_dir = std::ffi::OsStr::from_bytes(b"/tmp/\xff").into();
    let d = ConfigDiff::between(Some(&running), &next);
    assert_eq!(d.changed(), ["*"]);
    assert!(d.touches("local") && d.touches("watch"));
    assert!(ConfigDiff::between(Some(&next), &next).is_empty());
    let mut d = ConfigDiff::between(Some(&running), &next);
    assert!(d.split_restart_required().is_empty());
    assert_eq!(d.changed(), ["*"]);
    let mut other = next.clone();
    other.local.trace_dir = std::ffi::OsStr::from_bytes(b"/tmp/\xfe").into();
    assert_eq!(ConfigDiff::between(Some(&next), &other).changed(), ["*"]);
}
